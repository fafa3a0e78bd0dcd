"""A run's folder on disk: :class:`RunFolder` knows every file name in it and reads and writes them.

Layout of a run folder::

    <run_dir>/
      config.yaml          the run's RunConfig, paths relative to the run folder (re-run it with
                           ``zoobot finetune --config``)
      RERUN.txt            the command that re-runs the run, on this machine or another
      catalog.parquet      the app's own copy of the catalog the run trains on
      progress.json        status, stage, epoch, steps, time left, device; rewritten while training
      metrics.csv          one row per finished epoch (losses and the task's metrics)
      checkpoints/         the best checkpoint by validation loss (``epoch=N.ckpt``, by ``get_trainer``)
      csv_logs/            Lightning's own log
      test_metrics.json    the task's metrics on the test split
      predictions.csv      every catalog row with its split, true labels and predictions
      calibration.json     how far to trust the uncertainties: coverage / ECE on the held-out galaxies,
                           the correction fitted on the validation split, before and after it
      model/               the finetuned model: model.safetensors and config.yaml
      predictions.parquet  predictions.csv as Parquet, written when first asked for (a download)
      finetuned_model.zip  model/ as one zip, written when first asked for (a download)

Writes are atomic (a temporary file, flushed to disk, then a rename: :func:`write_atomic`,
:func:`atomic_path`), so a reader polling from another thread or process never sees half a file, and
a process killed mid-write leaves the previous version. Reads of files that may be missing, mid-run
or damaged are tolerant: they return ``{}`` or ``None`` instead of raising.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from zoobot.runs.atomic import _fsync, _overwrite_in_place, atomic_path, write_atomic
from zoobot.runs.config import ConfigError, RunConfig, rerun_command

FEATURES_STAGE = "computing features"
"""The stage of a head-only run's one pass of the frozen encoder over its train and validation galaxies;
``step`` and ``total_steps`` then count galaxies, not training steps."""


class RunFolder:
    """The files of one run, by name.

    Args:
        path: the run folder (it need not exist yet).

    Example::

        folder = RunFolder("runs/ring-finetune")
        folder.read_progress().get("status")     # 'running', 'finished', ... ({} before the run starts)
        folder.read_metrics()                    # per-epoch DataFrame, or None before the first epoch
        folder.predictions_path                  # Path to predictions.csv
    """

    CONFIG_FILE = "config.yaml"
    RERUN_FILE = "RERUN.txt"
    CATALOG_FILE = "catalog.parquet"
    PROGRESS_FILE = "progress.json"
    METRICS_FILE = "metrics.csv"
    PREDICTIONS_FILE = "predictions.csv"
    TEST_METRICS_FILE = "test_metrics.json"
    CALIBRATION_FILE = "calibration.json"
    CHECKPOINTS_DIR = "checkpoints"
    MODEL_DIR = "model"
    MODEL_WEIGHTS_FILE = "model.safetensors"
    """In ``model/``, beside a copy of ``config.yaml``."""
    PREDICTIONS_PARQUET_FILE = "predictions.parquet"
    MODEL_ARCHIVE_FILE = "finetuned_model.zip"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"RunFolder({str(self.path)!r})"

    @property
    def name(self) -> str:
        """The folder's name (what the app lists the run as)."""
        return self.path.name

    # --- paths ---------------------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        """``config.yaml``: the run's settings."""
        return self.path / self.CONFIG_FILE

    @property
    def catalog_path(self) -> Path:
        """``catalog.parquet``: the copy of the catalog an app run keeps (a run from a YAML file points
        at its own catalog instead)."""
        return self.path / self.CATALOG_FILE

    @property
    def progress_path(self) -> Path:
        """``progress.json``: what the run is doing now."""
        return self.path / self.PROGRESS_FILE

    @property
    def metrics_path(self) -> Path:
        """``metrics.csv``: one row per finished epoch."""
        return self.path / self.METRICS_FILE

    @property
    def predictions_path(self) -> Path:
        """``predictions.csv``: every catalog row with its split, labels and predictions."""
        return self.path / self.PREDICTIONS_FILE

    @property
    def test_metrics_path(self) -> Path:
        """``test_metrics.json``: the task's metrics on the test split."""
        return self.path / self.TEST_METRICS_FILE

    @property
    def calibration_path(self) -> Path:
        """``calibration.json``: the calibration report and the fitted correction (:mod:`zoobot.uncertainty`)."""
        return self.path / self.CALIBRATION_FILE

    @property
    def checkpoints_dir(self) -> Path:
        """``checkpoints/``, where :func:`zoobot.finetune.get_trainer` keeps the best checkpoint."""
        return self.path / self.CHECKPOINTS_DIR

    @property
    def model_dir(self) -> Path:
        """``model/``: the exported finetuned model."""
        return self.path / self.MODEL_DIR

    @property
    def model_weights_path(self) -> Path:
        """``model/model.safetensors``: the finetuned weights."""
        return self.model_dir / self.MODEL_WEIGHTS_FILE

    @property
    def model_config_path(self) -> Path:
        """``model/config.yaml``: the config the exported model is rebuilt from."""
        return self.model_dir / self.CONFIG_FILE

    @property
    def predictions_parquet_path(self) -> Path:
        """``predictions.parquet``: the predictions as Parquet, once :meth:`write_predictions_parquet` made it."""
        return self.path / self.PREDICTIONS_PARQUET_FILE

    @property
    def model_archive_path(self) -> Path:
        """``finetuned_model.zip``: ``model/`` as one file, once :meth:`write_model_archive` made it."""
        return self.path / self.MODEL_ARCHIVE_FILE

    def has_config(self) -> bool:
        """Whether the folder holds a run (a run folder is one with a ``config.yaml``)."""
        return self.config_path.is_file()

    def has_model(self) -> bool:
        """Whether the run has exported its finetuned model."""
        return self.model_weights_path.is_file()

    def best_checkpoint(self) -> Path | None:
        """The best checkpoint (the newest ``.ckpt`` in ``checkpoints/``), or ``None`` if there is none."""
        if not self.checkpoints_dir.is_dir():
            return None
        found = sorted(self.checkpoints_dir.glob("*.ckpt"), key=lambda p: p.stat().st_mtime)
        return found[-1] if found else None

    # --- config --------------------------------------------------------------------------------

    def read_config(self) -> RunConfig:
        """The run's :class:`RunConfig`.

        Raises:
            ConfigError: the folder has no ``config.yaml``, or it does not read as a run config (the
                message names the file and what is wrong).
        """
        if not self.config_path.is_file():
            raise ConfigError(
                f"{self.path} has no {self.CONFIG_FILE}: it is not a run folder, or the run has not started."
            )
        try:
            return RunConfig.from_yaml(self.config_path)
        except ConfigError as err:
            raise ConfigError(f"{self.config_path}: {err}") from err

    def read_config_values(self) -> dict[str, Any]:
        """``config.yaml`` as a plain dict, unchecked (for listing a run whatever its settings); ``{}`` if
        there is none or it is not a YAML mapping."""
        try:
            values = yaml.safe_load(self.read_config_text() or "")
        except yaml.YAMLError:
            return {}
        return values if isinstance(values, dict) else {}

    def read_config_text(self) -> str | None:
        """``config.yaml`` as text (``None`` if there is none)."""
        try:
            return self.config_path.read_text()
        except FileNotFoundError:
            return None

    def write_config(self, config: RunConfig) -> Path:
        """Write ``config.yaml`` (atomically), its paths relative to the run folder, and ``RERUN.txt``, the
        command that re-runs it; returns the config's path."""
        path = write_atomic(self.config_path, config.to_yaml(relative_to=self.path))
        write_atomic(self.path / self.RERUN_FILE, rerun_instructions(self.path))
        return path

    # --- progress ------------------------------------------------------------------------------

    def read_progress(self) -> dict[str, Any]:
        """``progress.json`` as a dict; ``{}`` before the run writes it, or if it is damaged.

        Writes are atomic, so a damaged file is not one caught mid-write: it was cut short or edited
        by hand, and reading on is better than failing a poller.
        """
        return _read_json_dict(self.progress_path) or {}

    def write_progress(self, **values: Any) -> dict[str, Any]:
        """Merge ``values`` into ``progress.json`` (atomically) and stamp it ``updated``; returns it all."""
        progress = self.read_progress()
        progress.update(values)
        progress["updated"] = time.time()
        text = json.dumps(progress, default=_json_default)
        try:
            write_atomic(self.progress_path, text)
        except OSError as err:
            # On a full disk the temporary file cannot be written, but the old progress.json's blocks can
            # be overwritten in place: a run that failed for lack of space must not stay "running".
            if err.errno != errno.ENOSPC or not _overwrite_in_place(self.progress_path, text):
                raise
        return progress

    # --- per-epoch metrics -------------------------------------------------------------------

    def read_metrics(self) -> pd.DataFrame | None:
        """``metrics.csv`` (one row per finished epoch), or ``None`` before the first epoch has ended."""
        frame = _read_csv(self.metrics_path)
        return frame if frame is not None and len(frame) else None

    def write_metrics(self, rows: Iterable[dict[str, float]] | pd.DataFrame) -> Path:
        """Write every epoch's row to ``metrics.csv`` (atomically); returns its path."""
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(list(rows))
        return write_atomic(self.metrics_path, frame.to_csv(index=False))

    def metrics_signature(self) -> list[int] | None:
        """``[modification time in ns, size]`` of ``metrics.csv`` (``None`` before it exists).

        Cheap to take on every status poll; it changes whenever an epoch's row is added.
        """
        try:
            stat = self.metrics_path.stat()
        except FileNotFoundError:
            return None
        return [stat.st_mtime_ns, stat.st_size]

    # --- predictions and test metrics -----------------------------------------------------------

    def read_predictions(self) -> pd.DataFrame | None:
        """``predictions.csv``, or ``None`` if the run made none."""
        return _read_csv(self.predictions_path)

    def write_catalog(self, catalog: pd.DataFrame) -> Path:
        """Write the run's own copy of its catalog, ``catalog.parquet`` (atomically), with absolute
        ``file_loc`` made relative to the run folder, so the run folder and the images can move together
        to another machine (:func:`zoobot.catalog.read_catalog` resolves them again); returns its path."""
        if "file_loc" in catalog.columns:
            base = self.path.resolve()

            def relative(loc: Any) -> Any:
                if not isinstance(loc, str) or not Path(loc).is_absolute():
                    return loc
                return Path(os.path.relpath(loc, base)).as_posix()

            catalog = catalog.assign(file_loc=catalog["file_loc"].map(relative))
        with atomic_path(self.catalog_path) as tmp:
            catalog.to_parquet(tmp, index=False)
        return self.catalog_path

    def write_predictions(self, predictions: pd.DataFrame) -> Path:
        """Write ``predictions.csv`` (atomically); returns its path."""
        return write_atomic(self.predictions_path, predictions.to_csv(index=False))

    def write_predictions_parquet(self, predictions: pd.DataFrame | None = None) -> Path | None:
        """``predictions.parquet``, written from ``predictions`` (default: ``predictions.csv``) unless it
        exists already; ``None`` if the run made no predictions."""
        if self.predictions_parquet_path.is_file():
            return self.predictions_parquet_path
        predictions = predictions if predictions is not None else self.read_predictions()
        if predictions is None:
            return None
        with atomic_path(self.predictions_parquet_path) as tmp:
            predictions.to_parquet(tmp, index=False)
        return self.predictions_parquet_path

    def write_model_archive(self) -> Path | None:
        """``finetuned_model.zip`` of ``model/``, zipped unless it exists already; ``None`` if the run
        has no exported model."""
        if self.model_archive_path.is_file():
            return self.model_archive_path
        if not self.has_model():
            return None
        base = self.path / f".{self.model_archive_path.stem}.{os.getpid()}-{threading.get_ident()}"
        made = Path(shutil.make_archive(str(base), "zip", self.model_dir))
        try:
            _fsync(made)
            made.replace(self.model_archive_path)
        finally:
            made.unlink(missing_ok=True)
        return self.model_archive_path

    def read_test_metrics(self) -> dict[str, Any] | None:
        """``test_metrics.json``, or ``None`` if the run has not been tested (or the file is damaged)."""
        return _read_json_dict(self.test_metrics_path)

    def write_test_metrics(self, metrics: dict[str, Any]) -> Path:
        """Write ``test_metrics.json`` (atomically; numpy numbers become plain numbers); returns its path."""
        return write_atomic(self.test_metrics_path, json.dumps(metrics, indent=2, default=_json_default))

    def calibration_path_for(self, n_samples: int = 1) -> Path:
        """The calibration report of predictions from ``n_samples`` passes: ``calibration.json`` for one (the
        report every run writes), ``calibration_<n>passes.json`` for Monte Carlo dropout's ``n``."""
        return self.calibration_path if n_samples == 1 else self.path / f"calibration_{n_samples}passes.json"

    def read_calibration(self, n_samples: int = 1) -> dict[str, Any] | None:
        """The calibration report fitted to predictions of ``n_samples`` passes (its correction is for them),
        or ``None`` if the run has none (or the file is damaged)."""
        return _read_json_dict(self.calibration_path_for(n_samples))

    def write_calibration(self, report: dict[str, Any]) -> Path:
        """Write the report (atomically) where :meth:`read_calibration` of its ``n_samples`` finds it; returns
        its path. A Monte Carlo report so leaves the one-pass report, which single predictions use, as it was."""
        path = self.calibration_path_for(int(report.get("n_samples", 1)))
        return write_atomic(path, json.dumps(report, indent=2, default=_json_default))


def _read_json_dict(path: Path) -> dict[str, Any] | None:
    """A JSON file holding a dict, or ``None`` if it is missing, damaged or holds something else."""
    try:
        values = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return values if isinstance(values, dict) else None


def _read_csv(path: Path) -> pd.DataFrame | None:
    """A CSV file, or ``None`` if it is missing or does not read as a table (cut short, not text)."""
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError):
        return None


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON")


def rerun_instructions(run_dir: Path) -> str:
    """``RERUN.txt``: how to re-run a run from its folder, here or on another machine."""
    name = run_dir.name
    return (
        f"Re-run this run with the zoobot command (pip install the zoobot-app package first).\n"
        f"From the folder that holds {name}/ (copy it there with its catalog and images, keeping their\n"
        f"places relative to each other; config.yaml's paths are relative to {name}/):\n\n"
        f"    {rerun_command(Path(name) / RunFolder.CONFIG_FILE)}\n\n"
        "On a GPU cluster add e.g. --accelerator gpu --devices 4 --num-nodes 2.\n"
    )

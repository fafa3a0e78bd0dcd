"""One run, one YAML file: the configuration shared by the app, the CLI and Python.

The app writes a :class:`RunConfig` into each run's folder; ``zoobot finetune --config RUN.yaml``
reads the same file and runs exactly the same job, on a laptop or a GPU cluster. Example::

    task: classification
    catalog: /data/my_catalog.csv
    label_cols: [ring]
    run_dir: runs/ring-finetune
    encoder: demo
    training_mode: head_only
    max_epochs: 10

A run folder holds ``config.yaml``, ``progress.json`` (rewritten while training), ``metrics.csv``
(one row per epoch), ``checkpoints/best.ckpt``, ``test_metrics.json``, ``predictions.csv`` and
``model/`` (the finetuned weights as safetensors, loadable with :func:`load_run_model`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Optional

import numpy as np
import pandas as pd
import yaml

if TYPE_CHECKING:  # heavy imports only when a run starts
    import lightning as L

logger = logging.getLogger(__name__)

Task = Literal["classification", "regression", "tree"]
TASKS: tuple[str, ...] = ("classification", "regression", "tree")
TRAINING_MODES: tuple[str, ...] = ("head_only", "full")
MAX_CLASSES_FOR_PROPOSAL = 20


class ConfigError(ValueError):
    """A run configuration that cannot be run; the message says what to change."""


@dataclass
class RunConfig:
    """Everything needed to re-run one finetuning job.

    Args:
        task: ``'classification'``, ``'regression'`` or ``'tree'`` (Galaxy Zoo vote counts).
        catalog: path to the catalog (CSV or Parquet) with ``id_str``, ``file_loc`` and labels.
            Relative ``file_loc`` are resolved against the catalog's folder.
        label_cols: the target column(s); for trees, every answer column of the schema.
        run_dir: folder where the run writes its outputs.
        schema: tree tasks only: a named Galaxy Zoo tree (see ``zoobot.trees.list_schemas()``)
            or a schema dict (``Schema.to_dict()``).
        encoder: encoder source: a registry name (``'demo'``), ``hf_hub:owner/name``, a local
            encoder folder or checkpoint, or a timm architecture (random init).
        training_mode: ``'head_only'`` (fast: frozen encoder, features computed once) or
            ``'full'`` (finetune every layer, with layer-wise learning-rate decay).
        max_epochs: most epochs to train; training stops earlier when validation loss stalls.
        learning_rate: peak learning rate (of the head; encoder layers get less with layer decay).
        batch_size: galaxies per step.
        image_size: side in pixels the images are resized to; ``None`` uses the encoder's.
        weight_decay: AdamW weight decay.
        layer_decay: learning-rate factor per encoder block, counted down from the head.
        patience: epochs without validation improvement before early stopping.
        train_fraction: share of labelled rows used to train.
        val_fraction: share used to pick the best epoch.
        test_fraction: share held out for the test metrics.
        seed: seed for the split and the training.
        num_workers: data-loading processes (0 loads in the training process).
        regression_loss: ``'mse'`` or ``'mae'`` (regression only).
        unit_interval: regression only: squash predictions into (0, 1) with a sigmoid, for fractions
            such as bulge-to-total; ``None`` (default) turns it on when every target lies in [0, 1].
        class_names: classification only: a name per class index (filled in from the data).
    """

    task: Task
    catalog: str
    label_cols: list[str]
    run_dir: str
    schema: Optional[str | dict] = None
    encoder: str = "demo"
    training_mode: Literal["head_only", "full"] = "head_only"
    max_epochs: int = 10
    learning_rate: float = 1e-3
    batch_size: int = 32
    image_size: Optional[int] = None
    weight_decay: float = 0.05
    layer_decay: float = 0.75
    patience: int = 5
    train_fraction: float = 0.7
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    seed: int = 42
    num_workers: int = 0
    regression_loss: Literal["mse", "mae"] = "mse"
    unit_interval: Optional[bool] = None
    class_names: list[str] = field(default_factory=list)

    def validate(self) -> None:
        """Check the values make sense together; raise :class:`ConfigError` if not."""
        if self.task not in TASKS:
            raise ConfigError(f"task must be one of {', '.join(TASKS)}, not {self.task!r}.")
        if self.training_mode not in TRAINING_MODES:
            raise ConfigError(
                f"training_mode must be 'head_only' or 'full', not {self.training_mode!r}."
            )
        if not self.label_cols:
            raise ConfigError("No target column chosen: set label_cols to the column(s) to learn.")
        if self.task == "tree" and self.schema is None:
            raise ConfigError(
                "A tree task needs a schema: a named Galaxy Zoo tree (e.g. 'decals_dr5') or a "
                "schema dict."
            )
        if self.max_epochs < 1:
            raise ConfigError(f"max_epochs must be at least 1, not {self.max_epochs}.")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, not {self.batch_size}.")
        if not 0 < self.learning_rate < 1:
            raise ConfigError(
                f"learning_rate {self.learning_rate} is outside (0, 1); try 1e-3 for head-only "
                "or 1e-4 for full finetuning."
            )
        if self.unit_interval not in (None, True, False):
            raise ConfigError(f"unit_interval must be true, false or left out (automatic), not {self.unit_interval!r}.")
        if self.image_size is not None and self.image_size < 16:
            raise ConfigError(f"image_size {self.image_size} is too small; use at least 16 px.")
        fractions = (self.train_fraction, self.val_fraction, self.test_fraction)
        if min(fractions) < 0 or self.train_fraction == 0 or self.val_fraction == 0:
            raise ConfigError(
                "The train and validation fractions must be above 0 and no fraction negative."
            )
        if abs(sum(fractions) - 1.0) > 1e-6:
            raise ConfigError(
                f"train/val/test fractions add up to {sum(fractions):.3f}; they must add up to 1."
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the settings (what is written to YAML)."""
        return dataclasses.asdict(self)

    def to_yaml(self, path: str | Path | None = None) -> str:
        """The config as YAML text; also written to ``path`` when given."""
        text = yaml.safe_dump(self.to_dict(), sort_keys=False)
        if path is not None:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
        return text

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "RunConfig":
        """Build from a dict, naming any unknown or missing setting in the error."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"Unknown setting(s) in the run config: {', '.join(unknown)}. "
                f"Known settings: {', '.join(sorted(known))}."
            )
        required = [f.name for f in dataclasses.fields(cls)
                    if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
        missing = [name for name in required if name not in values]
        if missing:
            raise ConfigError(f"The run config is missing: {', '.join(missing)}.")
        values = dict(values)
        if isinstance(values["label_cols"], str):
            values["label_cols"] = [values["label_cols"]]
        config = cls(**values)
        config.validate()
        return config

    @classmethod
    def from_yaml(cls, path_or_text: str | Path) -> "RunConfig":
        """Read a config from a YAML file path, or from YAML text."""
        text = str(path_or_text)
        candidate = Path(text)
        if "\n" not in text and candidate.suffix in (".yaml", ".yml", ".json"):
            if not candidate.is_file():
                raise ConfigError(f"Run config file {text} does not exist.")
            text = candidate.read_text()
        try:
            values = yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise ConfigError(f"The run config is not valid YAML: {err}") from err
        if not isinstance(values, dict):
            raise ConfigError("The run config must be a YAML mapping of setting: value.")
        return cls.from_dict(values)


def rerun_command(config_path: str | Path) -> str:
    """The headless command that re-runs a saved run (add ``--devices``/``--num-nodes`` on a cluster).

    The re-run writes into a new folder beside the original run, so the original stays intact.
    """
    config_path = Path(config_path)
    run_dir = config_path.parent
    return f"zoobot finetune --config {config_path} --run-dir {run_dir.parent / (run_dir.name + '-rerun')}"


def column_suits(values: pd.Series, task: Task, clear_only: bool = False) -> bool:
    """Whether a column looks like a target for ``task`` (``'classification'`` or ``'regression'``).

    Class numbers are whole numbers with 2 to ``MAX_CLASSES_FOR_PROPOSAL`` values; they suit
    classification, as do (unless ``clear_only``) that many class names, which a one-click fix
    numbers. Regression takes any other numeric column with at least 2 values; with
    ``clear_only`` (no task chosen yet), only decimal columns with more values than that.
    """
    values = values.dropna()
    n_values = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values)
    few = 2 <= n_values <= MAX_CLASSES_FOR_PROPOSAL
    whole_classes = numeric and few and bool(np.all(np.mod(values, 1) == 0))
    if task == "classification":
        return whole_classes or (few and not numeric and not clear_only)
    if task == "regression":
        if clear_only:
            return pd.api.types.is_float_dtype(values) and n_values > MAX_CLASSES_FOR_PROPOSAL
        return numeric and n_values >= 2 and not whole_classes
    return False


def propose_task(catalog: pd.DataFrame, task: Optional[Task] = None) -> tuple[Task, list[str], Optional[str]]:
    """Suggest a task and target columns from a catalog's columns.

    Columns of a named Galaxy Zoo tree suggest a tree task with that schema; otherwise an
    integer-like column with few values suggests classification, and a float column regression.

    Args:
        catalog: the catalog.
        task: suggest columns for this task only (e.g. after the user picked it); default: any task.

    Returns:
        ``(task, label_cols, schema_name)``; ``schema_name`` is None unless the task is a tree.

    Raises:
        ConfigError: if no column looks like a target (for ``task``, when given).
    """
    from zoobot.trees import detect_schema, get_schema

    if task in (None, "tree"):
        schema_name = detect_schema(list(catalog.columns))
        if schema_name is not None:
            return "tree", list(get_schema(schema_name).label_cols), schema_name
    reserved = {"id_str", "file_loc"}
    candidates = [c for c in catalog.columns if c not in reserved and not str(c).startswith("true_")]
    # Class numbers before class names (a stable sort keeps the catalog's order otherwise).
    by_kind = sorted(candidates, key=lambda c: not pd.api.types.is_numeric_dtype(catalog[c].dropna()))
    for candidate_task in ("classification", "regression"):
        if task in (None, candidate_task):
            for column in by_kind:
                if column_suits(catalog[column], candidate_task, clear_only=task is None):
                    return candidate_task, [column], None
    wanted = {
        None: "add a column of class numbers (0, 1, ...) for classification, of measured values for "
              "regression, or Galaxy Zoo vote counts",
        "classification": "classification needs a column of class numbers (0, 1, 2, ...) with at least two "
                          "different classes among the labelled rows",
        "regression": "regression needs a column of measured values (decimal numbers)",
        "tree": "a vote-count tree needs the vote-count columns of a Galaxy Zoo tree (or choose your own "
                "tree on the Schema tab)",
    }[task]
    task_words = {None: "any task", "tree": "a vote-count tree"}.get(task, task)
    raise ConfigError(f"No column looks like a label for {task_words}: {wanted}.")


# ---------------------------------------------------------------------------------------------
# Running a config


@dataclass
class RunResult:
    """What a finished (or stopped) run produced."""

    run_dir: Path
    status: Literal["finished", "stopped"]
    test_metrics: dict[str, Any]
    predictions_path: Path
    best_checkpoint: Optional[Path]


def read_progress(run_dir: str | Path) -> dict[str, Any]:
    """The run's ``progress.json`` (``{}`` before the run has started writing it)."""
    path = Path(run_dir) / "progress.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError:  # caught mid-write by another thread; the next poll gets it
        return {}


def write_progress(run_dir: str | Path, **values: Any) -> dict[str, Any]:
    """Merge ``values`` into ``progress.json``, atomically (readers never see half a file)."""
    path = Path(run_dir) / "progress.json"
    progress = read_progress(run_dir)
    progress.update(values)
    progress["updated"] = time.time()
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(progress, default=_json_default))
    tmp.replace(path)
    return progress


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"Cannot write {type(value).__name__} to JSON")


def device_name(trainer: "L.Trainer") -> str:
    """A human name for the device a trainer runs on: the GPU's name, or 'CPU'."""
    import torch

    root = trainer.strategy.root_device
    if root.type == "cuda":
        return torch.cuda.get_device_name(root)
    if root.type == "mps":
        return "Apple GPU (MPS)"
    return "CPU"


def _progress_callback(run_dir: Path, stop_event: Optional[threading.Event]) -> "L.Callback":
    """A Lightning callback writing progress.json / metrics.csv, and stopping on ``stop_event``."""
    import lightning as L

    class RunProgress(L.Callback):
        """Writes the run's progress for pollers (the app) and honours a stop request."""

        def __init__(self) -> None:
            self.start = time.monotonic()
            self.first_step: Optional[tuple[float, int]] = None  # (time, step) when the first batch ended
            self.last_write = 0.0
            self.rows: list[dict[str, float]] = []
            self.epoch_ended: Optional[int] = None  # an epoch whose metrics.csv row is not written yet
            self.device = "CPU"

        def _total_steps(self, trainer: "L.Trainer") -> int:
            per_epoch = trainer.num_training_batches
            per_epoch = int(per_epoch) if np.isfinite(per_epoch) else 0
            return per_epoch * trainer.max_epochs

        def _write(self, trainer: "L.Trainer", stage: str) -> None:
            total = self._total_steps(trainer)
            done = trainer.global_step
            now = time.monotonic()
            elapsed = now - self.start
            # The rate is measured from the end of the first batch: start-up (loader workers, the
            # first batch, caching features) takes a while once and made early estimates far too long.
            eta = None
            if self.first_step is not None and total and done > self.first_step[1]:
                since, first = self.first_step
                eta = (now - since) / (done - first) * (total - done)
            write_progress(
                run_dir, status="running", stage=stage, epoch=trainer.current_epoch,
                max_epochs=trainer.max_epochs, step=done, total_steps=total,
                elapsed_s=elapsed, eta_s=eta, device=self.device,
            )

        def on_fit_start(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
            self.start = time.monotonic()
            self.device = device_name(trainer)  # fixed for the run: looked up once
            self._write(trainer, "training")

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            if stop_event is not None and stop_event.is_set():
                trainer.should_stop = True
            if self.first_step is None:
                self.first_step = (time.monotonic(), trainer.global_step)
            if time.monotonic() - self.last_write > 0.5:
                self.last_write = time.monotonic()
                self._write(trainer, "training")

        def on_train_epoch_end(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
            # Lightning calls this before the model's own on_train_epoch_end, where the epoch's
            # train metrics (accuracy, ...) are logged: the row is written once those are in,
            # when the next epoch starts or training ends.
            if not trainer.sanity_checking and trainer.is_global_zero:
                self.epoch_ended = trainer.current_epoch
            if stop_event is not None and stop_event.is_set():
                trainer.should_stop = True

        def _write_epoch_row(self, trainer: "L.Trainer") -> None:
            if self.epoch_ended is None:
                return
            row: dict[str, float] = {"epoch": self.epoch_ended}
            for name, value in trainer.callback_metrics.items():
                if name.endswith("_step") or value.numel() != 1:
                    continue
                row[name.removesuffix("_epoch")] = float(value)
            self.rows.append(row)
            self.epoch_ended = None
            pd.DataFrame(self.rows).to_csv(run_dir / "metrics.csv", index=False)
            self._write(trainer, "training")

        def on_train_epoch_start(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
            self._write_epoch_row(trainer)

        def on_train_end(self, trainer: "L.Trainer", pl_module: "L.LightningModule") -> None:
            self._write_epoch_row(trainer)

    return RunProgress()


def build_model(config: RunConfig, n_classes: int | None = None) -> "L.LightningModule":
    """The finetuning model a config describes (encoder loaded from ``config.encoder``)."""
    from zoobot import finetune

    common = dict(
        name=config.encoder,
        training_mode=config.training_mode,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        layer_decay=config.layer_decay,
    )
    if config.task == "classification":
        model = finetune.FinetuneableZoobotClassifier(
            num_classes=n_classes or max(2, len(config.class_names)),
            label_col=config.label_cols[0], **common,
        )
    elif config.task == "regression":
        model = finetune.FinetuneableZoobotRegressor(
            label_cols=config.label_cols, loss=config.regression_loss, unit_interval=bool(config.unit_interval),
            **common,
        )
    else:
        model = finetune.FinetuneableZoobotTree(schema=resolve_schema(config.schema), **common)
    if config.image_size is not None:
        # Everything downstream (datamodule, prediction, representations) sizes images from the
        # card, so a run at another image size says so there once.
        channels = model.card.input_size[0]
        model.card = dataclasses.replace(
            model.card, input_size=(channels, config.image_size, config.image_size))
    return model


def resolve_schema(schema: str | dict | None) -> Any:
    """A Schema from a registry name or a schema dict."""
    from zoobot.schemas import Schema
    from zoobot.trees import get_schema

    if schema is None:
        raise ConfigError("A tree task needs a schema.")
    if isinstance(schema, str):
        return get_schema(schema)
    return Schema.from_dict(schema)


def load_run_catalog(config: RunConfig) -> pd.DataFrame:
    """The config's catalog with ``file_loc`` resolved against the catalog's folder."""
    from zoobot.catalog import read_catalog, resolve_file_locs

    path = Path(config.catalog)
    if not path.is_file():
        raise ConfigError(f"Catalog {path} does not exist. Check the path in the run config.")
    return resolve_file_locs(read_catalog(path), base_dir=path.parent)


def run_finetune(
    config: RunConfig,
    *,
    accelerator: str = "auto",
    devices: int | str = "auto",
    num_nodes: int = 1,
    stop_event: Optional[threading.Event] = None,
) -> RunResult:
    """Run one finetuning job end to end: check data, train, test, predict every row, export.

    Blocking. Progress goes to ``progress.json`` in the run folder as it trains, so another thread
    (the app) can poll it. Setting ``stop_event`` ends training early; the run then tests and
    predicts with the best weights so far and ends with status ``'stopped'``. On an error the
    status is ``'failed'`` with the message, and the error is raised again.

    Args:
        config: the run's settings.
        accelerator: Lightning accelerator (``'auto'``, ``'cpu'``, ``'gpu'``).
        devices: devices per node; more than one trains with DDP.
        num_nodes: machines to train on (a cluster job).
        stop_event: set it to stop training early.
    """
    config.validate()
    run_dir = Path(config.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_progress(run_dir, status="running", stage="checking the catalog", error=None,
                   epoch=0, max_epochs=config.max_epochs, step=0, total_steps=0, eta_s=None)
    try:
        result = _run_finetune(config, run_dir, accelerator, devices, num_nodes, stop_event)
    except BaseException as err:
        write_progress(run_dir, status="failed", stage="failed", error=str(err) or type(err).__name__)
        raise
    write_progress(run_dir, status=result.status, stage="done", eta_s=0)
    return result


def _class_names(catalog: pd.DataFrame, label_col: str, n_classes: int) -> list[str]:
    """A name per class index: from a ``<label_col>_name`` column (as the ``number_classes`` fix
    writes) when it names each class consistently, else the class numbers as text."""
    names = [str(k) for k in range(n_classes)]
    # The fix writes <label>_name, or <label>_name_2, _3, ... when that is taken: the newest first.
    pattern = re.compile(re.escape(label_col) + r"_name(?:_(\d+))?")
    matches = [(m.group(1), c) for c in map(str, catalog.columns) if (m := pattern.fullmatch(c))]
    for _, name_col in sorted(matches, key=lambda pair: int(pair[0] or 1), reverse=True):
        pairs = catalog[[label_col, name_col]].dropna().drop_duplicates()
        if pairs[label_col].is_unique and pairs[name_col].is_unique:
            for number, name in zip(pairs[label_col].astype(int), pairs[name_col].astype(str)):
                if 0 <= number < n_classes:
                    names[number] = name
            break
    return names


def _run_finetune(
    config: RunConfig,
    run_dir: Path,
    accelerator: str,
    devices: int | str,
    num_nodes: int,
    stop_event: Optional[threading.Event],
) -> RunResult:
    import lightning as L

    from zoobot.catalog import validate_catalog
    from zoobot.data import CatalogDataModule
    from zoobot.finetune import get_trainer
    from zoobot.predict import predict_on_catalog

    catalog = load_run_catalog(config)
    schema = resolve_schema(config.schema) if config.task == "tree" else None
    validate_catalog(catalog, label_cols=config.label_cols, task=config.task, schema=schema,
                     raise_on_error=True)
    n_classes = None
    if config.task == "classification":
        labels = catalog[config.label_cols[0]].dropna().astype(int)
        n_classes = max(int(labels.max()) + 1, len(config.class_names), 2)
        if len(config.class_names) != n_classes:
            config.class_names = _class_names(catalog, config.label_cols[0], n_classes)
    if config.task == "regression" and config.unit_interval is None:
        targets = catalog[config.label_cols].to_numpy(dtype=float)
        targets = targets[np.isfinite(targets)]
        config.unit_interval = bool(len(targets)) and bool(((targets >= 0) & (targets <= 1)).all())
    config.to_yaml(run_dir / "config.yaml")

    L.seed_everything(config.seed, workers=True, verbose=False)
    write_progress(run_dir, stage="loading the encoder")
    model = build_model(config, n_classes)
    datamodule = CatalogDataModule(
        label_cols=config.label_cols, catalog=catalog, train_fraction=config.train_fraction,
        val_fraction=config.val_fraction, test_fraction=config.test_fraction,
        batch_size=config.batch_size, num_workers=config.num_workers, card=model.card,
        seed=config.seed,
    )
    trainer = get_trainer(
        str(run_dir), max_epochs=config.max_epochs, patience=config.patience,
        accelerator=accelerator, devices=devices, num_nodes=num_nodes,
        callbacks=[_progress_callback(run_dir, stop_event)],
    )
    trainer.fit(model, datamodule)
    if not trainer.is_global_zero:
        return RunResult(run_dir, "finished", {}, run_dir / "predictions.csv", None)
    stopped = stop_event is not None and stop_event.is_set()
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    best_path = Path(best) if best else None

    write_progress(run_dir, stage="testing and predicting")
    has_test = config.test_fraction > 0
    lightning_test = trainer.test(model, datamodule, ckpt_path="best" if best else None,
                                  verbose=False) if has_test else []
    if best_path is not None and not has_test:
        _load_weights_from_checkpoint(model, best_path)

    # Classifiers name their outputs prob_<k> / pred_class; the true label keeps its own column.
    output_names = None if config.task == "classification" else config.label_cols
    predictions = predict_on_catalog(
        catalog, model, label_cols=output_names, batch_size=config.batch_size, num_workers=config.num_workers, accelerator=accelerator,
    )
    predictions = _annotate_predictions(predictions, catalog, datamodule, config)
    predictions_path = run_dir / "predictions.csv"
    predictions.to_csv(predictions_path, index=False)

    test_metrics = evaluate_run_predictions(predictions, config, schema)
    for logged in lightning_test:
        test_metrics.update({k: float(v) for k, v in logged.items()})
    (run_dir / "test_metrics.json").write_text(json.dumps(test_metrics, indent=2, default=_json_default))
    export_model(model, config, run_dir / "model")
    return RunResult(run_dir, "stopped" if stopped else "finished", test_metrics,
                     predictions_path, best_path)


def _load_weights_from_checkpoint(model: "L.LightningModule", checkpoint: Path) -> None:
    import torch

    state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
    model.load_state_dict(state)


def _annotate_predictions(
    predictions: pd.DataFrame, catalog: pd.DataFrame, datamodule: Any, config: RunConfig
) -> pd.DataFrame:
    """Add each row's split, its file and true labels to the model's predictions."""
    split = pd.Series("unlabelled", index=catalog["id_str"].astype(str))
    for name in ("train", "val", "test"):
        part = getattr(datamodule, f"{name}_catalog", None)
        if part is not None:
            split.loc[part["id_str"].astype(str)] = name
    truth = catalog[["id_str", "file_loc", *config.label_cols]].copy()
    truth["id_str"] = truth["id_str"].astype(str)
    truth.insert(1, "split", truth["id_str"].map(split))
    predictions = predictions.copy()
    predictions["id_str"] = predictions["id_str"].astype(str)
    overlap = [c for c in truth.columns if c in predictions.columns and c != "id_str"]
    return truth.merge(predictions.drop(columns=overlap), on="id_str", how="left")


def evaluate_run_predictions(
    predictions: pd.DataFrame, config: RunConfig, schema: Any = None
) -> dict[str, Any]:
    """Task metrics on the run's test split (or validation split if there is no test split)."""
    from zoobot import evaluate

    split = "test" if (predictions["split"] == "test").any() else "val"
    rows = predictions[predictions["split"] == split]
    metrics: dict[str, Any] = {"split": split}
    if rows.empty:
        return metrics
    if config.task == "classification":
        metrics.update(evaluate.classification_metrics(
            rows[config.label_cols[0]].astype(int), rows["pred_class"].astype(int), config.class_names))
    elif config.task == "regression":
        metrics.update(evaluate.regression_metrics(
            rows[config.label_cols].to_numpy(), rows[[f"pred_{c}" for c in config.label_cols]].to_numpy()))
    else:
        metrics.update(evaluate.tree_metrics(rows, schema or resolve_schema(config.schema)))
    return metrics


def export_model(model: "L.LightningModule", config: RunConfig, directory: Path) -> Path:
    """Write the finetuned weights (safetensors) and the run config beside them."""
    from safetensors.torch import save_file

    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(directory / "model.safetensors"))
    config.to_yaml(directory / "config.yaml")
    return directory


def load_run_model(path: str | Path) -> "L.LightningModule":
    """Load a finetuned model exported by a run, without pickle.

    Args:
        path: the run folder, its ``model/`` folder, or the app's ``finetuned_model.zip`` download
            (read in memory; nothing is extracted).
    """
    from safetensors.torch import load, load_file

    path = Path(path)
    if path.suffix == ".zip" and path.is_file():
        import zipfile

        with zipfile.ZipFile(path) as archive:
            members = {Path(name).name: name for name in archive.namelist()}
            if not {"model.safetensors", "config.yaml"} <= members.keys():
                raise ConfigError(f"{path} is not a finetuned model download: it needs "
                                  "model.safetensors and config.yaml.")
            config = RunConfig.from_yaml(archive.read(members["config.yaml"]).decode())
            state = load(archive.read(members["model.safetensors"]))
    else:
        directory = path / "model" if (path / "model").is_dir() else path
        if not (directory / "model.safetensors").is_file():
            raise ConfigError(
                f"No finetuned model found in {path}: give a run folder, its model/ folder, or the "
                "app's finetuned_model.zip."
            )
        config = RunConfig.from_yaml(directory / "config.yaml")
        state = load_file(str(directory / "model.safetensors"))
    model = build_model(config, len(config.class_names) or None)
    model.load_state_dict(state)
    model.eval()
    return model

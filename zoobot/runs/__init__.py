"""Runs: one finetuning job from a YAML config to a folder of results.

- :mod:`zoobot.runs.config`: :class:`RunConfig` (one YAML file per run), :class:`ConfigError`,
  :func:`rerun_command`.
- :mod:`zoobot.runs.folder`: :class:`RunFolder`, the one place that knows a run folder's file names
  and reads and writes them (config, progress, metrics, predictions, test metrics, the model); and
  :func:`write_atomic`, :func:`copy_atomic`, :func:`atomic_path`, how every file is written (a
  temporary file, then a rename), for the app's own files too.
- :mod:`zoobot.runs.pipeline`: :func:`run_finetune`, the one path shared by the app and the CLI.
- :mod:`zoobot.runs.progress`: :class:`RunProgress`, the Lightning callback writing progress.
- :mod:`zoobot.runs.model`: :func:`export_model` and :func:`load_run_model`.
- :mod:`zoobot.runs.split`: :func:`run_split`, the run's train/validation/test galaxies (training, calibration
  and the Laplace posterior read the same split), and :func:`split_targets`, their labels as arrays.
- :mod:`zoobot.runs.warm_start`: :func:`warm_start`, a run starting from a previous model's weights
  (``RunConfig.init_from``).

Importing this package is cheap: Lightning and torch load when a run starts or a model loads
(``RunProgress`` and ``device_name`` import Lightning when first looked up).
"""

from __future__ import annotations

from typing import Any

from zoobot.runs.atomic import atomic_path, copy_atomic, write_atomic
from zoobot.runs.config import TRAINING_MODES, ConfigError, RunConfig, rerun_command, resolve_schema
from zoobot.runs.folder import RunFolder
from zoobot.runs.model import export_model, load_finetuned_model, load_run_model
from zoobot.runs.pipeline import (
    RunResult,
    annotate_predictions,
    build_model,
    evaluate_run_predictions,
    load_run_catalog,
    run_finetune,
)
from zoobot.runs.split import run_split, split_targets
from zoobot.runs.warm_start import warm_start

__all__ = [
    "TRAINING_MODES",
    "ConfigError",
    "RunConfig",
    "RunFolder",
    "RunProgress",
    "RunResult",
    "annotate_predictions",
    "build_model",
    "device_name",
    "evaluate_run_predictions",
    "export_model",
    "load_run_catalog",
    "load_run_model",
    "load_finetuned_model",
    "rerun_command",
    "resolve_schema",
    "run_finetune",
    "run_split",
    "split_targets",
    "atomic_path",
    "copy_atomic",
    "write_atomic",
    "warm_start",
]

_NEED_LIGHTNING = ("RunProgress", "device_name")


def __getattr__(name: str) -> Any:
    """``RunProgress`` and ``device_name``, imported (with Lightning) on first use."""
    if name in _NEED_LIGHTNING:
        from zoobot.runs import progress

        return getattr(progress, name)
    raise AttributeError(f"module 'zoobot.runs' has no attribute {name!r}")

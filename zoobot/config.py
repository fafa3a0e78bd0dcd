"""The old import path of the run configuration and pipeline; they now live in :mod:`zoobot.runs`
(run config, run folder, pipeline, model export) and :mod:`zoobot.tasks` (proposing a task).

Kept so that ``from zoobot.config import RunConfig, run_finetune`` and the other names it offered
keep working. New code imports from ``zoobot.runs`` and ``zoobot.tasks``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoobot.runs import (
    TRAINING_MODES,
    ConfigError,
    RunConfig,
    RunFolder,
    RunResult,
    build_model,
    evaluate_run_predictions,
    export_model,
    load_run_catalog,
    load_run_model,
    rerun_command,
    resolve_schema,
    run_finetune,
)
from zoobot.tasks import MAX_CLASSES_FOR_PROPOSAL, TASKS, Task, column_suits, propose_task

__all__ = [
    "MAX_CLASSES_FOR_PROPOSAL",
    "TASKS",
    "TRAINING_MODES",
    "ConfigError",
    "RunConfig",
    "RunResult",
    "Task",
    "build_model",
    "column_suits",
    "evaluate_run_predictions",
    "export_model",
    "load_run_catalog",
    "load_run_model",
    "propose_task",
    "read_progress",
    "rerun_command",
    "resolve_schema",
    "run_finetune",
    "write_progress",
]


def read_progress(run_dir: str | Path) -> dict[str, Any]:
    """``RunFolder(run_dir).read_progress()``: the run's progress (``{}`` before the run writes it)."""
    return RunFolder(run_dir).read_progress()


def write_progress(run_dir: str | Path, **values: Any) -> dict[str, Any]:
    """``RunFolder(run_dir).write_progress(**values)``: merge ``values`` into the run's progress."""
    return RunFolder(run_dir).write_progress(**values)


def __getattr__(name: str) -> Any:
    """``device_name``, imported (with Lightning) on first use."""
    if name == "device_name":
        from zoobot.runs.progress import device_name

        return device_name
    raise AttributeError(f"module 'zoobot.config' has no attribute {name!r}")

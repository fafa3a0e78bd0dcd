"""Reading one run back for the tabs: its progress, metrics and config, whether it is readable at all, and a
one-line summary with a headline figure for the Runs table. Every reader tolerates a damaged or half-written
file (through ``zoobot.runs.RunFolder``): a damaged run is listed as ``unreadable`` with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from zoobot.runs import RunConfig, RunFolder


def read_progress(run_dir: str | Path) -> dict[str, Any] | None:
    """The run's ``progress.json``, or ``None`` before the run writes it (or if it is damaged)."""
    return RunFolder(run_dir).read_progress() or None


def read_metrics(run_dir: str | Path) -> pd.DataFrame | None:
    """The run's per-epoch ``metrics.csv``, or ``None`` before the first epoch has ended."""
    return RunFolder(run_dir).read_metrics()


def metrics_signature(run_dir: str | Path) -> list[int] | None:
    """``[modification time in ns, size]`` of the run's ``metrics.csv`` (``None`` before it exists).

    Cheap to take on every status poll; it changes whenever an epoch's row is appended.
    """
    return RunFolder(run_dir).metrics_signature()


def read_config_text(run_dir: str | Path) -> str | None:
    """The run's ``config.yaml`` as text."""
    return RunFolder(run_dir).read_config_text()


def read_config(run_dir: str | Path) -> RunConfig | None:
    """The run's :class:`~zoobot.runs.RunConfig`, or ``None`` if it has no ``config.yaml`` or the
    file no longer reads as one."""
    try:
        return RunFolder(run_dir).read_config()
    except (OSError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class RunSummary:
    """One row of the Runs table. ``status`` is ``'unreadable'`` for a run whose files are damaged, with
    the reason as its ``headline``; a failed run's ``headline`` says why, in plain words."""

    name: str
    path: str
    task: str
    encoder: str
    status: str
    started: str
    headline: str
    target: str = ""
    catalog: str = ""


def run_problem(run_dir: str | Path) -> str | None:
    """Why a run cannot be read, in words, or ``None`` if its files look whole (cheap: no table is read).

    A run is unreadable when its ``config.yaml`` or ``progress.json`` is damaged (cut short, not a
    mapping), or when it says it finished but its results are missing or damaged.
    """
    folder = RunFolder(run_dir)
    if not folder.has_config():
        return f"its {RunFolder.CONFIG_FILE} is missing"
    config = folder.read_config_values()
    if not config.get("task"):
        return f"its {RunFolder.CONFIG_FILE} is damaged (cut short or edited)"
    if folder.progress_path.is_file() and not folder.read_progress():
        return f"its {RunFolder.PROGRESS_FILE} is damaged (cut short or edited)"
    if folder.read_progress().get("status") in ("finished", "stopped"):
        if folder.read_test_metrics() is None:
            return f"its results ({RunFolder.TEST_METRICS_FILE}) are missing or damaged"
        try:
            if folder.predictions_path.stat().st_size == 0:
                return f"its predictions ({RunFolder.PREDICTIONS_FILE}) are empty"
        except OSError:
            return f"its predictions ({RunFolder.PREDICTIONS_FILE}) are missing"
    return None


def summarise_run(run_dir: str | Path, live: bool = False) -> RunSummary:
    """What the Runs table shows for one run; never raises (a damaged run is listed as unreadable).

    Args:
        run_dir: The run folder.
        live: Whether a job in this app process is still working on it. A run whose progress says
            ``running`` but which no job is working on was interrupted (e.g. the app restarted).
    """
    from app.errors import plain_text

    folder = RunFolder(run_dir)
    try:
        started = time.strftime("%Y-%m-%d %H:%M", time.localtime(folder.config_path.stat().st_mtime))
    except OSError:
        started = "?"
    try:
        config = folder.read_config_values()
        progress = folder.read_progress()
        problem = None if live else run_problem(run_dir)
    except OSError as err:  # unreadable folder or files (permissions, a disk error)
        config, progress, problem = {}, {}, f"its files cannot be read ({type(err).__name__})"
    status = progress.get("status", "unknown")
    headline = ""
    if status == "failed":  # what went wrong first says more than what it left damaged
        headline = plain_text(str(progress.get("error") or problem or "no reason was recorded"))
    elif problem is not None:
        status, headline = "unreadable", problem
    elif status == "running" and not live:
        status = "interrupted"
    else:
        headline = headline_figure(folder.read_test_metrics() or {})
    from app.run_notes import read_note

    note = read_note(run_dir)
    listed = config.get("label_cols")
    label_cols: list[Any] = listed if isinstance(listed, list) else []
    schema = config.get("schema")
    target = f"tree {schema}" if isinstance(schema, str) else ", ".join(str(c) for c in label_cols[:3])
    if not isinstance(schema, str) and len(label_cols) > 3:
        target += f" (+{len(label_cols) - 3})"
    return RunSummary(
        name=note.get("title") or folder.name,
        path=str(folder.path),
        task=str(config.get("task", "?")),
        encoder=str(config.get("encoder", "?")),
        status=status,
        started=started,
        headline=headline,
        target=target,
        catalog=note.get("catalog_name") or Path(str(config.get("catalog", "?"))).name,
    )


HEADLINES = (
    ("accuracy", "accuracy {:.1%}"),
    ("rmse", "RMSE {:.3g}"),
    ("mean_vote_fraction_mae", "vote-fraction error {:.3f}"),
    ("mean_mae", "mean error {:.3f}"),
    ("mae", "MAE {:.3g}"),
)
"""The test metric a run is summed up by, per task, and how it is written."""


def headline_figure(metrics: dict[str, Any]) -> str:
    """A run's headline in a few words: ``'accuracy 85.0% (baseline 69.0%)'``, ``'RMSE 0.12 · R² 0.81'``,
    ``'vote-fraction error 0.083'``; empty when the run has no test metrics."""
    for key, text in HEADLINES:
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            line = text.format(value)
            if key == "accuracy" and isinstance(metrics.get("majority_accuracy"), (int, float)):
                line += f" (baseline {metrics['majority_accuracy']:.1%})"
            if key == "rmse" and isinstance(metrics.get("r2"), (int, float)):
                line += f" · R² {metrics['r2']:.2f}"
            return line
    return ""

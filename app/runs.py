"""Run storage: where sessions, uploads and runs live on disk, and how the app reads a run back.

Layout under the runs folder::

    <runs_dir>/
      cache/demo_survey_<n>_<size>/     the built-in demo survey, generated once
      sessions/<session_id>/
        session.json                    what the session chose so far (catalog, task, run)
        uploads/                        files this browser session uploaded
        catalog.parquet                 the working catalog (absolute file_loc, fixes applied)
        runs/<run_name>/                one folder per run (``zoobot.runs.RunFolder``), written by
                                        ``zoobot.runs.run_finetune``
        explore/<map_name>/             UMAP maps

Everything a run writes is plain files, so the Runs tab works after an app restart and a run can
be reopened, copied to a cluster, or re-run headless from its ``config.yaml``.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from zoobot.runs import RunConfig, RunFolder

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class SessionError(ValueError):
    """The browser sent a session id the app cannot use."""


def new_session_id() -> str:
    """A fresh random session id (32 hex characters)."""
    return secrets.token_hex(16)


@dataclass
class SessionState:
    """What a browser session has chosen so far; saved to ``session.json`` after each step.

    Attributes:
        catalog_path: The working catalog (Parquet, absolute ``file_loc``), or ``None``.
        catalog_name: What to call the catalog on the page (file name or "demo survey").
        task: ``'classification'``, ``'regression'`` or ``'tree'``, once chosen.
        label_cols: The target column(s).
        schema_name: Name of a built-in Galaxy Zoo tree, for tree tasks.
        schema_yaml: A custom schema written in the editor (used when ``schema_name`` is ``None``).
        run_dir: The session's current run (being trained or last opened).
        map_dir: The session's last UMAP map.
    """

    catalog_path: str | None = None
    catalog_name: str | None = None
    task: str | None = None
    label_cols: list[str] = field(default_factory=list)
    schema_name: str | None = None
    schema_yaml: str | None = None
    run_dir: str | None = None
    map_dir: str | None = None


class RunStore:
    """Paths and session state under one runs folder.

    Args:
        runs_dir: The folder holding sessions, runs and caches; created if missing.
    """

    def __init__(self, runs_dir: str | Path) -> None:
        self.root = Path(runs_dir).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def session_dir(self, session_id: str) -> Path:
        """The folder of one browser session (created if missing).

        Raises:
            SessionError: If ``session_id`` is not a session id this app hands out.
        """
        if session_id is None:
            raise SessionError("The page is still starting; try again in a moment.")
        if not isinstance(session_id, str) or not _SESSION_ID.match(session_id):
            raise SessionError("This page has no valid session; reload the page to start a new one.")
        path = self.root / "sessions" / session_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def uploads_dir(self, session_id: str) -> Path:
        """Where a session's uploads are kept."""
        path = self.session_dir(session_id) / "uploads"
        path.mkdir(exist_ok=True)
        return path

    def catalog_path(self, session_id: str) -> Path:
        """Where the session's working catalog is kept (Parquet, absolute ``file_loc``, fixes applied)."""
        return self.session_dir(session_id) / "catalog.parquet"

    def cache_dir(self, name: str) -> Path:
        """A shared cache folder (e.g. the demo survey)."""
        return self.root / "cache" / name

    def load_state(self, session_id: str) -> SessionState:
        """The saved state of a session (empty if none saved yet)."""
        path = self.session_dir(session_id) / "session.json"
        if not path.is_file():
            return SessionState()
        data = json.loads(path.read_text())
        known = {k: v for k, v in data.items() if k in SessionState.__dataclass_fields__}
        return SessionState(**known)

    def save_state(self, session_id: str, state: SessionState) -> None:
        """Save a session's state (atomically, so a reload never sees half a file)."""
        path = self.session_dir(session_id) / "session.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(asdict(state), indent=1))
        tmp.replace(path)

    def update_state(self, session_id: str, **changes: Any) -> SessionState:
        """Load, change and save a session's state; returns the new state."""
        state = self.load_state(session_id)
        for key, value in changes.items():
            if key not in SessionState.__dataclass_fields__:
                raise KeyError(key)
            setattr(state, key, value)
        self.save_state(session_id, state)
        return state

    def new_run_dir(self, session_id: str, task: str) -> Path:
        """A fresh, empty run folder named by time and task, e.g. ``20250101-120000-tree-1a2b``."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{task}-{secrets.token_hex(2)}"
        path = self.session_dir(session_id) / "runs" / name
        path.mkdir(parents=True)
        return path

    def new_map_dir(self, session_id: str) -> Path:
        """A fresh folder for one UMAP map."""
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
        path = self.session_dir(session_id) / "explore" / name
        path.mkdir(parents=True)
        return path

    def run_dirs(self, session_id: str | None) -> list[Path]:
        """Run folders, newest first: the session's own, or (``None``) every session's and any
        run written straight into the runs folder (e.g. by the ``zoobot`` command)."""
        if session_id is not None:
            candidates = list((self.session_dir(session_id) / "runs").glob(f"*/{RunFolder.CONFIG_FILE}"))
        else:
            candidates = (list(self.root.glob(f"sessions/*/runs/*/{RunFolder.CONFIG_FILE}"))
                          + list(self.root.glob(f"*/{RunFolder.CONFIG_FILE}")))
        dirs = {p.parent for p in candidates}
        return sorted(dirs, key=lambda p: p.stat().st_mtime, reverse=True)

    def owns(self, session_id: str | None, run_dir: str | Path) -> bool:
        """Whether ``run_dir`` is one of the runs this session may open (``None``: any run here)."""
        return Path(run_dir).resolve() in set(self.run_dirs(session_id))


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
    except (OSError, ValueError):
        return None


@dataclass(frozen=True)
class RunSummary:
    """One row of the Runs table."""

    name: str
    path: str
    task: str
    encoder: str
    status: str
    started: str
    headline: str


def summarise_run(run_dir: str | Path, live: bool = False) -> RunSummary:
    """What the Runs table shows for one run.

    Args:
        run_dir: The run folder.
        live: Whether a job in this app process is still working on it. A run whose progress says
            ``running`` but which no job is working on was interrupted (e.g. the app restarted).
    """
    folder = RunFolder(run_dir)
    config = folder.read_config_values()
    status = folder.read_progress().get("status", "unknown")
    if status == "running" and not live:
        status = "interrupted"
    metrics = folder.read_test_metrics() or {}
    headline = ""
    for key in ("accuracy", "rmse", "mean_mae", "mae"):
        value = metrics.get(key)
        if isinstance(value, (int, float)):
            headline = f"{key} {value:.3f}"
            break
    started = time.strftime("%Y-%m-%d %H:%M", time.localtime(folder.config_path.stat().st_mtime))
    return RunSummary(name=folder.name, path=str(folder.path), task=str(config.get("task", "?")),
                      encoder=str(config.get("encoder", "?")), status=status, started=started, headline=headline)

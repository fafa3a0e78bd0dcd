"""Run storage: where sessions, uploads and runs live on disk, and what each session has chosen so far.

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
        predictions/<name>/             a finished model's predictions on new galaxies (Predict tab)

Everything a run writes is plain files, so the Runs tab works after an app restart and a run can
be reopened, copied to a cluster, or re-run headless from its ``config.yaml``. Every file the app
writes is written atomically (``zoobot.runs.write_atomic``); every reader here tolerates a damaged
or half-written file: a damaged ``session.json`` starts a fresh state (the files stay), a damaged run
is listed as ``unreadable`` with the reason.

Reading one run back for the tabs (progress, metrics, a summary for the Runs table) is in
:mod:`app.run_reading`. A session's owner can delete its uploads and runs (:meth:`RunStore.delete_uploads`,
:meth:`RunStore.delete_run`); ``app.cleanup`` zips a session's files for download and expires idle
sessions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from app.uploads import folder_bytes
from zoobot.runs import RunFolder, write_atomic

logger = logging.getLogger(__name__)

_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


class SessionError(ValueError):
    """The browser sent a session id the app cannot use."""


class FilesError(ValueError):
    """A request about a session's files (deleting a run, ...) that cannot be honoured."""


def _new_folder(parent: Path, stem: str) -> Path:
    """A new, empty folder ``<stem>-<4 random hex digits>`` under ``parent`` (another name if taken)."""
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        path = parent / f"{stem}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # removed meanwhile
        return 0.0


def _check_state(state: SessionState) -> None:
    """Raise ``TypeError`` if a loaded state holds values of the wrong kind (a file edited by hand)."""
    texts = ("catalog_path", "catalog_name", "task", "schema_name", "schema_yaml", "run_dir", "map_dir", "pending_task")
    if any(getattr(state, name) is not None and not isinstance(getattr(state, name), str) for name in texts):
        raise TypeError("a value that should be text is not")
    for cols in (state.label_cols, state.pending_label_cols):
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise TypeError("label_cols is not a list of column names")
    if not isinstance(state.demo_pending, bool):
        raise TypeError("demo_pending is not true or false")


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
        pending_task: The task the Task tab shows but "Use this task" has not applied (kept for a reload).
        pending_label_cols: Its column(s).
        demo_pending: The demo survey was asked for and its loading has not ended: a reload, or the app
            started again after stopping mid-drawing, picks it up where it stopped.
    """

    catalog_path: str | None = None
    catalog_name: str | None = None
    task: str | None = None
    label_cols: list[str] = field(default_factory=list)
    schema_name: str | None = None
    schema_yaml: str | None = None
    run_dir: str | None = None
    map_dir: str | None = None
    pending_task: str | None = None
    pending_label_cols: list[str] = field(default_factory=list)
    demo_pending: bool = False


class RunStore:
    """Paths and session state under one runs folder.

    Args:
        runs_dir: The folder holding sessions, runs and caches; created if missing.
    """

    STATE_FILE = "session.json"
    SEEN_EVERY_S = 60.0
    """A session's folder is stamped as seen at most this often (its modification time)."""

    def __init__(self, runs_dir: str | Path) -> None:
        self.root = Path(runs_dir).expanduser().resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._state_lock = threading.Lock()

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
        self._mark_seen(session_id, path)
        return path

    def _mark_seen(self, session_id: str, path: Path) -> None:
        """Stamp the session's folder as visited (its modification time), at most once a minute."""
        now = time.time()
        if now - self._seen.get(session_id, 0.0) < self.SEEN_EVERY_S:
            return
        self._seen[session_id] = now
        try:
            os.utime(path, (now, now))
        except OSError as err:  # the folder went away meanwhile (expired); the next call makes it again
            logger.info("could not stamp session %s as seen: %s", session_id[:8], err)

    def last_seen(self, session_id: str) -> float:
        """When the session was last active (seconds since the epoch): its folder's stamp."""
        path = self.root / "sessions" / session_id
        try:
            return max(path.stat().st_mtime, self._seen.get(session_id, 0.0))
        except OSError:
            return self._seen.get(session_id, 0.0)

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

    SECRET_FILE = ".browser_secret"

    def browser_secret(self) -> str:
        """The key the page's session id is kept with in the browser (Gradio encrypts a ``BrowserState``): made
        once per runs folder and kept in it, so a browser still finds its session after the app restarts (a
        random key per launch would start every returning browser afresh)."""
        path = self.root / self.SECRET_FILE
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            secret = path.read_text().strip()
            if secret:
                return secret
            path.unlink(missing_ok=True)  # left empty by a crash: make it again
            return self.browser_secret()
        secret = secrets.token_hex(32)
        with os.fdopen(fd, "w") as file:
            file.write(secret)
        return secret

    def load_state(self, session_id: str) -> SessionState:
        """The saved state of a session (empty if none saved yet).

        A damaged ``session.json`` (cut short, edited by hand, values of the wrong kind) starts a fresh
        state: the file is set aside as ``session.json.damaged`` and the session's files stay.
        """
        path = self.session_dir(session_id) / self.STATE_FILE
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return SessionState()
        except (OSError, ValueError) as err:
            return self._set_aside(path, err)
        try:
            known = {k: v for k, v in data.items() if k in SessionState.__dataclass_fields__}
            state = SessionState(**known)
            _check_state(state)
        except (AttributeError, TypeError, ValueError) as err:
            return self._set_aside(path, err)
        return state

    @staticmethod
    def _set_aside(path: Path, why: BaseException) -> SessionState:
        logger.warning("%s is damaged (%s); starting a fresh state, keeping the session's files", path, why)
        try:
            path.replace(path.with_name(path.name + ".damaged"))
        except OSError as err:
            logger.warning("could not set %s aside: %s", path, err)
        return SessionState()

    def save_state(self, session_id: str, state: SessionState) -> None:
        """Save a session's state (atomically, so a reload never sees half a file)."""
        write_atomic(self.session_dir(session_id) / self.STATE_FILE, json.dumps(asdict(state), indent=1))

    def update_state(self, session_id: str, **changes: Any) -> SessionState:
        """Load, change and save a session's state; returns the new state. One change at a time, so a job
        ending (e.g. a catalog loaded) and a click on the page never undo each other's change."""
        with self._state_lock:
            state = self.load_state(session_id)
            for key, value in changes.items():
                if key not in SessionState.__dataclass_fields__:
                    raise KeyError(key)
                setattr(state, key, value)
            self.save_state(session_id, state)
        return state

    def new_run_dir(self, session_id: str, task: str) -> Path:
        """A fresh, empty run folder named by time and task, e.g. ``20250101-120000-tree-1a2b``."""
        return _new_folder(self.session_dir(session_id) / "runs", f"{time.strftime('%Y%m%d-%H%M%S')}-{task}")

    def new_map_dir(self, session_id: str) -> Path:
        """A fresh folder for one UMAP map."""
        return _new_folder(self.session_dir(session_id) / "explore", time.strftime("%Y%m%d-%H%M%S"))

    def new_predictions_dir(self, session_id: str) -> Path:
        """A fresh folder for the predictions of a finished model on new galaxies (the Predict tab)."""
        return _new_folder(self.session_dir(session_id) / "predictions", time.strftime("%Y%m%d-%H%M%S"))

    def new_upload_dir(self, session_id: str) -> Path:
        """Where the session's next upload goes (``uploads/upload_007``; not created: the upload lands whole)."""
        uploads = self.uploads_dir(session_id)
        numbers = [int(m.group(1)) for p in uploads.iterdir() if (m := re.fullmatch(r"upload_(\d+)", p.name))]
        return uploads / f"upload_{max(numbers, default=0) + 1:03d}"

    def run_dirs(self, session_id: str | None) -> list[Path]:
        """Run folders, newest first: the session's own, or (``None``) every session's and any
        run written straight into the runs folder (e.g. by the ``zoobot`` command)."""
        if session_id is not None:
            candidates = list((self.session_dir(session_id) / "runs").glob(f"*/{RunFolder.CONFIG_FILE}"))
        else:
            candidates = list(self.root.glob(f"sessions/*/runs/*/{RunFolder.CONFIG_FILE}")) + list(
                self.root.glob(f"*/{RunFolder.CONFIG_FILE}")
            )
        dirs = {p.parent for p in candidates}
        return sorted(dirs, key=_mtime, reverse=True)

    def owns(self, session_id: str | None, run_dir: str | Path) -> bool:
        """Whether ``run_dir`` is one of the runs this session may open (``None``: any run here)."""
        return Path(run_dir).resolve() in set(self.run_dirs(session_id))

    # --- a session's files: room, deleting, downloading, expiry ---------------------------------

    def uploads_bytes(self, session_id: str) -> int:
        """Bytes of everything the session has uploaded (unpacked)."""
        return folder_bytes(self.session_dir(session_id) / "uploads")

    def delete_run(
        self, session_id: str | None, run_dir: str | Path, busy: set[str] | frozenset[str] = frozenset()
    ) -> None:
        """Delete one run's folder for good.

        Args:
            session_id: The session asking (``None``: local mode, any run in the runs folder).
            run_dir: The run folder.
            busy: Run folders a job is still working on (``JobManager.active_run_dirs()``).

        Raises:
            FilesError: The run is not this session's, or is still queued or training.
        """
        path = Path(run_dir).resolve()
        if not self.owns(session_id, path):
            raise FilesError("That run is not one of yours (or is gone already); refresh the list of runs.")
        if str(path) in {str(Path(b).resolve()) for b in busy}:
            raise FilesError(f"Run {path.name} is still queued or training; stop it first, then delete it.")
        shutil.rmtree(path)
        for owner in [session_id] if session_id else self.session_ids():
            state = self.load_state(owner)
            if state.run_dir and Path(state.run_dir).resolve() == path:
                self.update_state(owner, run_dir=None)

    def delete_uploads(self, session_id: str) -> None:
        """Delete everything the session uploaded, and its working catalog (its runs keep their own copy
        of their catalog, but their galleries lose the images)."""
        folder = self.session_dir(session_id)
        shutil.rmtree(folder / "uploads", ignore_errors=True)
        self.catalog_path(session_id).unlink(missing_ok=True)
        state = self.load_state(session_id)
        if state.catalog_path and Path(state.catalog_path).resolve().is_relative_to(folder.resolve()):
            self.update_state(session_id, catalog_path=None, catalog_name=None)

    def session_ids(self) -> list[str]:
        """Every session with a folder here."""
        sessions = self.root / "sessions"
        return [p.name for p in sessions.iterdir() if _SESSION_ID.match(p.name)] if sessions.is_dir() else []

    def forget(self, session_id: str) -> None:
        """Delete a session's folder with everything in it (see ``app.cleanup``)."""
        shutil.rmtree(self.root / "sessions" / session_id, ignore_errors=True)
        self._seen.pop(session_id, None)

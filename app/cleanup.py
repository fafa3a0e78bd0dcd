"""Cleaning up after visitors: a session's files zipped for download, idle sessions expired.

In hosted mode a session not seen for ``--max-session-hours`` is deleted with its uploads and runs
(never while one of its jobs is queued or running); the page says when, and offers the zip of
everything first. Gradio's own cache (uploads received, files handed out) expires by age
(``delete_cache`` in ``app.main``) and, checked every minute here, by size (``--max-cache-mb``: anyone
can post files to it, so a flood must not fill the disk before they expire).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

from app.runs import RunStore
from zoobot.runs import RunFolder, atomic_path

if TYPE_CHECKING:
    from app.engine import Engine

logger = logging.getLogger(__name__)

EXPORT_FILE = "my_zoobot_files.zip"
"""The zip of a session's files, in its folder (rewritten at each download)."""
EXPORTED = ("uploads", "runs", "explore")


def export_session(store: RunStore, session_id: str) -> Path:
    """A zip of everything the session has: ``uploads/``, ``runs/`` (each run's config, metrics,
    predictions and exported model; not Lightning's checkpoints, which ``model/`` supersedes) and
    ``explore/``. Written atomically into the session's folder; returns its path."""
    folder = store.session_dir(session_id)
    target = folder / EXPORT_FILE
    with atomic_path(target) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
        for part in EXPORTED:
            for path in sorted((folder / part).rglob("*")):
                relative = path.relative_to(folder)
                skip = any(p.startswith(".") or p == RunFolder.CHECKPOINTS_DIR for p in relative.parts)
                if path.is_file() and not path.is_symlink() and not skip:
                    archive.write(path, relative.as_posix())
    return target


def expire_sessions(store: RunStore, max_idle_s: float, busy: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Delete the sessions not seen for ``max_idle_s`` seconds, with their uploads and runs.

    Args:
        store: The runs folder.
        max_idle_s: Idle time after which a session goes.
        busy: Sessions with a job still queued or running (never deleted).

    Returns:
        The ids of the sessions deleted.
    """
    now, gone = time.time(), []
    for session_id in store.session_ids():
        if session_id in busy or now - store.last_seen(session_id) < max_idle_s:
            continue
        store.forget(session_id)
        gone.append(session_id)
    return gone


def expire_idle_sessions(engine: Engine) -> list[str]:
    """Expire the engine's idle sessions (``limits.session_hours``), forgetting what it keeps of them."""
    hours = engine.limits.session_hours
    if hours is None:
        return []
    gone = expire_sessions(engine.store, hours * 3600, engine.manager.active_owners())
    for session_id in gone:
        engine.forget(session_id)
    if gone:
        logger.info("deleted %d session(s) idle for over %g h", len(gone), hours)
    return gone


def gradio_cache_folder() -> Path:
    """Where Gradio keeps the files it receives and hands out (``GRADIO_TEMP_DIR``, else the temp folder's
    ``gradio``), as Gradio itself decides."""
    return Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio")


def trim_cache(folder: Path, max_bytes: int, min_age_s: float = 60.0) -> int:
    """Delete the oldest files under ``folder`` until it holds at most ``max_bytes`` (files younger than
    ``min_age_s`` stay: an upload being taken in right now), and the folders they leave empty; returns the
    bytes freed."""
    files = []
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            try:
                info = os.lstat(path)
            except OSError:
                continue  # gone meanwhile
            files.append((info.st_mtime, info.st_size, path))
    excess = sum(size for _, size, _ in files) - max_bytes
    freed, young = 0, time.time() - min_age_s
    for mtime, size, path in sorted(files):
        if freed >= excess or mtime > young:
            break
        try:
            os.unlink(path)
            freed += size
        except OSError:
            continue  # gone meanwhile, or in use on a system that forbids deleting it
        parent = os.path.dirname(path)
        if parent != str(folder):
            with contextlib.suppress(OSError):  # not empty: other files are still there
                os.rmdir(parent)  # Gradio keeps each file in a folder of its own
    return freed


def start_janitor(engine: Engine, every_s: float = 60.0) -> threading.Thread | None:
    """In a background thread, every ``every_s`` seconds: trim Gradio's cache to ``limits.cache_mb`` and
    expire idle sessions (``limits.session_hours``); ``None`` when neither is limited."""
    limits = engine.limits
    if limits.session_hours is None and limits.cache_mb is None:
        return None

    def sweep() -> None:
        while True:
            try:
                if limits.cache_mb is not None and gradio_cache_folder().is_dir():
                    freed = trim_cache(gradio_cache_folder(), int(limits.cache_mb * 1e6))
                    if freed:
                        logger.info("trimmed %.0f MB from Gradio's cache (limit %g MB)", freed / 1e6, limits.cache_mb)
                expire_idle_sessions(engine)
            except OSError as err:  # a disk error must not end the sweeping
                logger.warning("could not clean up: %s", err)
            time.sleep(every_s)

    thread = threading.Thread(target=sweep, name="janitor", daemon=True)
    thread.start()
    return thread


def expiry_note(engine: Engine, session_id: str | None) -> str:
    """When the session's files will be deleted, in words (empty when they are kept)."""
    hours = engine.limits.session_hours
    if hours is None:
        return "Your uploads and runs are kept in the runs folder until you delete them."
    when = ""
    if session_id:
        left = engine.store.last_seen(session_id) + hours * 3600 - time.time()
        when = f" (now: in about {max(left, 0) / 3600:.0f} h)" if left > 3600 else ""
    return (
        f"On this hosted app your uploads and runs are deleted **{hours:g} hours after your last visit**{when}. "
        "Download everything before then to keep it."
    )

"""Files that a crash cannot cut: every write goes to a temporary file beside the target, is flushed to
disk, then renamed over it, so a reader polling from another thread or process never sees half a file, and
a killed write leaves the previous version.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

__all__ = ["atomic_path", "write_atomic", "copy_atomic"]


def _temporary_name(path: Path) -> Path:
    """A temporary file beside ``path``: unique to the process and thread, so two writers never share
    one, and starting with a dot, so it matches no run file's name while it exists."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path to write ``path``'s new content to; on leaving the block it is flushed to disk
    and renamed over ``path``. If the block raises, ``path`` is left as it was and the temporary file
    is removed.

    Example::

        with atomic_path(folder / "catalog.parquet") as tmp:
            catalog.to_parquet(tmp, index=False)

    Args:
        path: the file to replace (its folder is created if missing).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary_name(path)
    try:
        yield tmp
        _fsync(tmp)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(path: str | Path, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` through a temporary file beside it, flushed
    to disk, then a rename: a reader sees the old file or the new one, never half of one, even if the
    writing process is killed.

    Returns:
        ``path``.
    """
    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "wb") as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def copy_atomic(source: str | Path, path: str | Path) -> Path:
    """Copy ``source`` to ``path`` atomically (see :func:`write_atomic`); returns ``path``."""
    with atomic_path(path) as tmp:
        shutil.copyfile(source, tmp)
    return Path(path)


def _overwrite_in_place(path: Path, text: str) -> bool:
    """Overwrite an existing small file without allocating a new one (for a full disk): the text, padded
    with spaces to the old length if shorter. Whether it was written."""
    data = text.encode("utf-8")
    try:
        size = path.stat().st_size
        with open(path, "r+b") as out:
            out.write(data + b" " * max(0, size - len(data)))
            out.truncate()
            out.flush()
            os.fsync(out.fileno())
    except OSError:
        return False
    return True

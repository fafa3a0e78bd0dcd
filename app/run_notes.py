"""What the app notes about a run besides its config: a name the user gave it and the catalog it was
trained on (the file name the user knows; the run keeps its own copy under another name). Kept in
``app_note.json`` in the run folder (written atomically, read tolerantly), so renaming a run never moves
its folder or breaks its ``config.yaml``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from zoobot.runs import write_atomic

NOTE_FILE = "app_note.json"
MAX_TITLE = 80


def read_note(run_dir: str | Path) -> dict[str, Any]:
    """The run's note (``title``, ``catalog_name``); empty when there is none or it is damaged."""
    try:
        note = json.loads((Path(run_dir) / NOTE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return {k: str(v) for k, v in note.items() if k in ("title", "catalog_name")} if isinstance(note, dict) else {}


def write_note(run_dir: str | Path, **changes: str | None) -> None:
    """Change the run's note (a ``None`` value removes that entry)."""
    note = read_note(run_dir)
    for key, value in changes.items():
        if value:
            note[key] = value
        else:
            note.pop(key, None)
    write_atomic(Path(run_dir) / NOTE_FILE, json.dumps(note))


def clean_title(title: str | None) -> str:
    """A name for a run: one line, at most :data:`MAX_TITLE` characters.

    Raises:
        ValueError: The name is empty.
    """
    text = " ".join((title or "").split())[:MAX_TITLE]
    if not text:
        raise ValueError("Type a name for the run.")
    return text

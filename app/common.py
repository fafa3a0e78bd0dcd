"""Small helpers the tabs share: turning library errors into messages on the page, thumbnails and
their short captions, and the problem list with its one-click fixes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import gradio as gr
import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

THUMBNAIL_SIZE = 128
_NOT_LABELS = ("id_str", "file_loc")


def label_columns(catalog: pd.DataFrame) -> list[str]:
    """The catalog's columns that could be labels: all but ``id_str`` and ``file_loc``."""
    return [c for c in catalog.columns if c not in _NOT_LABELS]


def plain_errors(fn: F) -> F:
    """Show the library's user-facing errors (all ``ValueError`` subclasses whose message says
    what to do) as a ``gr.Error`` pop-up instead of a stack trace; the app stays up. The pop-up
    stays until the user closes it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error as err:
            err.duration = None  # stays until closed: it says what to do, so it must not vanish unread
            raise
        except ValueError as err:
            logger.info("refused: %s", err)
            raise gr.Error(str(err), duration=None, print_exception=False) from err

    return wrapper  # type: ignore[return-value]


def thumbnail(path: str, size: int = THUMBNAIL_SIZE) -> np.ndarray | None:
    """A small RGB ``uint8`` array of an image (JPEG, PNG or FITS), or ``None`` if unreadable."""
    from zoobot.images import ImageReadError, load_image

    try:
        return load_image(path, channels=3, size=size)
    except ImageReadError:
        return None


def short_id(id_str: object, keep: int = 6) -> str:
    """The end of a galaxy id, short enough for a gallery caption: ``synthetic-0-000007`` -> ``…000007``."""
    text = str(id_str)
    return text if len(text) <= keep + 1 else "…" + text[-keep:]


def short_value(value: object) -> str:
    """A label value for a caption: ``?`` when missing, 3 significant digits for fractional numbers."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "?"
    if isinstance(value, (float, np.floating)):
        return f"{int(value)}" if float(value).is_integer() else f"{value:.3g}"
    return str(value)


def label_captions(sample: pd.DataFrame, label: str | None, schema: Any = None) -> list[str]:
    """Short gallery captions: the end of each id and its label (``…000007 · ring 1``), or for a
    vote-count tree the first question's leading answer and its votes (``…000007 · smooth 12/20``)."""
    ids = [short_id(i) for i in sample["id_str"]]
    if schema is not None and all(a.text in sample for a in schema.questions[0].answers):
        question = schema.questions[0]
        votes = sample[[a.text for a in question.answers]].to_numpy(dtype=float)
        captions = []
        for short, row in zip(ids, votes, strict=True):
            total = np.nansum(row)
            if not total > 0:
                captions.append(f"{short} · no votes")
                continue
            lead = question.answers[int(np.nanargmax(row))].text
            answer = lead[len(question.text):].lstrip("_-") if lead.startswith(question.text) else lead
            captions.append(f"{short} · {answer} {int(np.nanmax(row))}/{int(total)}")
        return captions
    if not label:
        return ids
    return [f"{short} · {label} {short_value(v)}" for short, v in zip(ids, sample[label], strict=True)]


def gallery_items(file_locs: Sequence[str], captions: Sequence[str], limit: int = 12) -> list[tuple[np.ndarray, str]]:
    """``(thumbnail, caption)`` pairs for ``gr.Gallery``, skipping unreadable images."""
    items = []
    for loc, caption in zip(file_locs, captions, strict=True):
        if len(items) >= limit:
            break
        pixels = thumbnail(str(loc))
        if pixels is not None:
            items.append((pixels, caption))
    return items


def problems_markdown(problems: Sequence[Any]) -> str:
    """Each catalog problem in plain words, errors first."""
    if not problems:
        return "**No problems found.**"
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    lines = []
    for p in ordered:
        badge = "Must fix" if p.severity == "error" else "Worth knowing"
        lines.append(f"- **{badge}**: {p.message}")
    return "\n".join(lines)


def fix_choices(problems: Sequence[Any]) -> list[tuple[str, str]]:
    """Radio choices ``(label, 'problem_index:fix_id')`` for every one-click fix offered."""
    from zoobot.catalog import FIXES

    choices = []
    for i, p in enumerate(problems):
        for fix in p.fixes:
            rows = f" ({len(p.rows)} row{'' if len(p.rows) == 1 else 's'})" if p.rows else ""
            choices.append((f"{FIXES.get(fix, fix).capitalize()}{rows}: {p.code.replace('_', ' ')}", f"{i}:{fix}"))
    return choices


def parse_fix_choice(choice: str | None, problems: Sequence[Any]) -> tuple[Any, str]:
    """The problem and fix id a radio value names.

    Raises:
        gr.Error: If nothing is chosen or the choice is stale.
    """
    if not choice:
        raise gr.Error("Choose one of the fixes first.")
    index, _, fix = choice.partition(":")
    if not index.isdigit() or int(index) >= len(problems) or fix not in problems[int(index)].fixes:
        raise gr.Error("That fix no longer applies; the catalog changed. Look at the updated problem list.")
    return problems[int(index)], fix

"""Small helpers the tabs share: turning errors into plain, escaped messages on the page (see
``app.errors`` and ``app.escape``), a job's progress or failure, thumbnails, their short captions and the
gallery that shows them, and the problem list with its one-click fixes."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import gradio as gr
import numpy as np
import pandas as pd

from app.errors import plain_text, user_message
from app.escape import escape_html, escape_md

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])

THUMBNAIL_SIZE = 128
THUMBNAIL_MAX_PIXELS = 25_000_000
"""Images with more pixels get no thumbnail (a PNG must be decoded whole to be shrunk): the galleries
skip them whatever the mode's image limit, so a page never decodes a huge image to draw a small one."""
GALLERY_CLASS = "zoobot-gallery"
"""The CSS class of every gallery of galaxies (its captions wrap: see ``app.main``)."""
_NOT_LABELS = ("id_str", "file_loc")


def label_columns(catalog: pd.DataFrame) -> list[str]:
    """The catalog's columns that could be labels: all but ``id_str`` and ``file_loc``."""
    return [c for c in catalog.columns if c not in _NOT_LABELS]


def plain_errors(fn: F) -> F:
    """Show any error of a handler as a ``gr.Error`` pop-up in plain words (``app.errors.user_message``:
    the app's and library's own messages, which say what to do; an ``OSError`` as what it means; an
    unexpected error without its text, logged), escaped so names in it show as written, instead of a
    stack trace; the app stays up. The pop-up stays until the user closes it."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error as err:
            # Stays until closed: it says what to do, so it must not vanish unread.
            raise gr.Error(escape_html(user_message(err)), duration=None, print_exception=False) from err
        except Exception as err:  # noqa: BLE001 - every failure becomes plain words; unexpected ones are logged
            logger.info("refused: %s", err)
            raise gr.Error(escape_html(user_message(err)), duration=None, print_exception=False) from err

    return wrapper  # type: ignore[return-value]


def wait_text(manager: Any, job: Any) -> str:
    """Where a queued job stands, in words: ``'position 2 in the queue, about 5 min'`` (the wait left out
    when it cannot be estimated yet)."""
    position = manager.queue_position(job.id)
    if position is None:
        return ""
    wait = manager.estimated_wait(job.id)
    text = f"position {position} in the queue"
    if wait is not None:
        text += f", about {_duration(wait)} to wait"
    return text


def job_progress(job: Any, failed: str) -> dict[str, Any] | None:
    """A tab's ``status`` and ``timer`` while its job is queued or running (``Working: <what it does>…``, the
    timer kept on) or once it failed (``**<failed>:**`` and the error in plain words, the timer off); ``None``
    when there is no job or it ended otherwise, so the caller shows the result."""
    if job is not None and job.active:
        return {"status": f"Working: {escape_md(job.message or 'Waiting to start')}…", "timer": gr.Timer(active=True)}
    if job is not None and job.status == "failed":
        return {"status": f"**{failed}:** {escape_md(plain_text(job.error or ''))}", "timer": gr.Timer(active=False)}
    return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return "a minute" if seconds > 5 else "a few seconds"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def duration_text(seconds: float) -> str:
    """A duration as a person says it: ``'40 s'``, ``'12 min'``, ``'1.5 h'``."""
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def thumbnail(path: str, size: int = THUMBNAIL_SIZE) -> np.ndarray | None:
    """A small RGB ``uint8`` array of an image (JPEG, PNG or FITS), at most ``size`` pixels across (decoded
    at a reduced size where the format allows), or ``None`` if unreadable or over :data:`THUMBNAIL_MAX_PIXELS`."""
    from zoobot.images import ImageReadError, load_thumbnail

    try:
        return load_thumbnail(path, size, channels=3, max_pixels=THUMBNAIL_MAX_PIXELS)
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
            answer = question.answers[int(np.nanargmax(row))].short_text
            captions.append(f"{short} · {answer} {int(np.nanmax(row))}/{int(total)}")
        return captions
    if not label:
        return ids
    return [f"{short} · {label} {short_value(v)}" for short, v in zip(ids, sample[label], strict=True)]


def gallery_items(file_locs: Sequence[str], captions: Sequence[str], limit: int = 12) -> list[tuple[np.ndarray, str]]:
    """``(thumbnail, caption)`` pairs for ``gr.Gallery``, skipping unreadable images."""
    items: list[tuple[np.ndarray, str]] = []
    for loc, caption in zip(file_locs, captions, strict=True):
        if len(items) >= limit:
            break
        pixels = thumbnail(str(loc))
        if pixels is not None:
            items.append((pixels, caption))
    return items


def galaxy_gallery(label: str, elem_id: str, columns: int, height: int) -> gr.Gallery:
    """A gallery of galaxy thumbnails with their captions, in the app's one gallery style."""
    return gr.Gallery(label=label, columns=columns, height=height, elem_id=elem_id, elem_classes=[GALLERY_CLASS])


def problems_markdown(problems: Sequence[Any]) -> str:
    """Each catalog problem in plain words, errors first."""
    if not problems:
        return "**No problems found.**"
    ordered = sorted(problems, key=lambda p: p.severity != "error")
    lines = []
    for p in ordered:
        badge = "Must fix" if p.severity == "error" else "Worth knowing"
        lines.append(f"- **{badge}**: {escape_md(plain_text(p.message))}")
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


def problems_view(problems: Sequence[Any]) -> dict[str, Any]:
    """The problem list and its one-click fixes: values for the ``problems``, ``fix_choice`` and
    ``fix_button`` components (the radio and button hidden when no fix is offered)."""
    choices = fix_choices(problems)
    return {
        "problems": problems_markdown(problems),
        "fix_choice": gr.Radio(choices=choices, value=choices[0][1] if choices else None, visible=bool(choices)),
        "fix_button": gr.Button(visible=bool(choices)),
    }


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

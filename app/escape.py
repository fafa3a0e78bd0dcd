"""Showing text that came from a user (column names, answers, question names, run and file names,
error messages quoting them) on the page as text, never as markup.

A catalog shared by someone else can name a column ``<img src=x onerror=...>``; Gradio renders
Markdown and HTML components, pop-ups and plot text as markup. Every handler puts such text through
one of these before it reaches the page:

- :func:`escape_md`: inside Markdown text (``gr.Markdown`` statuses, problem lists).
- :func:`code`: a name shown as code in Markdown (`` `label` ``).
- :func:`escape_html`: inside HTML (``gr.HTML``, pop-ups, plot titles and hover text).
"""

from __future__ import annotations

import html
import re

__all__ = ["code", "escape_html", "escape_md"]

# Markdown punctuation that can start code, emphasis, links or table cells anywhere in a line (``_`` inside
# a word, as in file and column names, starts nothing; headings and lists need a line start, and
# line breaks are removed).
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]|~])")
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029]+")


def escape_html(text: object) -> str:
    """``text`` as HTML element content that displays it as written (``<`` as ``&lt;``, ``&`` as ``&amp;``);
    line breaks become spaces. Not for attribute values (quotes are kept as they are)."""
    return html.escape(_LINE_BREAKS.sub(" ", str(text)), quote=False)


def escape_md(text: object) -> str:
    """``text`` as Markdown that displays it as written: no tags, emphasis, links, headings or code.

    HTML special characters become entities and the Markdown punctuation that works mid-line
    (backslash, backtick, ``*``, ``[``, ``]``, ``|``, ``~``) is backslash-escaped; line breaks become
    spaces (a name cannot start a heading or a list).
    """
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", html.escape(_LINE_BREAKS.sub(" ", str(text)), quote=False))


def code(text: object) -> str:
    """``text`` as a Markdown code span (shown in a monospace font, nothing in it interpreted).

    The span's fence is one backtick longer than any run of backticks in ``text``, so ``text`` cannot
    close it early.
    """
    text = _LINE_BREAKS.sub(" ", str(text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{fence}{pad}{text}{pad}{fence}"

"""Zoobot 2.x import path for the Galaxy Zoo question/answer dicts: a thin re-export of
:mod:`zoobot.trees`.

``from zoobot.shared.label_metadata import decals_dr5_ortho_pairs, decals_ortho_dependencies``
works as before. ``<tree>_questions`` and ``<tree>_label_cols`` (e.g. ``gz2_ortho_label_cols``)
are computed from ``<tree>_pairs`` when first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from zoobot import trees

# Zoobot's dict names: every ``<tree>_pairs`` and ``<tree>_dependencies`` that zoobot.trees has (served by
# __getattr__ below, so the list lives in one place).
_DICT_NAMES = frozenset(name for name in trees.__all__ if name.endswith(("_pairs", "_dependencies")))

__all__ = [*sorted(_DICT_NAMES), "extract_questions_and_label_cols"]


def extract_questions_and_label_cols(
    question_answer_pairs: Mapping[str, Sequence[str]],
) -> tuple[list[str], list[str]]:
    """The question names and the answer columns (question + suffix) of a pairs dict.

    Args:
        question_answer_pairs: e.g. ``{'smooth-or-featured': ['_smooth', '_featured-or-disk']}``.

    Returns:
        ``(questions, label_cols)``, e.g. ``(['smooth-or-featured'], ['smooth-or-featured_smooth',
        'smooth-or-featured_featured-or-disk'])``.
    """
    questions = list(question_answer_pairs)
    label_cols = [q + a for q, answers in question_answer_pairs.items() for a in answers]
    return questions, label_cols


def __getattr__(name: str) -> Any:
    if name in _DICT_NAMES:
        return getattr(trees, name)
    for ending, position in (("_label_cols", 1), ("_questions", 0)):
        if name.endswith(ending):
            pairs = getattr(trees, name.removesuffix(ending) + "_pairs", None)
            if isinstance(pairs, dict):
                return extract_questions_and_label_cols(pairs)[position]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

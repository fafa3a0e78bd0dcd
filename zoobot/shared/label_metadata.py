"""Zoobot 2.x import path for the Galaxy Zoo question/answer dicts: a thin re-export of
:mod:`zoobot.trees`.

``from zoobot.shared.label_metadata import decals_dr5_ortho_pairs, decals_ortho_dependencies``
works as before. ``<tree>_questions`` and ``<tree>_label_cols`` (e.g. ``gz2_ortho_label_cols``)
are computed from ``<tree>_pairs`` when first asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from zoobot import trees
from zoobot.trees import (
    candels_ortho_dependencies,
    candels_ortho_pairs,
    candels_pairs,
    cosmic_dawn_dependencies,
    cosmic_dawn_ortho_dependencies,
    cosmic_dawn_ortho_pairs,
    cosmic_dawn_pairs,
    decals_all_campaigns_ortho_pairs,
    decals_dependencies,
    decals_dr5_ortho_dependencies,
    decals_dr5_ortho_pairs,
    decals_dr8_ortho_dependencies,
    decals_dr8_ortho_pairs,
    decals_dr12_ortho_dependencies,
    decals_dr12_ortho_pairs,
    decals_ortho_dependencies,
    decals_pairs,
    desi_dependencies,
    desi_pairs,
    euclid_dependencies,
    euclid_ortho_dependencies,
    euclid_ortho_pairs,
    euclid_pairs,
    gz2_dependencies,
    gz2_ortho_dependencies,
    gz2_ortho_pairs,
    gz2_pairs,
    gz_evo_v1_dependencies,
    gz_evo_v1_pairs,
    hubble_ortho_dependencies,
    hubble_ortho_pairs,
    hubble_pairs,
    jwst_ortho_dependencies,
    jwst_ortho_pairs,
    rings_dependencies,
    rings_pairs,
    ukidss_ortho_dependencies,
    ukidss_ortho_pairs,
)

__all__ = [
    "candels_ortho_dependencies",
    "candels_ortho_pairs",
    "candels_pairs",
    "cosmic_dawn_dependencies",
    "cosmic_dawn_ortho_dependencies",
    "cosmic_dawn_ortho_pairs",
    "cosmic_dawn_pairs",
    "decals_all_campaigns_ortho_pairs",
    "decals_dependencies",
    "decals_dr5_ortho_dependencies",
    "decals_dr5_ortho_pairs",
    "decals_dr8_ortho_dependencies",
    "decals_dr8_ortho_pairs",
    "decals_dr12_ortho_dependencies",
    "decals_dr12_ortho_pairs",
    "decals_ortho_dependencies",
    "decals_pairs",
    "desi_dependencies",
    "desi_pairs",
    "euclid_dependencies",
    "euclid_ortho_dependencies",
    "euclid_ortho_pairs",
    "euclid_pairs",
    "extract_questions_and_label_cols",
    "gz2_dependencies",
    "gz2_ortho_dependencies",
    "gz2_ortho_pairs",
    "gz2_pairs",
    "gz_evo_v1_dependencies",
    "gz_evo_v1_pairs",
    "hubble_ortho_dependencies",
    "hubble_ortho_pairs",
    "hubble_pairs",
    "jwst_ortho_dependencies",
    "jwst_ortho_pairs",
    "rings_dependencies",
    "rings_pairs",
    "ukidss_ortho_dependencies",
    "ukidss_ortho_pairs",
]


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


def __getattr__(name: str) -> list[str]:
    for ending, position in (("_label_cols", 1), ("_questions", 0)):
        if name.endswith(ending):
            pairs = getattr(trees, name.removesuffix(ending) + "_pairs", None)
            if isinstance(pairs, dict):
                return extract_questions_and_label_cols(pairs)[position]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The two dicts a tree is written as, and the helpers that make one campaign's tree from another's.

``Pairs`` maps each question to its answer suffixes (``{'bar-dr5': ['_strong', '_weak', '_no']}``);
``Dependencies`` maps each question to the answer column it is asked after, or None when every
volunteer is asked it. Campaign variants of one tree differ only in their question names, so they
are made with :func:`_with_suffix` (``-dr5``: ``smooth-or-featured`` -> ``smooth-or-featured-dr5``); a campaign
that asked another's tree with a few changes is written as those changes (:func:`_changed`, :func:`_questions`,
:func:`_added_after`). Every helper returns fresh lists, so no two trees share one.
"""

from __future__ import annotations

from collections.abc import Mapping

Pairs = dict[str, list[str]]
Dependencies = dict[str, str | None]


def _with_suffix(pairs: Pairs, dependencies: Dependencies, suffix: str) -> tuple[Pairs, Dependencies]:
    """Copy a tree with every question suffixed with its campaign (Zoobot's "ortho" trees)."""
    names = sorted(set(pairs) | set(dependencies), key=len, reverse=True)

    def rename_column(column: str | None) -> str | None:
        if column is None:
            return None
        question = next(n for n in names if column.startswith(n + "_"))
        return question + suffix + column[len(question) :]

    return (
        {q + suffix: list(answers) for q, answers in pairs.items()},
        {q + suffix: rename_column(parent) for q, parent in dependencies.items()},
    )


def _changed(pairs: Pairs, changes: Pairs) -> Pairs:
    """A copy of a tree with some questions' answers changed and new questions added at the end (for a
    campaign that asked another's tree with a few changes)."""
    return {**{q: list(answers) for q, answers in pairs.items()}, **changes}


def _questions(pairs: Pairs, *questions: str) -> Pairs:
    """A copy of some of a tree's questions with their answers, in the order given (for a campaign that asked
    them again)."""
    return {q: list(pairs[q]) for q in questions}


def _added_after(dependencies: Dependencies, added: Mapping[str, Dependencies]) -> Dependencies:
    """A copy of a tree's dependencies with new questions listed right after given ones (``added``: question ->
    the new questions and their parents), in the order Zoobot lists them (for a campaign that asked more)."""
    copy: Dependencies = {}
    for question, parent in dependencies.items():
        copy[question] = parent
        copy.update(added.get(question, {}))
    return copy

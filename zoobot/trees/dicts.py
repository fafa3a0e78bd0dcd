"""The two dicts a tree is written as, and the helpers that make one campaign's tree from another's.

``Pairs`` maps each question to its answer suffixes (``{'bar-dr5': ['_strong', '_weak', '_no']}``);
``Dependencies`` maps each question to the answer column it is asked after, or None when every
volunteer is asked it. Campaign variants of one tree differ only in their question names, so they
are made with :func:`_rename_questions` (``_add_suffix("-dr5")``, ``_remove_suffix``); a campaign that
asked another's tree with a few changes is written as those changes (:func:`_changed`, :func:`_questions`).
Every helper returns fresh lists, so no two trees share one.
"""

from __future__ import annotations

from collections.abc import Callable

Pairs = dict[str, list[str]]
Dependencies = dict[str, str | None]


def _rename_questions(
    pairs: Pairs, dependencies: Dependencies, rename: Callable[[str], str]
) -> tuple[Pairs, Dependencies]:
    """Copy a tree with every question renamed (e.g. a campaign suffix added or removed)."""
    names = sorted(set(pairs) | set(dependencies), key=len, reverse=True)

    def rename_column(column: str | None) -> str | None:
        if column is None:
            return None
        question = next(n for n in names if column.startswith(n + "_"))
        return rename(question) + column[len(question) :]

    return (
        {rename(q): list(answers) for q, answers in pairs.items()},
        {rename(q): rename_column(parent) for q, parent in dependencies.items()},
    )


def _changed(pairs: Pairs, changes: Pairs) -> Pairs:
    """A copy of a tree with some questions' answers changed and new questions added at the end (for a
    campaign that asked another's tree with a few changes)."""
    return {**{q: list(answers) for q, answers in pairs.items()}, **changes}


def _questions(pairs: Pairs, *questions: str) -> Pairs:
    """A copy of some of a tree's questions with their answers, in the order given (for a campaign that asked
    them again)."""
    return {q: list(pairs[q]) for q in questions}


def _remove_suffix(suffix: str) -> Callable[[str], str]:
    return lambda question: question.removesuffix(suffix)


def _add_suffix(suffix: str) -> Callable[[str], str]:
    return lambda question: question + suffix

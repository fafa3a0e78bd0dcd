"""The two dicts a tree is written as, and copying a tree with its questions renamed.

``Pairs`` maps each question to its answer suffixes (``{'bar-dr5': ['_strong', '_weak', '_no']}``);
``Dependencies`` maps each question to the answer column it is asked after, or None when every
volunteer is asked it. Campaign variants of one tree differ only in their question names, so they
are made with :func:`_rename_questions`.
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


def _remove_suffix(suffix: str) -> Callable[[str], str]:
    return lambda question: question.removesuffix(suffix)

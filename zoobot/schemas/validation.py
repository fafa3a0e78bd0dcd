"""The rules every decision tree obeys, checked when a :class:`~zoobot.schemas.Schema` is built.

Every question has answers, every answer column is unique, every question says after which answer it
is asked (or that it is always asked), and the dependencies lead back to an always-asked question
without a loop. A broken rule raises :class:`SchemaError`, whose message says what to change.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from typing import TypedDict


class SchemaError(ValueError):
    """A decision tree (schema) is invalid, or does not match the data it is used with."""


MAX_SCHEMA_CHARS = 50_000
"""Longest schema text :meth:`~zoobot.schemas.Schema.from_yaml` / ``from_json`` read by default (the
largest Galaxy Zoo tree, GZ Evo, is 8 kB as YAML). Checked before parsing: YAML is parsed at about
50 kB a second."""
MAX_QUESTIONS = 200
"""Most questions a schema read from text or a dict may have by default (GZ Evo has 76); checked
before the tree is built."""
MAX_ANSWERS = 1000
"""Most answers, over all questions, a schema read from text or a dict may have by default (GZ Evo: 239)."""


class TextCaps(TypedDict, total=False):
    """The caps :meth:`~zoobot.schemas.Schema.from_yaml` and :meth:`~zoobot.schemas.Schema.from_json` take as
    keyword arguments, each defaulting to the constant above.

    Attributes:
        max_chars: refuse longer text, before parsing it (default :data:`MAX_SCHEMA_CHARS`).
        max_questions: refuse more questions than this, before building the tree (default :data:`MAX_QUESTIONS`).
        max_answers: refuse more answers, over all questions, than this (default :data:`MAX_ANSWERS`).
    """

    max_chars: int
    max_questions: int
    max_answers: int


def check_schema_size(text: str, max_chars: int = MAX_SCHEMA_CHARS) -> None:
    """Refuse schema text longer than ``max_chars``, before it is parsed.

    Raises:
        SchemaError: naming the size and the limit.
    """
    if len(text) > max_chars:
        raise SchemaError(
            f"The schema is {len(text):,} characters long; at most {max_chars:,} are read. The largest Galaxy "
            "Zoo tree is under 10,000: check that this is the tree you meant to paste."
        )


def check_schema_counts(
    n_questions: int, n_answers: int, max_questions: int = MAX_QUESTIONS, max_answers: int = MAX_ANSWERS
) -> None:
    """Refuse a schema with more questions or answers than allowed, before the tree is built.

    Raises:
        SchemaError: naming the count and the limit.
    """
    if n_questions > max_questions:
        raise SchemaError(
            f"The schema has {n_questions:,} questions; at most {max_questions:,} are allowed "
            "(the largest Galaxy Zoo tree has 76)."
        )
    if n_answers > max_answers:
        raise SchemaError(
            f"The schema has {n_answers:,} answers; at most {max_answers:,} are allowed "
            "(the largest Galaxy Zoo tree has 239)."
        )


def _did_you_mean(text: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(known), n=3)
    return f" Did you mean {', '.join(map(repr, close))}?" if close else ""


def _check_pairs(question_answer_pairs: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    """Validate question names and answer suffixes; return them as an ordered dict of tuples."""
    if not isinstance(question_answer_pairs, Mapping):
        raise SchemaError(
            "question_answer_pairs must be a dict of question name -> answer suffixes, got "
            f"{type(question_answer_pairs).__name__}."
        )
    if not question_answer_pairs:
        raise SchemaError("The schema has no questions; add at least one question with answers.")
    pairs: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    for question, suffixes in question_answer_pairs.items():
        if not isinstance(question, str) or not question.strip():
            raise SchemaError(f"Question names must be non-empty text, got {question!r}.")
        if isinstance(suffixes, str) or not isinstance(suffixes, Sequence):
            raise SchemaError(
                f"The answers of question {question!r} must be a list of answer suffixes "
                f"(e.g. ['_yes', '_no']), got {suffixes!r}."
            )
        if len(suffixes) == 0:
            raise SchemaError(f"Question {question!r} has no answers; give it at least one answer, or remove it.")
        for suffix in suffixes:
            if not isinstance(suffix, str) or not suffix:
                raise SchemaError(
                    f"Answer suffixes of question {question!r} must be non-empty text (e.g. '_yes'), got {suffix!r}."
                )
            column = question + suffix
            if column in seen:
                raise SchemaError(
                    f"Answer column {column!r} appears twice (in question {seen[column]!r} and in "
                    f"question {question!r}); every answer column must be unique."
                )
            seen[column] = question
        pairs[question] = tuple(suffixes)
    return pairs


def _check_dependencies(
    pairs: Mapping[str, Sequence[str]], dependencies: Mapping[str, str | None]
) -> dict[str, str | None]:
    """Validate dependencies against the questions; return question -> parent answer column."""
    if not isinstance(dependencies, Mapping):
        raise SchemaError(
            "dependencies must be a dict of question name -> the answer column it is asked after "
            f"(or None), got {type(dependencies).__name__}."
        )
    answer_owner = {q + s: q for q, suffixes in pairs.items() for s in suffixes}
    missing = [q for q in pairs if q not in dependencies]
    # a single question is necessarily the first one asked, so Zoobot 2.x needs no entry for it
    if missing and len(pairs) > 1:
        unknown = [q for q in dependencies if q not in pairs]
        hint = (
            f" The dependencies mention {', '.join(map(repr, unknown[:5]))}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not in question_answer_pairs; check the spelling."
            if unknown
            else ""
        )
        raise SchemaError(
            f"Question(s) {', '.join(map(repr, missing))} have no entry in dependencies; give each "
            f"the answer column it is asked after, or None if every volunteer is asked it.{hint}"
        )
    parents: dict[str, str | None] = {}
    for question in pairs:
        parent = dependencies.get(question)
        if parent is not None:
            if not isinstance(parent, str):
                raise SchemaError(
                    f"The dependency of question {question!r} must be an answer column or None, got {parent!r}."
                )
            if parent not in answer_owner:
                raise SchemaError(
                    f"Question {question!r} is asked after {parent!r}, but no question has that "
                    f"answer column.{_did_you_mean(parent, answer_owner)} Answer columns are the "
                    "question name followed by the answer suffix, e.g. 'smooth-or-featured_smooth'."
                )
        parents[question] = parent
    _check_no_loops(parents, answer_owner)
    return parents


def _check_no_loops(parents: Mapping[str, str | None], answer_owner: Mapping[str, str]) -> None:
    for start in parents:
        chain = [start]
        parent = parents[start]
        while parent is not None:
            question = answer_owner[parent]
            if question in chain:
                loop = " -> ".join(chain[chain.index(question) :] + [question])
                raise SchemaError(
                    f"The dependencies form a loop ({loop}, each asked after the one before). "
                    "Every question must trace back to one that is always asked (dependency None)."
                )
            chain.append(question)
            parent = parents[question]

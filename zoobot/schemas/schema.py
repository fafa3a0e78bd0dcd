"""The decision tree itself: :class:`Schema` (its parts, :class:`Answer` and :class:`Question`, are in
:mod:`zoobot.schemas.questions` and importable from here).

A schema is built as in Zoobot 2.x from question -> answer suffixes and question -> the answer column
it is asked after; it is immutable and checked when built (:mod:`zoobot.schemas.validation`). Reading
and writing it as a dict, YAML or JSON is in :mod:`zoobot.schemas.formats`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zoobot.schemas.formats import _json_text, _pairs_from_dict, _parse_json, _parse_yaml, _readable_dict, _yaml_text
from zoobot.schemas.questions import Answer, Question
from zoobot.schemas.validation import (
    MAX_ANSWERS,
    MAX_QUESTIONS,
    MAX_SCHEMA_CHARS,
    SchemaError,
    TextCaps,
    _check_dependencies,
    _check_pairs,
    _did_you_mean,
    check_schema_size,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack  # typing's from Python 3.11

__all__ = ["Answer", "Question", "Schema"]  # Answer and Question: zoobot.schemas.questions

logger = logging.getLogger(__name__)


class Schema:
    """A Galaxy Zoo decision tree: questions, their answer columns, and which answer leads where.

    Immutable and validated on construction. Built as in Zoobot 2.x.

    Args:
        question_answer_pairs: question name -> answer suffixes, e.g.
            ``{'smooth-or-featured-dr5': ['_smooth', '_featured-or-disk', '_artifact'], ...}``.
            The answer column is the question name plus the suffix. Question order sets column order.
        dependencies: question name -> the answer column after which it is asked, or None if it is
            always asked. Entries for questions not in ``question_answer_pairs`` are ignored, as in
            Zoobot 2.x (its shared dicts cover several campaigns at once).

    Raises:
        SchemaError: if the tree is empty, a question has no answers, a column appears twice,
            a question has no dependency entry, a dependency names an answer that does not exist,
            or the dependencies form a loop.
    """

    # Pickled under Zoobot 2.x's name, zoobot.shared.schemas.Schema (this class, re-exported there): a checkpoint
    # holding a schema loads in real Zoobot, which rebuilds its own Schema from the two dicts, and back.
    __module__ = "zoobot.shared.schemas"
    __slots__ = ("_questions", "_answers", "_question_by_text", "_answer_by_text")
    _questions: tuple[Question, ...]
    _answers: tuple[Answer, ...]
    _question_by_text: dict[str, Question]
    _answer_by_text: dict[str, Answer]

    def __init__(
        self,
        question_answer_pairs: Mapping[str, Sequence[str]],
        dependencies: Mapping[str, str | None],
    ) -> None:
        pairs = _check_pairs(question_answer_pairs)
        parents = _check_dependencies(pairs, dependencies)

        questions = [Question(text=q) for q in pairs]
        answers: list[Answer] = []
        for question, suffixes in zip(questions, pairs.values(), strict=True):
            own = tuple(
                Answer(text=question.text + s, index=len(answers) + i, question=question)
                for i, s in enumerate(suffixes)
            )
            object.__setattr__(question, "answers", own)
            answers.extend(own)
        answer_by_text = {a.text: a for a in answers}
        for question in questions:
            parent_text = parents[question.text]
            if parent_text is not None:
                parent = answer_by_text[parent_text]
                object.__setattr__(question, "asked_after", parent)
                object.__setattr__(parent, "next_questions", parent.next_questions + (question,))

        object.__setattr__(self, "_questions", tuple(questions))
        object.__setattr__(self, "_answers", tuple(answers))
        object.__setattr__(self, "_question_by_text", {q.text: q for q in questions})
        object.__setattr__(self, "_answer_by_text", answer_by_text)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Schema is immutable; build a new Schema instead of setting {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Schema is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[type[Schema], tuple[dict[str, list[str]], dict[str, str | None]]]:
        return (Schema, (self.question_answer_pairs, self.dependencies))

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        """Rebuild from the attributes Zoobot 2.x pickles (its ``Schema`` is pickled attribute by attribute):
        only ``question_answer_pairs`` and ``dependencies`` are read, and checked as for a new schema.

        Raises:
            SchemaError: the state lacks them, or they describe an invalid tree.
        """
        if not isinstance(state, Mapping) or not isinstance(state.get("question_answer_pairs"), Mapping):
            raise SchemaError(
                "Cannot rebuild a Schema from this pickled state: it has no 'question_answer_pairs' dict."
            )
        Schema.__init__(self, state["question_answer_pairs"], state.get("dependencies") or {})

    def _key(self) -> tuple:
        return tuple(
            (q.text, tuple(a.text for a in q.answers), q.asked_after.text if q.asked_after else None)
            for q in self._questions
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Schema):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        names = ", ".join(q.text for q in self._questions[:3])
        more = ", ..." if len(self._questions) > 3 else ""
        return f"Schema({len(self._questions)} questions, {len(self._answers)} answers: {names}{more})"

    # Zoobot 2.x attributes

    @property
    def questions(self) -> tuple[Question, ...]:
        """All questions, in column order."""
        return self._questions

    @property
    def answers(self) -> tuple[Answer, ...]:
        """All answers, in column order (``answers[i].text == label_cols[i]``)."""
        return self._answers

    @property
    def label_cols(self) -> list[str]:
        """The answer columns (vote counts in a catalog), in question order."""
        return [a.text for a in self._answers]

    @property
    def question_answer_pairs(self) -> dict[str, list[str]]:
        """A fresh copy of question name -> answer suffixes."""
        return {q.text: [a.suffix for a in q.answers] for q in self._questions}

    @property
    def dependencies(self) -> dict[str, str | None]:
        """A fresh copy of question name -> the answer column it is asked after (or None)."""
        return {q.text: (q.asked_after.text if q.asked_after is not None else None) for q in self._questions}

    @property
    def question_index_groups(self) -> list[tuple[int, int]]:
        """``(first, last)`` answer indices of each question; ``last`` is inclusive, as in Zoobot 2.x.

        Slice model outputs for question ``i`` with ``outputs[:, first:last + 1]``.
        """
        return [(q.start_index, q.end_index) for q in self._questions]

    @property
    def named_index_groups(self) -> dict[Question, tuple[int, int]]:
        """Each question mapped to its ``(first, last)`` answer indices (inclusive)."""
        return {q: (q.start_index, q.end_index) for q in self._questions}

    def get_question(self, question_text: str) -> Question:
        """The question with this name, e.g. ``'smooth-or-featured-dr5'``.

        Raises:
            SchemaError: no question has that name.
        """
        try:
            return self._question_by_text[question_text]
        except KeyError:
            raise SchemaError(
                f"No question named {question_text!r} in this schema."
                f"{_did_you_mean(question_text, self._question_by_text)}"
            ) from None

    def get_answer(self, answer_text: str) -> Answer:
        """The answer with this column name, e.g. ``'smooth-or-featured-dr5_smooth'``.

        Raises:
            SchemaError: no answer has that column name.
        """
        try:
            return self._answer_by_text[answer_text]
        except KeyError:
            raise SchemaError(
                f"No answer column named {answer_text!r} in this schema."
                f"{_did_you_mean(answer_text, self._answer_by_text)}"
            ) from None

    def joint_p(self, prob_of_answers: np.ndarray, answer_text: str) -> np.ndarray:
        """Probability that a galaxy reaches this answer: P(answer | asked) x P(asked).

        The product of the given fractions along the path from the first question down to
        ``answer_text``. As in Zoobot 2.x, e.g. to ignore predictions for answers that volunteers
        would rarely be asked.

        Args:
            prob_of_answers: shape (galaxies, answers), columns in ``label_cols`` order; each
                entry is the (predicted) fraction of volunteers giving that answer when asked.
            answer_text: answer column, e.g. ``'disk-edge-on-dr5_yes'``.

        Returns:
            Shape (galaxies,).

        Raises:
            SchemaError: wrong shape, or unknown answer.
        """
        probs = self._check_probs(prob_of_answers)
        answer = self.get_answer(answer_text)
        if np.isnan(probs[:, answer.index]).all():
            logger.warning(
                "All fractions for %s (column %d) are NaN; check the labels for this question",
                answer_text,
                answer.index,
            )
        return probs[:, answer.index] * self._prob_reached(probs, answer.question)

    def prob_asked(self, prob_of_answers: np.ndarray, question_text: str) -> np.ndarray:
        """Probability that a question is asked: the ``joint_p`` of the answer that leads to it.

        Args:
            prob_of_answers: shape (galaxies, answers), columns in ``label_cols`` order.
            question_text: question name, e.g. ``'bar-dr5'``.

        Returns:
            Shape (galaxies,); ones for a question that is always asked.

        Raises:
            SchemaError: wrong shape, or unknown question.
        """
        probs = self._check_probs(prob_of_answers)
        return self._prob_reached(probs, self.get_question(question_text))

    def _prob_reached(self, probs: np.ndarray, question: Question) -> np.ndarray:
        reached = np.ones(len(probs), dtype=probs.dtype)
        parent = question.asked_after
        while parent is not None:
            reached = reached * probs[:, parent.index]
            parent = parent.question.asked_after
        return reached

    def _check_probs(self, prob_of_answers: np.ndarray) -> np.ndarray:
        probs = np.asarray(prob_of_answers, dtype=float)
        if probs.ndim != 2 or probs.shape[1] != len(self._answers):
            raise SchemaError(
                f"Expected answer probabilities of shape (galaxies, {len(self._answers)}) for this "
                f"schema, got shape {probs.shape}. Average over models first, and keep the columns "
                "in schema.label_cols order."
            )
        return probs

    # Helpers for the app and the command line

    def validate_columns(self, columns: Iterable[str]) -> list[str]:
        """The answer columns this schema needs that ``columns`` lacks, in schema order.

        Args:
            columns: e.g. the column names of a catalog.

        Returns:
            Missing answer columns; empty when the catalog has them all.
        """
        present = set(columns)
        return [col for col in self.label_cols if col not in present]

    def edges(self) -> list[tuple[str, str]]:
        """``(answer column, next question)`` for every branch of the tree, in question order."""
        return [(q.asked_after.text, q.text) for q in self._questions if q.asked_after is not None]

    # Round trip

    def to_dict(self) -> dict[str, Any]:
        """A plain dict, readable and writable by hand (see :mod:`zoobot.schemas`).

        Answers are written without the question name. A schema whose answer suffixes do not start
        with ``'_'`` cannot be written that way and comes out as the Zoobot-style dict
        ``{'question_answer_pairs': ..., 'dependencies': ...}``. Both load with :meth:`from_dict`.
        """
        return _readable_dict(self)

    @classmethod
    def from_dict(
        cls, d: Mapping[str, Any], max_questions: int = MAX_QUESTIONS, max_answers: int = MAX_ANSWERS
    ) -> Schema:
        """Build a schema from :meth:`to_dict` output, or from a Zoobot-style dict.

        Args:
            d: ``{'questions': [{'name': ..., 'answers': [...], 'asked_after': ...}, ...]}``, or
                ``{'question_answer_pairs': {...}, 'dependencies': {...}}``.
            max_questions: Refuse more questions than this (counted before the tree is built).
            max_answers: Refuse more answers, over all questions, than this.

        Raises:
            SchemaError: the dict has neither form, is over the caps, or describes an invalid tree.
        """
        return cls(*_pairs_from_dict(d, max_questions, max_answers))

    def to_yaml(self) -> str:
        """YAML text in the format described in :mod:`zoobot.schemas`, with a short explanatory header."""
        return _yaml_text(self.to_dict())

    @classmethod
    def from_yaml(cls, text: str, **caps: Unpack[TextCaps]) -> Schema:
        """Build a schema from YAML text (the format is described in :mod:`zoobot.schemas`).

        Unquoted ``yes``/``no``/``on``/``off`` are read as text, not booleans.

        Args:
            text: The YAML.
            **caps: ``max_chars``, ``max_questions``, ``max_answers``
                (:class:`~zoobot.schemas.validation.TextCaps`): refuse longer text before parsing it, more
                questions or answers before building the tree.

        Raises:
            SchemaError: the text is too long, not valid YAML, over the caps, or describes an invalid tree.
        """
        return cls._from_text(text, _parse_yaml, **caps)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return _json_text(self.to_dict())

    @classmethod
    def from_json(cls, text: str, **caps: Unpack[TextCaps]) -> Schema:
        """Build a schema from JSON text written by :meth:`to_json` (or a Zoobot-style dict); the caps are
        :meth:`from_yaml`'s.

        Raises:
            SchemaError: the text is too long, not valid JSON, over the caps, or describes an invalid tree.
        """
        return cls._from_text(text, _parse_json, **caps)

    @classmethod
    def _from_text(
        cls,
        text: str,
        parse: Callable[[str], Any],
        max_chars: int = MAX_SCHEMA_CHARS,
        max_questions: int = MAX_QUESTIONS,
        max_answers: int = MAX_ANSWERS,
    ) -> Schema:
        """Check the text's size, parse it to a dict and build the schema from that."""
        check_schema_size(text, max_chars)
        return cls.from_dict(parse(text), max_questions, max_answers)

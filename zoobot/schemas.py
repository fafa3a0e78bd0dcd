"""Galaxy Zoo decision trees: which questions volunteers answer, and after which answer.

A :class:`Schema` is built exactly as in Zoobot 2.x, from two dicts::

    from zoobot.schemas import Schema

    schema = Schema(
        question_answer_pairs={
            'smooth-or-featured': ['_smooth', '_featured-or-disk', '_artifact'],
            'disk-edge-on': ['_yes', '_no'],
        },
        dependencies={
            'smooth-or-featured': None,  # always asked
            'disk-edge-on': 'smooth-or-featured_featured-or-disk',
        },
    )
    schema.label_cols  # ['smooth-or-featured_smooth', ..., 'disk-edge-on_no']

Each answer column (a catalog column of vote counts) is the question name plus the answer suffix.
A schema is immutable and is checked when it is built; problems raise :class:`SchemaError`.

Custom trees are stored as YAML (the app's tree editor and the ``zoobot`` command read this).
Answers are written without the question name; the catalog column is ``<question>_<answer>``.
``asked_after`` names the answer column that leads to the question; leave it out (or write
``null``) for a question every volunteer is asked. ``yes``/``no`` need no quotes::

    questions:
    - name: smooth-or-featured
      answers: [smooth, featured-or-disk, artifact]
    - name: disk-edge-on
      answers: [yes, no]
      asked_after: smooth-or-featured_featured-or-disk
    - name: spiral-arm-count
      answers: [1, 2, 3, more-than-3]
      asked_after: disk-edge-on_no

Load it with ``Schema.from_yaml(text)``; ``schema.to_yaml()`` writes the same format.
The Zoobot-style dict ``{'question_answer_pairs': ..., 'dependencies': ...}`` is accepted too.
"""

from __future__ import annotations

import difflib
import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml

logger = logging.getLogger(__name__)

_YAML_HEADER = (
    "# Galaxy Zoo decision tree for zoobot.\n"
    "# Each question lists its answers; the catalog column for an answer is <question>_<answer>.\n"
    "# asked_after: the answer column that leads to the question (null: always asked).\n"
)
_QUESTION_KEYS = ('name', 'answers', 'asked_after')


class SchemaError(ValueError):
    """A decision tree (schema) is invalid, or does not match the data it is used with."""


@dataclass(frozen=True, eq=False, repr=False)
class Answer:
    """One answer to a decision-tree question.

    Attributes:
        text: the answer column, e.g. ``'smooth-or-featured-dr5_smooth'``.
        index: position of this column in ``schema.label_cols`` (and in model outputs).
        question: the question this answer belongs to.
        next_questions: every question asked after this answer, in schema order.
    """

    text: str
    index: int
    question: Question
    next_questions: tuple[Question, ...] = field(default=())

    @property
    def next_question(self) -> Question | None:
        """The question asked after this answer, or None.

        Where several questions follow one answer, this is the last of them in schema order,
        as in Zoobot 2.x; use :attr:`next_questions` for all of them.
        """
        return self.next_questions[-1] if self.next_questions else None

    @property
    def suffix(self) -> str:
        """The answer column minus the question name, e.g. ``'_smooth'``."""
        return self.text[len(self.question.text):]

    @property
    def pretty_text(self) -> str:
        """Title-case text for plots, e.g. ``'Smooth Or Featured Dr5 Smooth'``."""
        return self.text.replace('-', ' ').replace('_', ' ').title()

    def __repr__(self) -> str:
        return f"Answer({self.text!r}, index={self.index})"


@dataclass(frozen=True, eq=False, repr=False)
class Question:
    """One decision-tree question.

    Attributes:
        text: the question name, e.g. ``'smooth-or-featured-dr5'``.
        answers: its answers, in column order.
        asked_after: the answer that leads to this question, or None if it is always asked.
    """

    text: str
    answers: tuple[Answer, ...] = field(default=())
    asked_after: Answer | None = None

    @property
    def start_index(self) -> int:
        """Index of this question's first answer in ``schema.label_cols``."""
        return self.answers[0].index

    @property
    def end_index(self) -> int:
        """Index of this question's last answer in ``schema.label_cols`` (inclusive)."""
        return self.answers[-1].index

    @property
    def pretty_text(self) -> str:
        """Title-case text for plots, e.g. ``'Smooth Or Featured Dr5'``."""
        return self.text.replace('-', ' ').replace('_', ' ').title()

    def __repr__(self) -> str:
        parent = self.asked_after.text if self.asked_after is not None else None
        return (
            f"Question({self.text!r}, answers={[a.suffix for a in self.answers]}, "
            f"asked_after={parent!r})"
        )


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

    __slots__ = ('_questions', '_answers', '_question_by_text', '_answer_by_text')

    def __init__(
        self,
        question_answer_pairs: Mapping[str, Sequence[str]],
        dependencies: Mapping[str, str | None],
    ) -> None:
        pairs = _check_pairs(question_answer_pairs)
        parents = _check_dependencies(pairs, dependencies)

        questions = [Question(text=q) for q in pairs]
        answers: list[Answer] = []
        for question, suffixes in zip(questions, pairs.values()):
            own = tuple(
                Answer(text=question.text + s, index=len(answers) + i, question=question)
                for i, s in enumerate(suffixes)
            )
            object.__setattr__(question, 'answers', own)
            answers.extend(own)
        answer_by_text = {a.text: a for a in answers}
        for question in questions:
            parent_text = parents[question.text]
            if parent_text is not None:
                parent = answer_by_text[parent_text]
                object.__setattr__(question, 'asked_after', parent)
                object.__setattr__(parent, 'next_questions', parent.next_questions + (question,))

        object.__setattr__(self, '_questions', tuple(questions))
        object.__setattr__(self, '_answers', tuple(answers))
        object.__setattr__(self, '_question_by_text', {q.text: q for q in questions})
        object.__setattr__(self, '_answer_by_text', answer_by_text)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Schema is immutable; build a new Schema instead of setting {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Schema is immutable; cannot delete {name!r}")

    def __reduce__(self) -> tuple[type[Schema], tuple[dict[str, list[str]], dict[str, str | None]]]:
        return (Schema, (self.question_answer_pairs, self.dependencies))

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
        names = ', '.join(q.text for q in self._questions[:3])
        more = ', ...' if len(self._questions) > 3 else ''
        return (
            f"Schema({len(self._questions)} questions, {len(self._answers)} answers: {names}{more})"
        )

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
        return {
            q.text: (q.asked_after.text if q.asked_after is not None else None)
            for q in self._questions
        }

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
                answer_text, answer.index,
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
        """A plain dict, readable and writable by hand (see the module docstring).

        Answers are written without the question name. A schema whose answer suffixes do not start
        with ``'_'`` cannot be written that way and comes out as the Zoobot-style dict
        ``{'question_answer_pairs': ..., 'dependencies': ...}``. Both load with :meth:`from_dict`.
        """
        questions = []
        for q in self._questions:
            short = [_short_answer(a) for a in q.answers]
            if any(s is None for s in short):
                return {
                    'question_answer_pairs': self.question_answer_pairs,
                    'dependencies': self.dependencies,
                }
            questions.append({
                'name': q.text,
                'answers': short,
                'asked_after': q.asked_after.text if q.asked_after is not None else None,
            })
        return {'questions': questions}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Schema:
        """Build a schema from :meth:`to_dict` output, or from a Zoobot-style dict.

        Args:
            d: ``{'questions': [{'name': ..., 'answers': [...], 'asked_after': ...}, ...]}``, or
                ``{'question_answer_pairs': {...}, 'dependencies': {...}}``.

        Raises:
            SchemaError: the dict has neither form, or describes an invalid tree.
        """
        if not isinstance(d, Mapping):
            raise SchemaError(
                f"A schema must be a mapping with a 'questions' list, got {type(d).__name__}."
            )
        keys = set(d)
        if keys == {'questions'}:
            return cls(*_pairs_from_questions(d['questions']))
        if keys in ({'question_answer_pairs', 'dependencies'}, {'question_answer_pairs'}):
            pairs = d['question_answer_pairs']
            dependencies = d.get('dependencies') or {}
            if not isinstance(pairs, Mapping) or not isinstance(dependencies, Mapping):
                raise SchemaError(
                    "'question_answer_pairs' and 'dependencies' must both be mappings "
                    "(question name -> answer suffixes, question name -> answer column or null)."
                )
            return cls(pairs, dependencies)
        raise SchemaError(
            f"A schema needs a 'questions' list (or Zoobot's 'question_answer_pairs' and "
            f"'dependencies'); found keys {sorted(map(str, keys))}."
        )

    def to_yaml(self) -> str:
        """YAML text in the format of the module docstring, with a short explanatory header."""
        return _YAML_HEADER + yaml.dump(
            _flow_lists(self.to_dict()), Dumper=_Dumper, sort_keys=False, width=100
        )

    @classmethod
    def from_yaml(cls, text: str) -> Schema:
        """Build a schema from YAML text (see the module docstring for the format).

        Unquoted ``yes``/``no``/``on``/``off`` are read as text, not booleans.

        Raises:
            SchemaError: the text is not valid YAML, or describes an invalid tree.
        """
        try:
            data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
        except yaml.YAMLError as err:
            where = ''
            mark = getattr(err, 'problem_mark', None)
            if mark is not None:
                where = f" at line {mark.line + 1}, column {mark.column + 1}"
            problem = getattr(err, 'problem', None) or str(err)
            raise SchemaError(
                f"The schema is not valid YAML{where}: {problem}. Check the indentation: each "
                "question starts with '- name:' and its 'answers' and 'asked_after' line up under "
                "'name'."
            ) from err
        if data is None:
            raise SchemaError("The schema YAML is empty; it needs a 'questions' list.")
        return cls.from_dict(data)

    def to_json(self) -> str:
        """JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> Schema:
        """Build a schema from JSON text written by :meth:`to_json` (or a Zoobot-style dict).

        Raises:
            SchemaError: the text is not valid JSON, or describes an invalid tree.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise SchemaError(
                f"The schema is not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}."
            ) from err
        return cls.from_dict(data)


def _did_you_mean(text: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(text, list(known), n=3)
    return f" Did you mean {', '.join(map(repr, close))}?" if close else ''


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
            raise SchemaError(
                f"Question {question!r} has no answers; give it at least one answer, or remove it."
            )
        for suffix in suffixes:
            if not isinstance(suffix, str) or not suffix:
                raise SchemaError(
                    f"Answer suffixes of question {question!r} must be non-empty text "
                    f"(e.g. '_yes'), got {suffix!r}."
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
            if unknown else ''
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
                    f"The dependency of question {question!r} must be an answer column or None, "
                    f"got {parent!r}."
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
                loop = ' -> '.join(chain[chain.index(question):] + [question])
                raise SchemaError(
                    f"The dependencies form a loop ({loop}, each asked after the one before). "
                    "Every question must trace back to one that is always asked (dependency None)."
                )
            chain.append(question)
            parent = parents[question]


def _answer_column(question: str, answer: str) -> str:
    """The column for an answer written in the readable format (short name, suffix, or column)."""
    if answer.startswith(question + '_'):
        return answer
    if answer.startswith('_'):
        return question + answer
    return f"{question}_{answer}"


def _short_answer(answer: Answer) -> str | None:
    """How to write an answer in the readable format, or None if it cannot be written there."""
    question = answer.question.text
    suffix = answer.suffix
    if not suffix.startswith('_') or len(suffix) < 2:
        return None
    short = suffix[1:]
    return short if _answer_column(question, short) == answer.text else answer.text


def _pairs_from_questions(
    questions: Any,
) -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """Turn the readable ``questions`` list into Zoobot's pairs and dependencies dicts."""
    if not isinstance(questions, list) or not questions:
        raise SchemaError(
            "'questions' must be a non-empty list; each item has a 'name', a list of 'answers', "
            "and optionally 'asked_after'."
        )
    pairs: dict[str, list[str]] = {}
    dependencies: dict[str, str | None] = {}
    for position, item in enumerate(questions, start=1):
        if not isinstance(item, Mapping):
            raise SchemaError(
                f"Question {position} must be a mapping with 'name', 'answers' and optionally "
                f"'asked_after', got {item!r}."
            )
        unknown = [str(k) for k in item if k not in _QUESTION_KEYS]
        name = item.get('name')
        label = f"{name!r}" if isinstance(name, str) else f"number {position}"
        if unknown:
            raise SchemaError(
                f"Question {label} has unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(_QUESTION_KEYS)}."
            )
        if not isinstance(name, str) or not name.strip():
            raise SchemaError(f"Question number {position} needs a 'name' (non-empty text).")
        if name in pairs:
            raise SchemaError(f"Question {name!r} appears twice; question names must be unique.")
        answers = item.get('answers')
        if not isinstance(answers, list):
            raise SchemaError(
                f"Question {name!r} needs 'answers', a list such as [yes, no]; got {answers!r}."
            )
        columns = []
        for answer in answers:
            # YAML reads unquoted 1, 2, 3 as numbers; they are answer names here
            if isinstance(answer, int) and not isinstance(answer, bool):
                answer = str(answer)
            if not isinstance(answer, str) or not answer.strip('_'):
                raise SchemaError(
                    f"Answers of question {name!r} must be text, got {answer!r}. Some YAML "
                    "readers turn unquoted yes/no/on/off into true/false: put quotes around it."
                )
            columns.append(_answer_column(name, answer))
        pairs[name] = [col[len(name):] for col in columns]
        parent = item.get('asked_after')
        if parent is not None and not isinstance(parent, str):
            raise SchemaError(
                f"'asked_after' of question {name!r} must be an answer column such as "
                f"'smooth-or-featured_featured-or-disk', or null; got {parent!r}."
            )
        dependencies[name] = parent
    return pairs, dependencies


class _Loader(yaml.SafeLoader):
    """SafeLoader reading only true/false as booleans, so that answers like yes/no stay text."""

    yaml_implicit_resolvers = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != 'tag:yaml.org,2002:bool']
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    'tag:yaml.org,2002:bool', re.compile(r'^(?:true|True|TRUE|false|False|FALSE)$'), list('tTfF')
)


class _FlowList(list):
    """A list written on one line in YAML, e.g. ``answers: [yes, no]``."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes :class:`_FlowList` values on one line."""


_Dumper.add_representer(
    _FlowList, lambda dumper, data: dumper.represent_sequence(
        'tag:yaml.org,2002:seq', data, flow_style=True
    )
)


def _flow_lists(d: dict[str, Any]) -> dict[str, Any]:
    """Mark answer lists so the YAML shows each on one line."""
    if 'questions' in d:
        return {'questions': [{**q, 'answers': _FlowList(q['answers'])} for q in d['questions']]}
    return {
        'question_answer_pairs': {
            q: _FlowList(suffixes) for q, suffixes in d['question_answer_pairs'].items()
        },
        'dependencies': d['dependencies'],
    }

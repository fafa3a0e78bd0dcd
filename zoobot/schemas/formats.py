"""Schemas as text: the readable dict, YAML and JSON behind :meth:`Schema.to_dict` and friends.

The readable format lists each question with its answers written without the question name (the
catalog column is ``<question>_<answer>``) and the answer column it is ``asked_after``; the
Zoobot-style dict ``{'question_answer_pairs': ..., 'dependencies': ...}`` is read too. The format is
described, with an example, in :mod:`zoobot.schemas`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import yaml

from zoobot.schemas.validation import MAX_ANSWERS, MAX_QUESTIONS, SchemaError, check_schema_counts

if TYPE_CHECKING:
    from zoobot.schemas.schema import Answer, Schema

_YAML_HEADER = (
    "# Galaxy Zoo decision tree for zoobot.\n"
    "# Each question lists its answers; the catalog column for an answer is <question>_<answer>.\n"
    "# asked_after: the answer column that leads to the question (null: always asked).\n"
)
_QUESTION_KEYS = ("name", "answers", "asked_after")
_QUESTION_KEYS = ("name", "answers", "asked_after")


def _readable_dict(schema: Schema) -> dict[str, Any]:
    """The body of :meth:`Schema.to_dict`: the readable ``questions`` list, or Zoobot's two dicts."""
    questions = []
    for q in schema.questions:
        short = [_short_answer(a) for a in q.answers]
        if any(s is None for s in short):
            return {
                "question_answer_pairs": schema.question_answer_pairs,
                "dependencies": schema.dependencies,
            }
        questions.append(
            {
                "name": q.text,
                "answers": short,
                "asked_after": q.asked_after.text if q.asked_after is not None else None,
            }
        )
    return {"questions": questions}


def _pairs_from_dict(
    d: Mapping[str, Any],
    max_questions: int = MAX_QUESTIONS,
    max_answers: int = MAX_ANSWERS,
) -> tuple[Mapping[str, Sequence[str]], Mapping[str, str | None]]:
    """The pairs and dependencies a dict in either form describes (see :meth:`Schema.from_dict`), after
    checking the number of questions and answers against the caps."""
    if not isinstance(d, Mapping):
        raise SchemaError(f"A schema must be a mapping with a 'questions' list, got {type(d).__name__}.")
    keys = set(d)
    if keys == {"questions"}:
        questions = d["questions"]
        if isinstance(questions, list):
            check_schema_counts(
                len(questions),
                sum(
                    len(q.get("answers") or ())
                    for q in questions
                    if isinstance(q, Mapping) and isinstance(q.get("answers"), list)
                ),
                max_questions,
                max_answers,
            )
        return _pairs_from_questions(questions)
    if keys in ({"question_answer_pairs", "dependencies"}, {"question_answer_pairs"}):
        pairs = d["question_answer_pairs"]
        dependencies = d.get("dependencies") or {}
        if not isinstance(pairs, Mapping) or not isinstance(dependencies, Mapping):
            raise SchemaError(
                "'question_answer_pairs' and 'dependencies' must both be mappings "
                "(question name -> answer suffixes, question name -> answer column or null)."
            )
        check_schema_counts(
            len(pairs), sum(len(a) for a in pairs.values() if isinstance(a, list)), max_questions, max_answers
        )
        return pairs, dependencies
    raise SchemaError(
        f"A schema needs a 'questions' list (or Zoobot's 'question_answer_pairs' and "
        f"'dependencies'); found keys {sorted(map(str, keys))}."
    )


def _yaml_text(d: dict[str, Any]) -> str:
    """YAML text of a :meth:`Schema.to_dict` dict, after a short explanatory header."""
    return _YAML_HEADER + yaml.dump(_flow_lists(d), Dumper=_Dumper, sort_keys=False, width=100)


def _parse_yaml(text: str) -> Any:
    """The data in schema YAML text; yes/no/on/off stay text.

    Raises:
        SchemaError: the text is not valid YAML (the message says where), or is empty.
    """
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except yaml.YAMLError as err:
        where = ""
        mark = getattr(err, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(err, "problem", None) or str(err)
        raise SchemaError(
            f"The schema is not valid YAML{where}: {problem}. Check the indentation: each "
            "question starts with '- name:' and its 'answers' and 'asked_after' line up under "
            "'name'."
        ) from err
    if data is None:
        raise SchemaError("The schema YAML is empty; it needs a 'questions' list.")
    return data


def _json_text(d: dict[str, Any]) -> str:
    """JSON text of a :meth:`Schema.to_dict` dict."""
    return json.dumps(d, indent=2)


def _parse_json(text: str) -> Any:
    """The data in schema JSON text.

    Raises:
        SchemaError: the text is not valid JSON (the message says where).
    """
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise SchemaError(f"The schema is not valid JSON at line {err.lineno}, column {err.colno}: {err.msg}.") from err


def _answer_column(question: str, answer: str) -> str:
    """The column for an answer written in the readable format (short name, suffix, or column)."""
    if answer.startswith(question + "_"):
        return answer
    if answer.startswith("_"):
        return question + answer
    return f"{question}_{answer}"


def _short_answer(answer: Answer) -> str | None:
    """How to write an answer in the readable format, or None if it cannot be written there."""
    question = answer.question.text
    suffix = answer.suffix
    if not suffix.startswith("_") or len(suffix) < 2:
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
        name = item.get("name")
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
        answers = item.get("answers")
        if not isinstance(answers, list):
            raise SchemaError(f"Question {name!r} needs 'answers', a list such as [yes, no]; got {answers!r}.")
        columns = []
        for answer in answers:
            # YAML reads unquoted 1, 2, 3 as numbers; they are answer names here
            if isinstance(answer, int) and not isinstance(answer, bool):
                answer = str(answer)
            if not isinstance(answer, str) or not answer.strip("_"):
                raise SchemaError(
                    f"Answers of question {name!r} must be text, got {answer!r}. Some YAML "
                    "readers turn unquoted yes/no/on/off into true/false: put quotes around it."
                )
            columns.append(_answer_column(name, answer))
        pairs[name] = [col[len(name) :] for col in columns]
        parent = item.get("asked_after")
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
        first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _FlowList(list):
    """A list written on one line in YAML, e.g. ``answers: [yes, no]``."""


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes :class:`_FlowList` values on one line."""


_Dumper.add_representer(
    _FlowList, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=True)
)


def _flow_lists(d: dict[str, Any]) -> dict[str, Any]:
    """Mark answer lists so the YAML shows each on one line."""
    if "questions" in d:
        return {"questions": [{**q, "answers": _FlowList(q["answers"])} for q in d["questions"]]}
    return {
        "question_answer_pairs": {q: _FlowList(suffixes) for q, suffixes in d["question_answer_pairs"].items()},
        "dependencies": d["dependencies"],
    }

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

Four modules: :mod:`~zoobot.schemas.schema` (the tree), :mod:`~zoobot.schemas.questions` (its
questions and answers), :mod:`~zoobot.schemas.validation` (the rules a tree obeys, and
:class:`SchemaError`) and :mod:`~zoobot.schemas.formats` (dict, YAML, JSON).
"""

from __future__ import annotations

from zoobot.schemas.schema import Answer, Question, Schema
from zoobot.schemas.validation import MAX_ANSWERS, MAX_QUESTIONS, MAX_SCHEMA_CHARS, SchemaError

__all__ = ["Answer", "Question", "Schema", "SchemaError", "MAX_ANSWERS", "MAX_QUESTIONS", "MAX_SCHEMA_CHARS"]

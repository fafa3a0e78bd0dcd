"""The parts of a decision tree: :class:`Answer` and :class:`Question`, as :class:`~zoobot.schemas.Schema` links them.

Both are frozen; a :class:`~zoobot.schemas.Schema` builds them and sets their links (an answer's
``next_questions``, a question's ``answers`` and ``asked_after``) once, when it is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Answer", "Question"]


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
        return self.text[len(self.question.text) :]

    @property
    def short_text(self) -> str:
        """The answer's own name, without its question's: ``'smooth'`` for ``'smooth-or-featured-dr5_smooth'``
        (the whole column name where it does not start with the question's, or nothing would be left)."""
        if not self.text.startswith(self.question.text):
            return self.text
        return self.text[len(self.question.text) :].lstrip("_-") or self.text

    @property
    def pretty_text(self) -> str:
        """Title-case text for plots, e.g. ``'Smooth Or Featured Dr5 Smooth'``."""
        return self.text.replace("-", " ").replace("_", " ").title()

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
        return self.text.replace("-", " ").replace("_", " ").title()

    def __repr__(self) -> str:
        parent = self.asked_after.text if self.asked_after is not None else None
        return f"Question({self.text!r}, answers={[a.suffix for a in self.answers]}, asked_after={parent!r})"

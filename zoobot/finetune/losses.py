"""Zoobot 2.x's loss functions, with Zoobot's signatures, over this package's :mod:`zoobot.losses`.

For scripts that call them directly. Re-exported where Zoobot had them: :mod:`zoobot.pytorch.training.losses`,
:mod:`zoobot.pytorch.training.finetune` and :mod:`zoobot.pytorch.estimators.define_model`. Where Zoobot 2.0 and 2.9
differ, both spellings work:

- :func:`get_dirichlet_neg_log_prob`: 2.9's ``(concentrations_for_q, labels_for_q)`` and 2.0's
  ``(labels_for_q, total_count, concentrations_for_q)``, told apart by the number of arguments (or by keyword).
- :class:`CustomMultiQuestionLoss` is 2.9's (answers found by name from ``question_answer_pairs``; targets a dict of
  columns or a ``(B, answers)`` tensor). This package's own class of that name, in :mod:`zoobot.losses`, takes
  ``question_index_groups``.
- ``dirichlet_loss`` meant three things in 2.0: per question in ``losses`` (:func:`question_dirichlet_loss`), a
  scalar in ``finetune`` (:func:`dirichlet_loss`), per galaxy and question in ``define_model``
  (:func:`multiquestion_dirichlet_loss`); each module gets its own.

Deliberate difference: ``careful=True`` (2.0's default in :func:`calculate_multiquestion_loss`) replaced NaN or
infinite predictions by 1 with a log message; here they raise ``ValueError`` (a NaN prediction is a training
failure to look at, not to hide).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoobot import losses as _losses

__all__ = [
    "cross_entropy_loss",
    "mse_loss",
    "l1_loss",
    "dirichlet_loss",
    "question_dirichlet_loss",
    "multiquestion_dirichlet_loss",
    "calculate_multiquestion_loss",
    "get_dirichlet_neg_log_prob",
    "log_prob",
    "CustomMultiQuestionLoss",
    "get_dirichlet_loss_func",
]


def cross_entropy_loss(
    y_pred: torch.Tensor, y: torch.Tensor, label_smoothing: float = 0.0, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy per galaxy (no reduction): logits ``(B, classes)``, class indices ``(B,)`` -> ``(B,)``."""
    weight = weight.to(y.device) if weight is not None else None
    return F.cross_entropy(y_pred, y.long(), label_smoothing=label_smoothing, weight=weight, reduction="none")


def mse_loss(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Squared error per value (no reduction)."""
    return F.mse_loss(y_pred, y, reduction="none")


def l1_loss(y_pred: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Absolute error per value (no reduction)."""
    return F.l1_loss(y_pred, y, reduction="none")


def log_prob(alpha: torch.Tensor, value: torch.Tensor) -> torch.Tensor:
    """Dirichlet-multinomial log-probability of counts ``value`` ``(B, answers)`` under concentrations ``alpha``:
    ``(B,)`` (Zoobot 2.9's pyro-free formula, multinomial coefficient included)."""
    return -_losses.dirichlet_multinomial_nll(alpha, value)


def get_dirichlet_neg_log_prob(*args: torch.Tensor, **kwargs: torch.Tensor) -> torch.Tensor:
    """Dirichlet-multinomial negative log-likelihood of one question's vote counts: ``(B,)``.

    Zoobot 2.9 order ``(concentrations_for_q, labels_for_q)``; Zoobot 2.0 order ``(labels_for_q, total_count,
    concentrations_for_q)`` (three arguments; ``total_count`` must be the row sums of ``labels_for_q``). Keywords
    ``concentrations_for_q``, ``labels_for_q`` and ``total_count`` work in either.

    Raises:
        TypeError: neither form.
        ValueError: a ``total_count`` that is not the row sums of the labels.
    """
    names = (
        ("labels_for_q", "total_count", "concentrations_for_q")
        if len(args) == 3
        else ("concentrations_for_q", "labels_for_q")
    )
    if len(args) > len(names) or set(kwargs) - {"concentrations_for_q", "labels_for_q", "total_count"}:
        raise TypeError(
            "get_dirichlet_neg_log_prob takes (concentrations_for_q, labels_for_q) or Zoobot 2.0's "
            "(labels_for_q, total_count, concentrations_for_q)."
        )
    given = dict(zip(names, args, strict=False)) | kwargs
    if "concentrations_for_q" not in given or "labels_for_q" not in given:
        raise TypeError("get_dirichlet_neg_log_prob needs concentrations_for_q and labels_for_q.")
    labels = given["labels_for_q"]
    total = given.get("total_count")
    if total is not None and not torch.equal(torch.as_tensor(total).to(labels.dtype), labels.sum(dim=-1)):
        raise ValueError("total_count must be the number of votes of each galaxy (labels_for_q.sum(dim=1)).")
    return _losses.dirichlet_multinomial_nll(given["concentrations_for_q"], labels)


def question_dirichlet_loss(labels_for_q: torch.Tensor, concentrations_for_q: torch.Tensor) -> torch.Tensor:
    """Zoobot 2.0's ``losses.dirichlet_loss``: one question's negative log-likelihood per galaxy, ``(B,)``."""
    return _losses.dirichlet_multinomial_nll(concentrations_for_q, labels_for_q)


def _check_finite(predictions: torch.Tensor) -> None:
    if not bool(torch.isfinite(predictions).all()):
        raise ValueError(
            "The predicted concentrations contain NaN or infinite values; training has diverged (lower "
            "the learning rate). Zoobot 2.0's careful=True replaced them by 1; they are refused here."
        )


def calculate_multiquestion_loss(
    labels: torch.Tensor,
    predictions: torch.Tensor,
    question_index_groups: _losses.QuestionIndexGroups,
    careful: bool = True,
) -> torch.Tensor:
    """Zoobot 2.0's decision-tree loss: ``(B, questions)`` negative log-likelihoods.

    Args:
        labels: vote counts ``(B, answers)``.
        predictions: concentrations ``(B, answers)``.
        question_index_groups: ``(first, last)`` answer index of each question, ``last`` inclusive.
        careful: check the predictions are finite (raising ``ValueError``, not replacing them as 2.0 did).
    """
    if careful:
        _check_finite(predictions)
    return _losses.calculate_multiquestion_loss(labels, predictions, question_index_groups)


def multiquestion_dirichlet_loss(
    preds: torch.Tensor,
    labels: torch.Tensor,
    question_index_groups: _losses.QuestionIndexGroups,
    sum_over_questions: bool = False,
) -> torch.Tensor:
    """Zoobot 2.0's ``define_model.dirichlet_loss``: ``(B, questions)``, or ``(B,)`` summed over questions."""
    loss = calculate_multiquestion_loss(labels, preds, question_index_groups, careful=False)
    return loss.sum(dim=1) if sum_over_questions else loss


def dirichlet_loss(
    y_pred: torch.Tensor, y: torch.Tensor, question_index_groups: _losses.QuestionIndexGroups
) -> torch.Tensor:
    """Zoobot 2.0's ``finetune.dirichlet_loss``: the mean over galaxies of the loss summed over questions (scalar)."""
    return multiquestion_dirichlet_loss(y_pred, y, question_index_groups, sum_over_questions=True).mean()


class CustomMultiQuestionLoss(nn.Module):
    """Zoobot 2.9's decision-tree loss: ``question_functional_loss`` per question, answers found by name.

    Args:
        question_answer_pairs: question -> answer suffixes; answer columns are ``question + suffix``.
        question_functional_loss: ``f(concentrations_for_q, labels_for_q) -> (B,)``, e.g.
            :func:`get_dirichlet_neg_log_prob`.
        careful: deprecated in Zoobot 2.9 too; must be False.
        sum_over_questions: ``forward`` returns ``(B,)`` summed over questions instead of ``(B, questions)``.

    Raises:
        ValueError: ``careful=True``.
    """

    def __init__(
        self,
        question_answer_pairs: Mapping[str, Sequence[str]],
        question_functional_loss: Callable[..., torch.Tensor] = get_dirichlet_neg_log_prob,
        careful: bool = False,
        sum_over_questions: bool = False,
    ) -> None:
        super().__init__()
        if careful:
            raise ValueError("careful=True is deprecated (in Zoobot 2.9 too) and not supported; leave it out.")
        self.question_answer_pairs = {q: list(a) for q, a in question_answer_pairs.items()}
        self.question_functional_loss = question_functional_loss
        self.answer_keys = [q + a for q, answers in self.question_answer_pairs.items() for a in answers]
        self.careful = careful
        self.sum_over_questions = sum_over_questions

    def forward(self, inputs: torch.Tensor, targets: Mapping[str, torch.Tensor] | torch.Tensor) -> torch.Tensor:
        """Loss per galaxy and question.

        Args:
            inputs: concentrations ``(B, answers)`` in ``answer_keys`` order.
            targets: vote counts: a dict of answer column -> ``(B,)`` (galaxy-datasets' batches), or ``(B, answers)``.

        Returns:
            ``(B, questions)``, or ``(B,)`` with ``sum_over_questions``.
        """
        losses = []
        for question, answers in self.question_answer_pairs.items():
            keys = [question + answer for answer in answers]
            indices = [self.answer_keys.index(key) for key in keys]
            if isinstance(targets, Mapping):
                counts = torch.stack([torch.as_tensor(targets[key]) for key in keys], dim=1)
            else:
                counts = targets[:, indices]
            losses.append(self.question_functional_loss(inputs[:, indices], counts))
        total = torch.stack(losses, dim=1)
        return total.sum(dim=1) if self.sum_over_questions else total


def get_dirichlet_loss_func(question_answer_pairs: Any) -> Callable[[torch.Tensor, Any], torch.Tensor]:
    """The tree loss ``f(predictions, targets) -> (B, questions)`` (Zoobot's ``define_model`` helper).

    Args:
        question_answer_pairs: Zoobot 2.9's pairs dict; or, as in Zoobot 2.0, ``question_index_groups``.
    """
    if isinstance(question_answer_pairs, Mapping):
        return CustomMultiQuestionLoss(question_answer_pairs, get_dirichlet_neg_log_prob).forward
    groups = [tuple(g) for g in question_answer_pairs]
    return lambda preds, labels: multiquestion_dirichlet_loss(preds, labels, groups)

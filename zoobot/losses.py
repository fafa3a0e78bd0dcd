"""Dirichlet-multinomial loss for Galaxy Zoo vote counts, and what to read off predicted concentrations.

A tree head predicts, for every answer, a Dirichlet concentration in (1, 101). For one question with
answers ``i`` the probability of observing vote counts ``n_i`` (total ``N``) is the Dirichlet-multinomial

    P(n | a) = N! Gamma(A) / Gamma(N + A) * prod_i Gamma(n_i + a_i) / (n_i! Gamma(a_i)),   A = sum_i a_i

written here with ``torch.lgamma`` (no pyro). Questions are treated as independent given the image, so
the loss of a galaxy is the sum over questions. ``question_index_groups`` are ``(start, end)`` answer
index pairs with ``end`` inclusive, as in Zoobot 2.x.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

if TYPE_CHECKING:
    from zoobot.schemas import Schema

__all__ = [
    "VoteCountError",
    "dirichlet_multinomial_nll",
    "get_dirichlet_neg_log_prob",
    "calculate_multiquestion_loss",
    "CustomMultiQuestionLoss",
    "expected_vote_fractions",
    "vote_fraction_intervals",
    "prob_question_asked",
]

QuestionIndexGroups = Sequence[tuple[int, int]]


class VoteCountError(ValueError):
    """Vote counts that would silently corrupt the loss (NaN, infinite or negative)."""


def _check_counts(counts: torch.Tensor) -> None:
    # One combined reduction, so checking costs a single device sync per batch.
    bad = ~torch.isfinite(counts) | (counts < 0)
    if bool(bad.any()):
        rows = torch.nonzero(bad.any(dim=-1)).flatten()[:5].tolist()
        has_nan = bool(torch.isnan(counts).any())
        what = "NaN (missing)" if has_nan else "negative or infinite"
        raise VoteCountError(
            f"Vote counts contain {what} values (batch rows {rows}, ...). The loss needs every answer's "
            "vote count as a number >= 0. Write 0 for answers that received no votes (including "
            "questions nobody was asked), or drop those galaxies; zoobot.catalog.validate_catalog "
            "finds and fixes these rows."
        )


def dirichlet_multinomial_nll(concentrations: torch.Tensor, counts: torch.Tensor) -> torch.Tensor:
    """Negative log-likelihood of the vote counts of one question under a Dirichlet-multinomial.

    Computed in float64 so that counts up to ~10,000 keep full precision; returned in the dtype of
    ``concentrations``. A galaxy whose counts are all zero (the question was never asked) gets exactly
    zero loss and zero gradient.

    Args:
        concentrations: ``(B, n_answers)`` Dirichlet concentrations, all > 0.
        counts: ``(B, n_answers)`` vote counts, all >= 0 (integers in practice).

    Returns:
        ``(B,)`` negative log-probability per galaxy.

    Raises:
        VoteCountError: if any count is NaN, infinite or negative.
        ValueError: if the shapes differ.
    """
    if concentrations.shape != counts.shape:
        raise ValueError(
            f"Concentrations have shape {tuple(concentrations.shape)} but vote counts have shape "
            f"{tuple(counts.shape)}; the head must output one concentration per answer column."
        )
    _check_counts(counts)
    out_dtype = concentrations.dtype if concentrations.is_floating_point() else torch.get_default_dtype()
    alpha = concentrations.to(torch.float64)
    n = counts.to(device=alpha.device, dtype=torch.float64)
    total_alpha = alpha.sum(dim=-1)
    total_n = n.sum(dim=-1)
    log_prob = (
        torch.lgamma(total_n + 1)
        + torch.lgamma(total_alpha)
        - torch.lgamma(total_n + total_alpha)
        + (torch.lgamma(n + alpha) - torch.lgamma(alpha) - torch.lgamma(n + 1)).sum(dim=-1)
    )
    # Mathematically zero already when total_n == 0; the mask makes it exact (no rounding residue).
    nll = torch.where(total_n > 0, -log_prob, torch.zeros_like(log_prob))
    return nll.to(out_dtype)


def get_dirichlet_neg_log_prob(concentrations_for_q: torch.Tensor, labels_for_q: torch.Tensor) -> torch.Tensor:
    """Zoobot 2.x name: per-galaxy Dirichlet-multinomial NLL of one question.

    Args:
        concentrations_for_q: ``(B, n_answers)`` predicted concentrations.
        labels_for_q: ``(B, n_answers)`` observed vote counts.

    Returns:
        ``(B,)`` negative log-probability per galaxy.
    """
    return dirichlet_multinomial_nll(concentrations_for_q, labels_for_q)


def _check_groups(question_index_groups: QuestionIndexGroups, n_answers: int) -> None:
    for start, end in question_index_groups:
        if not 0 <= start <= end < n_answers:
            raise ValueError(
                f"Question index group ({start}, {end}) does not fit {n_answers} answer columns "
                "(groups are (start, end) with end inclusive). Check the schema matches the label columns."
            )


def calculate_multiquestion_loss(
    labels: torch.Tensor,
    predictions: torch.Tensor,
    question_index_groups: QuestionIndexGroups,
    question_functional_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = dirichlet_multinomial_nll,
) -> torch.Tensor:
    """Per-question loss for every galaxy (Zoobot 2.x name and argument order).

    Args:
        labels: ``(B, n_answers)`` vote counts.
        predictions: ``(B, n_answers)`` concentrations.
        question_index_groups: ``(start, end)`` answer indices per question, ``end`` inclusive.
        question_functional_loss: ``f(concentrations, counts) -> (B,)``; the Dirichlet-multinomial NLL.

    Returns:
        ``(B, n_questions)`` loss of each question for each galaxy.
    """
    _check_groups(question_index_groups, predictions.shape[-1])
    q_losses = [
        question_functional_loss(predictions[:, start : end + 1], labels[:, start : end + 1])
        for start, end in question_index_groups
    ]
    return torch.stack(q_losses, dim=1)


class CustomMultiQuestionLoss(nn.Module):
    """Decision-tree loss: Dirichlet-multinomial NLL summed over questions (Zoobot 2.x name).

    Args:
        question_index_groups: ``(start, end)`` answer indices per question, ``end`` inclusive
            (``schema.question_index_groups``).
        sum_over_questions: if True, ``forward`` returns ``(B,)`` (sum over questions); else ``(B, n_questions)``.
    """

    def __init__(self, question_index_groups: QuestionIndexGroups, sum_over_questions: bool = True) -> None:
        super().__init__()
        if len(question_index_groups) == 0:
            raise ValueError("The loss needs at least one question; question_index_groups is empty.")
        self.question_index_groups = [(int(s), int(e)) for s, e in question_index_groups]
        self.sum_over_questions = sum_over_questions

    def forward(self, predictions: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Loss per galaxy.

        Args:
            predictions: ``(B, n_answers)`` concentrations.
            labels: ``(B, n_answers)`` vote counts.

        Returns:
            ``(B,)`` if ``sum_over_questions`` else ``(B, n_questions)``.
        """
        per_question = calculate_multiquestion_loss(labels, predictions, self.question_index_groups)
        return per_question.sum(dim=1) if self.sum_over_questions else per_question


def expected_vote_fractions(concentrations: torch.Tensor, question_index_groups: QuestionIndexGroups) -> torch.Tensor:
    """Expected vote fraction of every answer: the Dirichlet mean within its question.

    Args:
        concentrations: ``(B, n_answers)`` predicted concentrations.
        question_index_groups: ``(start, end)`` per question, ``end`` inclusive.

    Returns:
        ``(B, n_answers)`` fractions; each question's answers sum to 1.
    """
    _check_groups(question_index_groups, concentrations.shape[-1])
    fractions = torch.empty_like(concentrations)
    for start, end in question_index_groups:
        q = concentrations[:, start : end + 1]
        fractions[:, start : end + 1] = q / q.sum(dim=1, keepdim=True)
    return fractions


def vote_fraction_intervals(
    concentrations: torch.Tensor,
    question_index_groups: QuestionIndexGroups,
    interval: float = 0.9,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Central credible interval of each answer's vote fraction.

    The marginal of one answer ``i`` of a Dirichlet is ``Beta(a_i, A - a_i)``; the interval is its
    ``(1 - interval) / 2`` and ``(1 + interval) / 2`` quantiles.

    Args:
        concentrations: ``(B, n_answers)`` predicted concentrations.
        question_index_groups: ``(start, end)`` per question, ``end`` inclusive.
        interval: probability mass inside the interval, in (0, 1).

    Returns:
        ``(low, high)``, each ``(B, n_answers)``, on the device and dtype of ``concentrations``.
    """
    if not 0 < interval < 1:
        raise ValueError(f"interval must be between 0 and 1 (e.g. 0.9 for 90%), got {interval}.")
    from scipy.special import betaincinv  # torch.distributions.Beta has no icdf

    _check_groups(question_index_groups, concentrations.shape[-1])
    alpha = concentrations.detach().to("cpu", torch.float64).numpy()
    beta = np.empty_like(alpha)
    for start, end in question_index_groups:
        q = alpha[:, start : end + 1]
        beta[:, start : end + 1] = q.sum(axis=1, keepdims=True) - q
    tail = (1.0 - interval) / 2
    low = betaincinv(alpha, beta, tail)
    high = betaincinv(alpha, beta, 1.0 - tail)
    device, dtype = concentrations.device, concentrations.dtype
    return torch.as_tensor(low, dtype=dtype, device=device), torch.as_tensor(high, dtype=dtype, device=device)


def prob_question_asked(expected_fractions: torch.Tensor, schema: Schema) -> torch.Tensor:
    """Probability that a volunteer is asked each question: the product of the expected fractions of
    the answers leading to it (1 for root questions).

    Args:
        expected_fractions: ``(B, n_answers)`` vote fractions in ``schema.label_cols`` order.
        schema: the decision tree (``zoobot.schemas.Schema``).

    Returns:
        ``(B, n_questions)`` probabilities in schema question order.
    """
    # Find a parent answer's question through the index groups, so only Answer.index is relied on.
    owner = {
        answer_index: q_pos
        for q_pos, (start, end) in enumerate(schema.question_index_groups)
        for answer_index in range(start, end + 1)
    }
    questions = list(schema.questions)
    cache: dict[int, torch.Tensor] = {}

    def asked(q_pos: int) -> torch.Tensor:
        if q_pos not in cache:
            parent = questions[q_pos].asked_after
            if parent is None:
                cache[q_pos] = torch.ones_like(expected_fractions[:, 0])
            else:
                cache[q_pos] = expected_fractions[:, parent.index] * asked(owner[parent.index])
        return cache[q_pos]

    return torch.stack([asked(q_pos) for q_pos in range(len(questions))], dim=1)

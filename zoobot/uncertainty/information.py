"""Entropy and mutual information of a model's predictions over Monte Carlo passes.

For a classifier the outcome is the class; for a vote-count tree it is how ``N`` volunteers split
their votes over a question's answers, which follows a Dirichlet-multinomial for each pass (as in
Walmsley et al. 2020, who scored galaxies by the mutual information between the ``N``-volunteer vote
counts and the model's dropout weights). With ``S`` passes ``w_s``:

- predictive entropy ``H[ mean_s p(y | w_s) ]``: how uncertain the prediction is, for any reason;
- mutual information ``H[ mean_s p(y | w_s) ] - mean_s H[ p(y | w_s) ]``: the part of it that comes from
  the model's own uncertainty (the passes disagree), which a label would reduce (BALD).

Entropies are in nats.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from itertools import combinations
from typing import Any

import numpy as np

from zoobot.uncertainty.intervals import as_passes

__all__ = ["bernoulli_information", "categorical_information", "dirichlet_multinomial_information", "vote_split_count"]

QuestionIndexGroups = Sequence[tuple[int, int]]
_CHUNK_ELEMENTS = 4_000_000


def categorical_information(probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    """Predictive entropy and mutual information of class probabilities.

    Args:
        probabilities: ``(B, C)`` one pass or ``(S, B, C)`` passes; each row sums to 1.

    Returns:
        ``(entropy, mutual_information)``, each ``(B,)``, in nats (mutual information is 0 for one pass).
    """
    p = as_passes(probabilities)
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(p > 0, p * np.log(p), 0.0)
        mean = p.mean(axis=0)
        entropy = -np.where(mean > 0, mean * np.log(mean), 0.0).sum(axis=-1)
    expected = -plogp.sum(axis=-1).mean(axis=0)
    return entropy, np.maximum(entropy - expected, 0.0)


def bernoulli_information(probabilities: Any) -> tuple[np.ndarray, np.ndarray]:
    """Predictive entropy and mutual information of independent yes/no labels (a multi-label classifier's
    sigmoid outputs, which need not sum to 1): each label's, as a two-class outcome, summed over the labels.

    Args:
        probabilities: ``(B, L)`` one pass or ``(S, B, L)`` passes: the chance of each label being 1.

    Returns:
        ``(entropy, mutual_information)``, each ``(B,)``, in nats.
    """
    p = as_passes(probabilities)
    n_passes, n_galaxies, n_labels = p.shape
    pairs = np.stack([p, 1.0 - p], axis=-1).reshape(n_passes, n_galaxies * n_labels, 2)
    entropy, information = categorical_information(pairs)
    return entropy.reshape(n_galaxies, n_labels).sum(axis=1), information.reshape(n_galaxies, n_labels).sum(axis=1)


def vote_split_count(n_volunteers: int, n_answers: int) -> int:
    """How many ways ``n_volunteers`` votes can split over ``n_answers`` answers: ``C(N + A - 1, A - 1)``."""
    from math import comb

    return comb(n_volunteers + n_answers - 1, n_answers - 1)


@cache
def _vote_splits(n: int, n_answers: int) -> tuple[np.ndarray, np.ndarray]:
    """Every split of ``n`` votes over ``n_answers`` answers ``(O, n_answers)`` and its log multinomial
    coefficient ``(O,)`` (stars and bars)."""
    from scipy.special import gammaln

    splits = []
    for bars in combinations(range(n + n_answers - 1), n_answers - 1):
        edges = (-1, *bars, n + n_answers - 1)
        splits.append([edges[i + 1] - edges[i] - 1 for i in range(n_answers)])
    counts = np.array(splits, dtype=np.int64).reshape(-1, n_answers)
    log_coef = gammaln(n + 1) - gammaln(counts + 1).sum(axis=1)
    return counts, log_coef


def _log_pmf(tables: np.ndarray, base: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Dirichlet-multinomial log-probabilities without the multinomial coefficient.

    Args:
        tables: ``(S, B, A, N + 1)`` ``lgamma(k + a)``.
        base: ``(S, B)`` ``lgamma(sum a) - lgamma(N + sum a) - sum lgamma(a)``.
        counts: ``(O, A)`` shared vote splits, or ``(B, O, A)`` per galaxy.

    Returns:
        ``(S, B, O)``.
    """
    s, b, a, _ = tables.shape
    total = np.broadcast_to(base[:, :, None], (s, b, counts.shape[-2])).copy()
    rows = np.arange(b)[:, None]
    for i in range(a):
        if counts.ndim == 2:
            total += tables[:, :, i, counts[:, i]]
        else:
            total += tables[:, rows, i, counts[:, :, i]]
    return total


def _question_information(
    alpha: np.ndarray, n: int, max_outcomes: int, n_draws: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Entropy and mutual information of ``n`` votes over one question: ``alpha`` ``(S, B, A)``."""
    from scipy.special import gammaln, logsumexp

    s, b, a = alpha.shape
    total_alpha = alpha.sum(axis=-1)
    base = gammaln(total_alpha) - gammaln(n + total_alpha) - gammaln(alpha).sum(axis=-1)
    tables = gammaln(np.arange(n + 1)[None, None, None, :] + alpha[..., None])
    if vote_split_count(n, a) <= max_outcomes:
        counts, log_coef = _vote_splits(n, a)
        log_p = _log_pmf(tables, base, counts) + log_coef  # (S, B, O)
        p = np.exp(log_p)
        mean = p.mean(axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(mean > 0, mean * np.log(mean), 0.0).sum(axis=-1)
            expected = -np.where(p > 0, p * log_p, 0.0).sum(axis=-1).mean(axis=0)
        return entropy, np.maximum(entropy - expected, 0.0)
    # Too many vote splits to list: draw them from the mixture, the same number from every pass.
    per_pass = max(1, n_draws // s)
    draws = np.empty((b, s * per_pass, a), dtype=np.int64)
    for k in range(s):
        shares = _dirichlet(rng, alpha[k], per_pass)
        draws[:, k * per_pass : (k + 1) * per_pass] = _multinomial(rng, n, shares)
    log_coef = gammaln(n + 1) - gammaln(draws + 1).sum(axis=-1)  # (B, M)
    log_p = _log_pmf(tables, base, draws) + log_coef[None]  # (S, B, M)
    log_mean = logsumexp(log_p, axis=0) - np.log(s)  # (B, M)
    own = np.concatenate([log_p[k, :, k * per_pass : (k + 1) * per_pass] for k in range(s)], axis=1)
    return -log_mean.mean(axis=1), np.maximum((own - log_mean).mean(axis=1), 0.0)


def _dirichlet(rng: np.random.Generator, alpha: np.ndarray, size: int) -> np.ndarray:
    """``(B, size, A)`` Dirichlet draws, one concentration row per galaxy (``alpha``: ``(B, A)``)."""
    gammas = rng.standard_gamma(np.broadcast_to(alpha[:, None, :], (alpha.shape[0], size, alpha.shape[1])))
    return gammas / gammas.sum(axis=-1, keepdims=True)


def _multinomial(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    """``n`` votes split by probabilities ``p`` (last axis), drawn as sequential binomials."""
    counts = np.zeros(p.shape, dtype=np.int64)
    left = np.full(p.shape[:-1], n, dtype=np.int64)
    mass = np.ones(p.shape[:-1])
    for i in range(p.shape[-1] - 1):
        share = np.clip(p[..., i] / np.maximum(mass, 1e-300), 0.0, 1.0)
        counts[..., i] = rng.binomial(left, share)
        left -= counts[..., i]
        mass -= p[..., i]
    counts[..., -1] = left
    return counts


def dirichlet_multinomial_information(
    concentrations: Any,
    question_index_groups: QuestionIndexGroups,
    n_volunteers: Any,
    max_outcomes: int = 2000,
    n_draws: int = 400,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Predictive entropy and mutual information of the vote counts ``N`` volunteers would give, per question.

    Each pass's concentrations make a Dirichlet-multinomial over the ways ``N`` votes can split over
    the question's answers; the passes' equal mixture is the prediction. Where there are at most
    ``max_outcomes`` splits they are all summed over (exact); else ``n_draws`` splits are drawn from
    the mixture (seeded, so the result is repeatable).

    Args:
        concentrations: ``(B, n_answers)`` or ``(S, B, n_answers)``.
        question_index_groups: ``(start, end)`` per question, ``end`` inclusive.
        n_volunteers: volunteers answering each question: a number, ``(B,)`` or ``(B, n_questions)``
            whole numbers; 0 gives 0 entropy and information.
        max_outcomes: most vote splits summed over exactly.
        n_draws: draws per galaxy and question otherwise.
        seed: seeds the draws.

    Returns:
        ``(entropy, mutual_information)``, each ``(B, n_questions)``, in nats.
    """
    from zoobot.uncertainty.intervals import per_answer_volunteers

    passes = as_passes(concentrations)
    s, b, n_answers = passes.shape
    per_answer = per_answer_volunteers(n_volunteers, b, question_index_groups, n_answers)
    rng = np.random.default_rng(seed)
    entropy = np.zeros((b, len(question_index_groups)))
    information = np.zeros_like(entropy)
    for q, (start, end) in enumerate(question_index_groups):
        alpha = passes[:, :, start : end + 1]
        n_per_galaxy = per_answer[:, start]
        for n in np.unique(n_per_galaxy):
            if n == 0:
                continue
            rows = np.flatnonzero(n_per_galaxy == n)
            outcomes = max(min(vote_split_count(int(n), end - start + 1), max_outcomes), n_draws)
            chunk = max(1, _CHUNK_ELEMENTS // (s * max(outcomes, (int(n) + 1) * (end - start + 1))))
            for first in range(0, len(rows), chunk):
                part = rows[first : first + chunk]
                h, mi = _question_information(alpha[:, part], int(n), max_outcomes, n_draws, rng)
                entropy[part, q], information[part, q] = h, mi
    return entropy, information

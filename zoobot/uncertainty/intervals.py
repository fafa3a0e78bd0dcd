"""Two kinds of interval for a vote fraction, each named for what it covers.

A tree model predicts, per galaxy and question, Dirichlet concentrations ``a`` (one per answer, total
``A``). From them:

- the **latent** interval (``<answer>_latent-90pc-lower`` / ``-upper``): where the fraction of
  *many* volunteers would lie, i.e. the answer's underlying probability. It is a central interval of
  the Dirichlet's marginal ``Beta(a_i, A - a_i)``; it never reaches exactly 0 or 1.
- the **predictive** interval (``<answer>_predictive-90pc-lower`` / ``-upper``): what fraction of
  ``N`` volunteers would give the answer. The count follows the Dirichlet-multinomial's marginal, a
  ``BetaBinomial(N, a_i, A - a_i)``; the interval is ``[k_low / N, k_high / N]`` with ``k_low``,
  ``k_high`` its central counts, so it can reach 0 and 1. It is what to compare an observed vote
  fraction with. Counts are whole numbers (with two volunteers the only fractions are 0, 1/2 and 1),
  so no fixed set of counts holds exactly 90% of the probability. By default
  (``method='randomized'``) each end count is in the interval only part of the time, drawn once per
  (galaxy, answer) with a seeded uniform ``u``: the interval is the counts ``k`` whose randomised PIT
  ``F(k - 1) + u P(k)`` lies in the central ``level`` (``F`` the predictive CDF). For a calibrated
  model the observed count then falls inside with probability exactly ``level``, at any number of
  volunteers (the randomised PIT is uniform; Brockwell 2007, Czado, Gneiting and Held 2009). Where a
  single count holds more than ``level`` of the probability and ``u`` would leave no count, the
  interval is that count. ``method='conservative'`` gives the interval of central quantiles, which
  holds *at least* the level (with one volunteer, often all of [0, 1]).

Both accept one forward pass ``(B, n_answers)`` or several Monte Carlo dropout passes
``(S, B, n_answers)``; with several passes the distribution is the equal mixture over passes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from zoobot.schemas import Schema

__all__ = [
    "LEVELS",
    "IntervalKind",
    "IntervalMethod",
    "as_passes",
    "interval_column",
    "latent_intervals",
    "predictive_intervals",
    "predictive_cdf_table",
    "count_intervals",
    "interval_draws",
    "question_totals",
    "catalog_volunteer_counts",
    "per_answer_volunteers",
    "fraction_interval_columns",
]

LEVELS: tuple[float, ...] = (0.5, 0.8, 0.9)
"""The interval levels a calibration report checks."""

IntervalKind = Literal["latent", "predictive"]
IntervalMethod = Literal["randomized", "conservative"]
QuestionIndexGroups = Sequence[tuple[int, int]]
_CHUNK_ELEMENTS = 4_000_000  # floats per block when tabulating count distributions


def as_passes(values: Any) -> np.ndarray:
    """``(B, K)`` or ``(S, B, K)`` (numpy or torch) as a float64 ``(S, B, K)`` array of passes."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    array = np.asarray(values, dtype=np.float64)
    if array.ndim == 2:
        return array[None]
    if array.ndim != 3:
        raise ValueError(
            f"Expected outputs of shape (galaxies, outputs) or (passes, galaxies, outputs); got {array.shape}."
        )
    return array


def _check_level(level: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"An interval level must be between 0 and 1 (e.g. 0.9 for 90%), got {level}.")
    return float(level)


def _marginals(concentrations: np.ndarray, groups: QuestionIndexGroups) -> tuple[np.ndarray, np.ndarray]:
    """Each answer's Beta marginal ``(a_i, A - a_i)``, shapes ``(S, B, n_answers)``."""
    n_answers = concentrations.shape[-1]
    rest = np.empty_like(concentrations)
    for start, end in groups:
        if not 0 <= start <= end < n_answers:
            raise ValueError(
                f"Question index group ({start}, {end}) does not fit {n_answers} answers "
                "(groups are (start, end) with end inclusive)."
            )
        q = concentrations[..., start : end + 1]
        rest[..., start : end + 1] = q.sum(axis=-1, keepdims=True) - q
    if not (np.isfinite(concentrations).all() and (concentrations > 0).all()):
        raise ValueError("Dirichlet concentrations must be finite and positive; check the model's outputs.")
    return concentrations, rest


def _mixture_beta_quantile(a: np.ndarray, b: np.ndarray, prob: float) -> np.ndarray:
    """``prob`` quantile of the equal mixture over axis 0 of ``Beta(a, b)``; ``a``, ``b``: ``(S, M)``."""
    from scipy.special import betainc, betaincinv, betaln

    components = betaincinv(a, b, prob)
    if a.shape[0] == 1:
        return components[0]
    # The mixture's quantile lies between its components' quantiles: Newton steps on the mixture CDF,
    # falling back to bisection whenever a step would leave the shrinking bracket. Only the entries
    # not yet within 1e-10 of ``prob`` are worked on.
    low, high = components.min(axis=0), components.max(axis=0)
    x = components.mean(axis=0)
    todo = np.arange(x.size)
    for _ in range(100):
        aa, bb, xx = a[:, todo], b[:, todo], x[todo]
        error = betainc(aa, bb, xx[None]).mean(axis=0) - prob
        done = np.abs(error) < 1e-10
        lo = np.where(error < 0, xx, low[todo])
        hi = np.where(error < 0, high[todo], xx)
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            log_pdf = (aa - 1) * np.log(xx[None]) + (bb - 1) * np.log1p(-xx[None]) - betaln(aa, bb)
            step = xx - error / np.exp(log_pdf).mean(axis=0)
        inside = np.isfinite(step) & (step > lo) & (step < hi)
        x[todo] = np.where(done, xx, np.where(inside, step, (lo + hi) / 2))
        low[todo], high[todo] = lo, hi
        todo = todo[~done & (hi - lo > 1e-14)]
        if not todo.size:
            break
    return x


def latent_intervals(
    concentrations: Any, question_index_groups: QuestionIndexGroups, level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of each answer's underlying fraction (where many volunteers' fraction would lie).

    Args:
        concentrations: ``(B, n_answers)`` Dirichlet concentrations of one pass, or ``(S, B, n_answers)``
            from ``S`` Monte Carlo passes (the interval is then of the mixture over passes).
        question_index_groups: ``(start, end)`` answer indices per question, ``end`` inclusive.
        level: probability inside the interval, e.g. 0.9.

    Returns:
        ``(low, high)``, each ``(B, n_answers)``, in (0, 1).
    """
    tail = (1 - _check_level(level)) / 2
    a, b = _marginals(as_passes(concentrations), question_index_groups)
    s, n, k = a.shape
    low = _mixture_beta_quantile(a.reshape(s, -1), b.reshape(s, -1), tail).reshape(n, k)
    high = _mixture_beta_quantile(a.reshape(s, -1), b.reshape(s, -1), 1 - tail).reshape(n, k)
    return low, high


def question_totals(counts: Any, question_index_groups: QuestionIndexGroups) -> np.ndarray:
    """``(B, n_questions)`` number of volunteers who answered each question: the sum of its vote counts."""
    counts = np.asarray(counts, dtype=np.float64)
    return np.stack([counts[:, s : e + 1].sum(axis=1) for s, e in question_index_groups], axis=1)


def per_answer_volunteers(
    n_volunteers: Any, n_galaxies: int, question_index_groups: QuestionIndexGroups, n_answers: int
) -> np.ndarray:
    """Volunteers per question (an int for all, ``(B,)`` per galaxy, or ``(B, n_questions)``) spread to
    every answer column: ``(B, n_answers)`` whole numbers."""
    n_questions = len(question_index_groups)
    given = np.asarray(n_volunteers, dtype=np.float64)
    if given.ndim == 0:
        given = np.full((n_galaxies, n_questions), float(given))
    elif given.ndim == 1 and len(given) == n_galaxies:
        given = np.repeat(given[:, None], n_questions, axis=1)
    if given.shape != (n_galaxies, n_questions):
        raise ValueError(
            f"n_volunteers must be a number, one per galaxy ({n_galaxies}) or one per galaxy and "
            f"question ({n_galaxies}, {n_questions}); got shape {given.shape}."
        )
    if not np.isfinite(given).all() or (given < 0).any() or (given != np.round(given)).any():
        raise ValueError("n_volunteers must be whole numbers >= 0 (0 where a question was not asked).")
    out = np.zeros((n_galaxies, n_answers))
    for q, (start, end) in enumerate(question_index_groups):
        out[:, start : end + 1] = given[:, q : q + 1]
    return out.astype(np.int64)


def predictive_cdf_table(alpha: np.ndarray, rest: np.ndarray, n: np.ndarray) -> np.ndarray:
    """CDF of the equal mixture over passes of ``BetaBinomial(n, alpha, rest)``, tabulated at ``k = 0..max(n)``.

    Args:
        alpha, rest: ``(S, M)`` Beta parameters per pass and row.
        n: ``(M,)`` whole numbers of trials.

    Returns:
        ``(M, max(n) + 1)``; entries beyond a row's own ``n`` are 1.
    """
    from scipy.special import betaln, gammaln

    s, m = alpha.shape
    n_max = int(n.max()) if m else 0
    k = np.arange(n_max + 1, dtype=np.float64)
    table = np.empty((m, n_max + 1))
    rows = max(1, _CHUNK_ELEMENTS // (s * (n_max + 1)))
    for start in range(0, m, rows):
        part = slice(start, start + rows)
        nn = n[part].astype(np.float64)[:, None]
        valid = k[None, :] <= nn
        k_ok = np.where(valid, k[None, :], 0.0)
        log_choose = gammaln(nn + 1) - gammaln(k_ok + 1) - gammaln(nn - k_ok + 1)
        a, b = alpha[:, part, None], rest[:, part, None]
        log_pmf = log_choose[None] + betaln(k_ok[None] + a, (nn - k_ok)[None] + b) - betaln(a, b)
        pmf = np.where(valid[None], np.exp(log_pmf), 0.0).mean(axis=0)
        table[part] = np.minimum(np.cumsum(pmf, axis=1), 1.0)
        table[part][~valid] = 1.0
    return table


def _quantile_counts(table: np.ndarray, prob: float) -> np.ndarray:
    """Smallest ``k`` with ``CDF(k) >= prob`` (a tiny tolerance absorbs rounding in the sums)."""
    return np.argmax(table >= prob - 1e-10, axis=1)


def interval_draws(n_rows: int, seed: int | None = 0) -> np.ndarray:
    """The uniform ``u`` of each row of a randomised count interval (``(B * n_answers,)``, row-major)."""
    return np.random.default_rng(seed).random(n_rows)


def count_intervals(
    table: np.ndarray, level: float, method: IntervalMethod = "randomized", u: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """End counts ``(k_low, k_high)`` of each row's central ``level`` interval, from its CDF table.

    Args:
        table: ``(M, n_max + 1)`` CDFs (:func:`predictive_cdf_table`).
        level: e.g. 0.9.
        method: ``'randomized'`` (holds ``level`` on average) or ``'conservative'`` (at least ``level``).
        u: ``(M,)`` uniforms for ``'randomized'`` (:func:`interval_draws`).
    """
    tail = (1 - _check_level(level)) / 2
    if method == "conservative":
        return _quantile_counts(table, tail), _quantile_counts(table, 1 - tail)
    if method != "randomized":
        raise ValueError(f"method must be 'randomized' or 'conservative', not {method!r}.")
    if u is None or len(u) != len(table):
        raise ValueError("A randomised interval needs one uniform draw per row (interval_draws).")
    previous = np.concatenate([np.zeros((len(table), 1)), table[:, :-1]], axis=1)
    pit = previous + u[:, None] * (table - previous)  # F(k - 1) + u P(k), non-decreasing in k
    low = np.argmax(pit >= tail - 1e-12, axis=1)
    high = (pit <= 1 - tail + 1e-12).sum(axis=1) - 1
    empty = high < low  # one count holds more than ``level``: the interval is that count
    if empty.any():
        median = _quantile_counts(table[empty], 0.5)
        low[empty], high[empty] = median, median
    return low, high


def predictive_intervals(
    concentrations: Any,
    question_index_groups: QuestionIndexGroups,
    n_volunteers: Any,
    level: float = 0.9,
    method: IntervalMethod = "randomized",
    seed: int | None = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Central interval of the fraction of ``N`` volunteers who would give each answer.

    Args:
        concentrations: ``(B, n_answers)`` or ``(S, B, n_answers)`` (mixture over passes).
        question_index_groups: ``(start, end)`` answer indices per question, ``end`` inclusive.
        n_volunteers: volunteers answering each question: one number, ``(B,)``, or ``(B, n_questions)``
            (e.g. :func:`question_totals` of the observed counts).
        level: probability inside the interval.
        method: ``'randomized'`` (default): for a calibrated model the observed fraction falls inside with
            probability ``level``, each end count being included part of the time (drawn with ``seed``);
            ``'conservative'``: central quantiles, inside with probability at least ``level``.
        seed: seeds the randomised interval's draws (the same seed gives the same intervals).

    Returns:
        ``(low, high)``, each ``(B, n_answers)``, fractions in [0, 1]; NaN where ``N`` is 0.
    """
    _check_level(level)
    a, b = _marginals(as_passes(concentrations), question_index_groups)
    s, n_gal, n_ans = a.shape
    n = per_answer_volunteers(n_volunteers, n_gal, question_index_groups, n_ans).reshape(-1)
    table = predictive_cdf_table(a.reshape(s, -1), b.reshape(s, -1), n)
    u = interval_draws(len(n), seed) if method == "randomized" else None
    low_k, high_k = count_intervals(table, level, method, u)
    with np.errstate(invalid="ignore", divide="ignore"):
        low = np.where(n > 0, low_k / n, np.nan)
        high = np.where(n > 0, high_k / n, np.nan)
    return low.reshape(n_gal, n_ans), high.reshape(n_gal, n_ans)


def catalog_volunteer_counts(catalog: pd.DataFrame, schema: Schema) -> np.ndarray | None:
    """Volunteers per galaxy and question from a catalog: the sum of each question's vote counts, else
    its ``<question>_total-votes`` column; None if the catalog has neither for every question.

    Returns:
        ``(len(catalog), n_questions)`` whole numbers (0 where a row has no votes for a question).
    """
    columns = []
    for question in schema.questions:
        answers = [a.text for a in question.answers]
        total = f"{question.text}_total-votes"
        if all(a in catalog.columns for a in answers):
            columns.append(catalog[answers].to_numpy(dtype=np.float64).sum(axis=1))
        elif total in catalog.columns:
            columns.append(catalog[total].to_numpy(dtype=np.float64))
        else:
            return None
    totals = np.stack(columns, axis=1) if columns else np.zeros((len(catalog), 0))
    return np.where(np.isfinite(totals), np.round(totals), 0).astype(np.int64)


def interval_column(answer: str, kind: IntervalKind, level: float, end: Literal["lower", "upper"]) -> str:
    """Column name of an interval end, in the style of Zoobot's ``<answer>_90pc-lower``:
    ``<answer>_<kind>-<percent>pc-<end>``, e.g. ``smooth-or-featured-dr5_smooth_predictive-90pc-lower``."""
    return f"{answer}_{kind}-{_check_level(level) * 100:g}pc-{end}"


def fraction_interval_columns(
    concentrations: Any,
    schema: Schema,
    n_volunteers: Any = None,
    levels: Sequence[float] = (0.9,),
    names: Sequence[str] | None = None,
    latent: bool = True,
    method: IntervalMethod = "randomized",
    seed: int | None = 0,
) -> pd.DataFrame:
    """Latent and (where ``n_volunteers`` is given) predictive interval columns for every answer.

    Args:
        concentrations: ``(B, n_answers)`` or ``(S, B, n_answers)`` in ``schema.label_cols`` order.
        schema: the decision tree.
        n_volunteers: volunteers per question for the predictive interval (see
            :func:`predictive_intervals`), or None to leave the predictive columns out.
        levels: interval levels, e.g. ``(0.5, 0.8, 0.9)``.
        names: answer names for the columns (default ``schema.label_cols``).
        latent: include the latent intervals.
        method, seed: the predictive interval's kind and draws (see :func:`predictive_intervals`).

    Returns:
        Per level: every answer's ``<answer>_latent-<p>pc-lower``, then every ``-upper``, then the same
        for ``<answer>_predictive-<p>pc-...``. For one pass the latent columns equal
        Zoobot's ``<answer>_90pc-lower`` / ``-upper`` (:mod:`zoobot.tree_summary`).
    """
    names = list(names) if names is not None else list(schema.label_cols)
    groups = [(int(s), int(e)) for s, e in schema.question_index_groups]
    passes = as_passes(concentrations)
    if len(names) != passes.shape[-1]:
        raise ValueError(f"Got {len(names)} answer names for {passes.shape[-1]} outputs.")
    out: dict[str, np.ndarray] = {}
    for level in levels:
        ends = {"latent": latent_intervals(passes, groups, level)} if latent else {}
        if n_volunteers is not None:
            ends["predictive"] = predictive_intervals(passes, groups, n_volunteers, level, method, seed)
        for kind, (low, high) in ends.items():  # every answer's lower edge, then every upper (as Zoobot's)
            for end, values in (("lower", low), ("upper", high)):
                for k, name in enumerate(names):
                    out[interval_column(name, kind, level, end)] = values[:, k]  # type: ignore[arg-type]
    return pd.DataFrame(out)

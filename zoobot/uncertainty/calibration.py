"""How far to trust a model's uncertainties: calibration measured on held-out galaxies.

- Trees (:func:`tree_calibration`): how often the predictive interval for the observed number of
  volunteers holds the observed vote fraction, per question and by number of volunteers; and, where
  the true answer probabilities are known (the synthetic survey), how often the latent interval holds
  them. ``coverage`` is that of the interval the predictions table holds (randomised ends, seed 0: see
  :mod:`zoobot.uncertainty.intervals`), which a calibrated model brings to the level at any number of
  volunteers; ``pit_coverage`` is its expectation over the draws (the share of the observed count's
  probability inside the central ``level``, the non-randomised PIT of Czado, Gneiting and Held 2009);
  ``conservative_coverage`` that of the central-quantile interval, which holds *at least* the level and
  more with few volunteers.
- Classifiers (:func:`classifier_calibration`): a reliability diagram, the expected calibration error
  (ECE) with its finite-sample reference (what a perfectly calibrated model would show from noise
  alone on as many galaxies: labels drawn from the predicted probabilities), Brier score, log loss.
- Regressors (:func:`regressor_calibration`): coverage of predictive intervals.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from zoobot.uncertainty.intervals import (
    LEVELS,
    _marginals,
    as_passes,
    count_intervals,
    interval_draws,
    latent_intervals,
    per_answer_volunteers,
    predictive_cdf_table,
    question_totals,
)

if TYPE_CHECKING:
    from zoobot.schemas import Schema

__all__ = [
    "VOLUNTEER_BINS",
    "tree_calibration",
    "tree_log_likelihood",
    "expected_calibration_error",
    "reliability_diagram",
    "ece_reference",
    "classifier_calibration",
    "regressor_calibration",
]

VOLUNTEER_BINS: tuple[int, ...] = (1, 3, 5, 10, 20, 40)
"""Lower edges of the number-of-volunteers bins the tree report breaks coverage down by."""


def _level_key(level: float) -> str:
    return f"{level * 100:g}"


def _bin_label(edges: Sequence[int], i: int) -> str:
    low = edges[i]
    if i + 1 == len(edges):
        return f"{low}+"
    high = edges[i + 1] - 1
    return str(low) if high == low else f"{low}-{high}"


def tree_log_likelihood(
    concentrations: Any, counts: Any, question_index_groups: Sequence[tuple[int, int]]
) -> np.ndarray:
    """``(B, n_questions)`` log-probability of the observed vote counts under the prediction (mixture over
    passes of Dirichlet-multinomials); 0 where a question has no votes."""
    from scipy.special import gammaln, logsumexp

    passes = as_passes(concentrations)
    counts = np.asarray(counts, dtype=np.float64)
    out = np.zeros((passes.shape[1], len(question_index_groups)))
    for q, (start, end) in enumerate(question_index_groups):
        a, k = passes[..., start : end + 1], counts[None, :, start : end + 1]
        n, total = k.sum(axis=-1), a.sum(axis=-1)
        log_p = (
            gammaln(n + 1)
            + gammaln(total)
            - gammaln(n + total)
            + (gammaln(k + a) - gammaln(a) - gammaln(k + 1)).sum(axis=-1)
        )
        out[:, q] = logsumexp(log_p, axis=0) - np.log(passes.shape[0])
    return out


def tree_calibration(
    concentrations: Any,
    counts: Any,
    schema: Schema,
    true_probabilities: Any = None,
    levels: Sequence[float] = LEVELS,
    volunteer_bins: Sequence[int] = VOLUNTEER_BINS,
    seed: int | None = 0,
) -> dict[str, Any]:
    """Coverage of a tree model's intervals on held-out galaxies.

    Only (galaxy, answer) pairs whose question was asked (at least one vote) count.

    Args:
        concentrations: ``(B, n_answers)`` or ``(S, B, n_answers)`` predicted concentrations.
        counts: ``(B, n_answers)`` observed vote counts.
        schema: the decision tree.
        true_probabilities: ``(B, n_answers)`` true answer probabilities, if known (synthetic survey).
        levels: interval levels.
        volunteer_bins: lower edges of the number-of-volunteers bins.
        seed: the predictive intervals' draws (as :func:`~zoobot.uncertainty.intervals.predictive_intervals`).

    Returns:
        ``{'n_galaxies', 'n_pairs', 'log_likelihood' (mean per galaxy), 'predictive': {level: {'coverage',
        'pit_coverage', 'conservative_coverage', 'per_question': {q: {...}}, 'by_volunteers': {bin: {...}}}},
        'latent': {level: {'coverage', 'per_question'}} (if true_probabilities), 'vote_fraction_mae'}``.
    """
    groups = [(int(s), int(e)) for s, e in schema.question_index_groups]
    passes = as_passes(concentrations)
    counts = np.asarray(counts, dtype=np.float64)
    s, n_gal, n_ans = passes.shape
    a, b = _marginals(passes, groups)
    totals = question_totals(counts, groups)
    n = per_answer_volunteers(totals, n_gal, groups, n_ans)
    asked = n > 0
    table = predictive_cdf_table(a.reshape(s, -1), b.reshape(s, -1), n.reshape(-1))
    k = counts.reshape(-1).astype(np.int64)
    rows = np.arange(len(k))
    upper = table[rows, k]
    lower = np.where(k > 0, table[rows, np.maximum(k - 1, 0)], 0.0)
    question_of = np.empty(n_ans, dtype=int)
    for q, (start, end) in enumerate(groups):
        question_of[start : end + 1] = q
    question_names = [question.text for question in schema.questions]
    bins = np.searchsorted(np.asarray(volunteer_bins), n, side="right") - 1  # (B, A)

    def summarise(
        inside: np.ndarray, extra: np.ndarray | None = None, conservative: np.ndarray | None = None
    ) -> dict[str, Any]:
        # inside, extra, conservative: (B, A); only asked pairs count
        def cell(mask: np.ndarray) -> dict[str, Any]:
            m = mask & asked
            out = {"n_pairs": int(m.sum()), "coverage": float(inside[m].mean()) if m.any() else None}
            if extra is not None:
                out["pit_coverage"] = float(extra[m].mean()) if m.any() else None
            if conservative is not None:
                out["conservative_coverage"] = float(conservative[m].mean()) if m.any() else None
            return out

        result = cell(np.ones_like(asked))
        result["per_question"] = {
            name: cell(np.broadcast_to(question_of == q, asked.shape)) for q, name in enumerate(question_names)
        }
        result["by_volunteers"] = {_bin_label(volunteer_bins, i): cell(bins == i) for i in range(len(volunteer_bins))}
        return result

    report: dict[str, Any] = {"n_galaxies": int(n_gal), "n_pairs": int(asked.sum()), "n_passes": int(s)}
    report["log_likelihood"] = float(tree_log_likelihood(passes, counts, groups).sum(axis=1).mean())
    fractions = (a / (a + b)).mean(axis=0)  # expected vote fractions, averaged over passes
    observed = np.divide(counts, n, out=np.zeros_like(counts), where=asked)
    report["vote_fraction_mae"] = float(np.abs(fractions - observed)[asked].mean()) if asked.any() else None
    report["predictive"] = {}
    u = interval_draws(len(k), seed)  # the draws predictive_intervals makes with this seed
    for level in levels:
        tail = (1 - level) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            share = (np.clip(np.minimum(upper, 1 - tail) - np.maximum(lower, tail), 0, None) / (upper - lower)).reshape(
                n_gal, n_ans
            )
        cells = {}
        for method in ("randomized", "conservative"):
            low_k, high_k = count_intervals(table, level, method, u)
            cells[method] = ((k >= low_k) & (k <= high_k)).reshape(n_gal, n_ans)
        report["predictive"][_level_key(level)] = summarise(
            cells["randomized"], np.nan_to_num(share), cells["conservative"]
        )
    if true_probabilities is not None:
        truth = np.asarray(true_probabilities, dtype=np.float64)
        if truth.shape != (n_gal, n_ans):
            raise ValueError(f"true_probabilities has shape {truth.shape}; expected {(n_gal, n_ans)}.")
        report["latent"] = {}
        for level in levels:
            low, high = latent_intervals(passes, groups, level)
            report["latent"][_level_key(level)] = summarise((truth >= low) & (truth <= high))
    return report


def reliability_diagram(probabilities: Any, labels: Any, n_bins: int = 10) -> dict[str, list]:
    """Confidence (the top class's probability) against accuracy, in ``n_bins`` equal-width bins.

    Returns:
        ``{'bin_low', 'bin_high', 'count', 'confidence', 'accuracy'}`` lists (empty bins have None).
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    confidence, correct = p.max(axis=1), (p.argmax(axis=1) == y)
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, n_bins - 1)
    out: dict[str, list] = {
        "bin_low": edges[:-1].tolist(),
        "bin_high": edges[1:].tolist(),
        "count": [],
        "confidence": [],
        "accuracy": [],
    }
    for i in range(n_bins):
        m = which == i
        out["count"].append(int(m.sum()))
        out["confidence"].append(float(confidence[m].mean()) if m.any() else None)
        out["accuracy"].append(float(correct[m].mean()) if m.any() else None)
    return out


def expected_calibration_error(probabilities: Any, labels: Any, n_bins: int = 10) -> np.ndarray:
    """ECE: the count-weighted mean gap between accuracy and confidence over equal-width confidence bins.

    Args:
        probabilities: ``(B, C)``.
        labels: ``(B,)`` class indices, or ``(D, B)`` several label draws (one ECE each).

    Returns:
        A scalar array, or ``(D,)``.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels).astype(int)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)  # broadcasts over draws
    which = np.clip((confidence * n_bins).astype(int), 0, n_bins - 1)
    onehot = np.zeros((len(confidence), n_bins))
    onehot[np.arange(len(confidence)), which] = 1.0
    gap = correct @ onehot - confidence @ onehot  # per bin: sum(correct) - sum(confidence)
    return np.abs(gap).sum(axis=-1) / max(len(confidence), 1)


def ece_reference(probabilities: Any, n_bins: int = 10, n_draws: int = 1000, seed: int = 0) -> dict[str, float]:
    """The ECE a perfectly calibrated model would show on these galaxies from noise alone.

    Labels are drawn from the predicted probabilities themselves ``n_draws`` times.

    Returns:
        ``{'mean', 'q95'}`` of the ECE over the draws.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    rng = np.random.default_rng(seed)
    cumulative = np.cumsum(p, axis=1)
    draws = (rng.random((n_draws, len(p), 1)) > cumulative[None, :, :-1]).sum(axis=-1)
    eces = expected_calibration_error(p, draws, n_bins)
    return {"mean": float(eces.mean()), "q95": float(np.quantile(eces, 0.95))}


def classifier_calibration(
    probabilities: Any, labels: Any, n_bins: int = 10, n_reference: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Calibration of class probabilities on held-out galaxies.

    Args:
        probabilities: ``(B, C)``, or ``(S, B, C)`` passes (their mean is the prediction).
        labels: ``(B,)`` true class indices.
        n_bins: confidence bins for the ECE and the reliability diagram.
        n_reference: label draws for the ECE's finite-sample reference.
        seed: seeds the draws.

    Returns:
        ``{'n', 'accuracy', 'ece', 'ece_reference': {'mean', 'q95'}, 'ece_within_reference', 'brier',
        'log_loss', 'reliability': {...}}``.
    """
    p = as_passes(probabilities).mean(axis=0)
    y = np.asarray(labels).astype(int)
    if len(y) != len(p):
        raise ValueError(f"Got {len(y)} labels for {len(p)} predictions.")
    ece = float(expected_calibration_error(p, y, n_bins))
    reference = ece_reference(p, n_bins, n_reference, seed)
    onehot = np.eye(p.shape[1])[y]
    return {
        "n": int(len(y)),
        "accuracy": float((p.argmax(axis=1) == y).mean()) if len(y) else None,
        "ece": ece,
        "ece_reference": reference,
        "ece_within_reference": bool(ece <= reference["q95"]),
        "brier": float(((p - onehot) ** 2).sum(axis=1).mean()),
        "log_loss": float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, 1)).mean()),
        "reliability": reliability_diagram(p, y, n_bins),
    }


def regressor_calibration(
    mean: Any,
    scale: Any,
    targets: Any,
    names: Sequence[str] | None = None,
    levels: Sequence[float] = LEVELS,
    multipliers: dict[str, dict[str, float]] | None = None,
) -> dict[str, Any]:
    """Coverage of predictive intervals ``mean ± m * scale`` on held-out galaxies.

    Args:
        mean: ``(B, T)`` predictions.
        scale: ``(B, T)`` predictive standard deviations (see
            :func:`zoobot.uncertainty.corrections.regressor_scale`).
        targets: ``(B, T)`` true values.
        names: target names (default ``target_0`` ...).
        levels: interval levels.
        multipliers: ``{target: {'90': m, ...}}`` from
            :func:`~zoobot.uncertainty.corrections.fit_residual_scale`; default the Gaussian ``m``
            (1.64 at 90%).

    Returns:
        ``{'n', 'coverage': {level: {'all': c, target: c}}, 'mean_width': {level: {target: w}},
        'rmse': {target: r}}``.
    """
    from scipy.stats import norm

    mean, scale, targets = (np.asarray(x, dtype=np.float64).reshape(len(x), -1) for x in (mean, scale, targets))
    names = list(names) if names is not None else [f"target_{i}" for i in range(mean.shape[1])]
    residual = np.abs(targets - mean)
    report: dict[str, Any] = {
        "n": int(len(mean)),
        "coverage": {},
        "mean_width": {},
        "rmse": {t: float(np.sqrt(np.mean((targets - mean)[:, i] ** 2))) for i, t in enumerate(names)},
    }
    for level in levels:
        key = _level_key(level)
        m = (
            np.array([multipliers[t][key] for t in names])
            if multipliers
            else np.full(len(names), norm.ppf(0.5 + level / 2))
        )
        half = m[None, :] * scale
        inside = residual <= half
        report["coverage"][key] = {
            "all": float(inside.mean()),
            **{t: float(inside[:, i].mean()) for i, t in enumerate(names)},
        }
        report["mean_width"][key] = {t: float(2 * half[:, i].mean()) for i, t in enumerate(names)}
    return report

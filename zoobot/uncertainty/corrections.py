"""Corrections for miscalibrated uncertainties, fitted on the validation split, and how to apply them.

One number per fit, by maximum likelihood on validation galaxies (for a temperature or a concentration
scale, with a weak prior that keeps a value the validation galaxies hardly constrain near 1,
:data:`PRIOR_LOG_SD`):

- classifiers: a temperature ``T`` (Guo et al. 2017): probabilities become ``softmax(log p / T)``
  (``T > 1`` softens an overconfident model, ``T < 1`` sharpens an underconfident one);
- trees: a scale ``c_q`` per question on the Dirichlet concentrations (``a -> c_q * a``): the expected
  vote fractions stay, the spread around them widens (``c < 1``) or narrows (``c > 1``);
- regressors: the residual scale ``s``: the predictive standard deviation is
  ``sqrt(spread^2 + s^2)``, the Monte Carlo dropout spread (0 for one pass) plus the scatter the model
  cannot explain, fitted as a Gaussian likelihood of the validation residuals; the interval at each
  level is a multiple of it taken from the validation residuals (split conformal), since residuals
  are rarely Gaussian. A point regressor has no interval of its own, so this one is always fitted.

Every fitted value is applied (where the model is calibrated it is close to 1 and changes little).
Each fit also says whether validation showed miscalibration on its own evidence: a likelihood-ratio
test of the maximum-likelihood value against 1, one parameter at 5% (statistic > 3.84,
``'significant'``). With a few hundred validation galaxies that test can miss a miscalibration
that still matters on the test split (e.g. an underconfident classifier with ECE 0.08), which is why
the correction does not wait for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from zoobot.uncertainty.intervals import LEVELS, as_passes

__all__ = [
    "LR_THRESHOLD",
    "PRIOR_LOG_SD",
    "apply_temperature",
    "fit_temperature",
    "apply_concentration_scales",
    "fit_concentration_scales",
    "fit_residual_scale",
    "regressor_scale",
    "regressor_intervals",
    "apply_correction",
    "likelihood_range",
]

LR_THRESHOLD = 3.841
"""Likelihood-ratio statistic above which validation shows miscalibration on its own (chi-squared, 1 dof, 5%)."""

PRIOR_LOG_SD = 1.0
"""Standard deviation of the prior on the log of a temperature or concentration scale: a correction by a
factor ``e`` is one standard deviation. It keeps a scale that the validation galaxies hardly constrain
(a question few of them were asked) near 1, and hardly moves one they do constrain."""

_LOG_BOUNDS = (np.log(1e-3), np.log(1e3))


def _minimise_log(objective: Any, prior: bool = True) -> float:
    """The ``x`` in ``_LOG_BOUNDS`` minimising ``objective(exp(x))`` (a negative log-likelihood) plus, with
    ``prior``, ``x^2 / (2 PRIOR_LOG_SD^2)``; returned as ``exp(x)``."""
    from scipy.optimize import minimize_scalar

    def total(x: float) -> float:
        return objective(float(np.exp(x))) + (0.5 * (x / PRIOR_LOG_SD) ** 2 if prior else 0.0)

    result = minimize_scalar(total, bounds=_LOG_BOUNDS, method="bounded", options={"xatol": 1e-6})
    return float(np.exp(result.x))


def apply_temperature(probabilities: Any, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities ``softmax(log p / T)``, for each pass: same shape as given (as passes)."""
    p = as_passes(probabilities)
    logits = np.log(np.clip(p, 1e-300, None)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def _classifier_nll(probabilities: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    p = apply_temperature(probabilities, temperature).mean(axis=0)
    return float(-np.log(np.clip(p[np.arange(len(labels)), labels], 1e-300, None)).sum())


def fit_temperature(probabilities: Any, labels: Any) -> dict[str, Any]:
    """Fit a temperature on validation galaxies.

    Args:
        probabilities: ``(B, C)`` or ``(S, B, C)`` (the mean over passes is the prediction).
        labels: ``(B,)`` class indices.

    Returns:
        ``{'kind': 'temperature', 'temperature', 'temperature_range', 'n_fitted', 'lr_statistic', 'significant'}``:
        ``temperature_range`` is the 95% range the validation galaxies leave (:func:`likelihood_range`); on a
        few dozen galaxies it is wide, and the fitted temperature may not carry over to the test split.
    """
    p = as_passes(probabilities)
    y = np.asarray(labels).astype(int)
    if not len(y):
        raise ValueError("No validation galaxies to fit a temperature on.")
    fitted = _minimise_log(lambda t: _classifier_nll(p, y, t))
    best = _minimise_log(lambda t: _classifier_nll(p, y, t), prior=False)  # the test compares the plain maximum
    statistic = 2 * (_classifier_nll(p, y, 1.0) - _classifier_nll(p, y, best))
    return {
        "kind": "temperature",
        "temperature": fitted,
        "temperature_range": likelihood_range(lambda t: _classifier_nll(p, y, t), best),
        "n_fitted": len(y),
        "lr_statistic": float(statistic),
        "significant": bool(statistic > LR_THRESHOLD),
    }


def likelihood_range(nll: Any, best: float) -> list[float]:
    """The values of a positive scale the validation galaxies do not rule out: where twice the negative
    log-likelihood ``nll`` rises by at most :data:`LR_THRESHOLD` above its minimum at ``best`` (a 95%
    profile-likelihood interval). An end that reaches the search bounds (1e-3, 1e3) is returned as that bound.
    """
    from scipy.optimize import brentq

    x_best, floor = float(np.log(best)), nll(best)

    def excess(x: float) -> float:
        return 2 * (nll(float(np.exp(x))) - floor) - LR_THRESHOLD

    ends = []
    for bound in _LOG_BOUNDS:
        if excess(bound) <= 0:  # the likelihood never rises that far on this side
            ends.append(float(np.exp(bound)))
        else:
            ends.append(float(np.exp(brentq(excess, x_best, bound, xtol=1e-6))))
    return ends


def apply_concentration_scales(
    concentrations: Any, question_index_groups: Sequence[tuple[int, int]], scales: Sequence[float]
) -> np.ndarray:
    """Concentrations with each question's answers multiplied by its scale: ``(S, B, n_answers)``."""
    out = as_passes(concentrations).copy()
    if len(scales) != len(question_index_groups):
        raise ValueError(f"Got {len(scales)} scales for {len(question_index_groups)} questions.")
    for (start, end), scale in zip(question_index_groups, scales, strict=True):
        out[..., start : end + 1] *= scale
    return out


def fit_concentration_scales(concentrations: Any, counts: Any, schema: Any) -> dict[str, Any]:
    """Fit one concentration scale per question on validation galaxies (maximum Dirichlet-multinomial
    likelihood of their vote counts).

    Args:
        concentrations: ``(B, n_answers)`` or ``(S, B, n_answers)``.
        counts: ``(B, n_answers)`` vote counts.
        schema: the decision tree.

    Returns:
        ``{'kind': 'concentration_scale', 'scales': {question: c}, 'lr_statistic': {question: s},
        'significant': {question: bool}}``; a question with fewer than 2 validation galaxies asked keeps 1.
    """
    from zoobot.uncertainty.calibration import tree_log_likelihood

    passes = as_passes(concentrations)
    counts = np.asarray(counts, dtype=np.float64)
    scales, statistics, significant = {}, {}, {}
    for question, (start, end) in zip(schema.questions, schema.question_index_groups, strict=True):
        alpha, k = passes[..., start : end + 1], counts[:, start : end + 1]
        asked = k.sum(axis=1) > 0
        name = question.text
        if asked.sum() < 2:  # nothing to fit on
            scales[name], statistics[name], significant[name] = 1.0, 0.0, False
            continue
        alpha, k = alpha[:, asked], k[asked]
        group = [(0, end - start)]

        def nll(c: float, alpha: np.ndarray = alpha, k: np.ndarray = k, group: list = group) -> float:
            return float(-tree_log_likelihood(alpha * c, k, group).sum())

        scales[name] = _minimise_log(nll)
        statistics[name] = float(2 * (nll(1.0) - nll(_minimise_log(nll, prior=False))))
        significant[name] = bool(statistics[name] > LR_THRESHOLD)
    return {"kind": "concentration_scale", "scales": scales, "lr_statistic": statistics, "significant": significant}


def fit_residual_scale(
    mean: Any, spread: Any, targets: Any, names: Sequence[str] | None = None, levels: Sequence[float] = LEVELS
) -> dict[str, Any]:
    """Fit each regression target's residual scale and interval widths on validation galaxies.

    The scale ``s`` maximises the Gaussian likelihood of the residuals with standard deviation
    ``sqrt(spread^2 + s^2)``. Residuals of a finetuned regressor are rarely Gaussian (many small, a
    few large), so the interval at each level is ``mean ± m * sqrt(spread^2 + s^2)`` with ``m`` the
    validation quantile of ``|residual| / sqrt(spread^2 + s^2)`` at that level, rounded up as split
    conformal prediction does (``ceil((n + 1) * level) / n``): on new galaxies like the validation
    ones, the interval holds at least that share.

    Args:
        mean: ``(B, T)`` predictions.
        spread: ``(B, T)`` Monte Carlo dropout standard deviation (zeros for one pass).
        targets: ``(B, T)`` true values.
        names: target names.
        levels: interval levels to fit multipliers for.

    Returns:
        ``{'kind': 'residual_scale', 'scales': {target: s}, 'multipliers': {target: {'90': m, ...}}}``.
    """
    mean, spread, targets = (np.asarray(x, dtype=np.float64).reshape(len(x), -1) for x in (mean, spread, targets))
    names = list(names) if names is not None else [f"target_{i}" for i in range(mean.shape[1])]
    scales, multipliers = {}, {}
    for i, name in enumerate(names):
        r2, v = (targets[:, i] - mean[:, i]) ** 2, spread[:, i] ** 2
        ok = np.isfinite(r2)
        r2, v = r2[ok], v[ok]
        if not len(r2):
            raise ValueError(f"No validation galaxies with a value for {name!r}: cannot fit its residual scale.")
        rms = float(np.sqrt(r2.mean())) or 1e-12

        def nll(s: float, r2: np.ndarray = r2, v: np.ndarray = v, rms: float = rms) -> float:
            var = v + (s * rms) ** 2
            return float(0.5 * (np.log(var) + r2 / var).sum())

        scales[name] = _minimise_log(nll, prior=False) * rms
        standardised = np.sort(np.sqrt(r2 / (v + scales[name] ** 2)))
        n = len(standardised)
        multipliers[name] = {
            f"{level * 100:g}": float(standardised[min(n - 1, int(np.ceil((n + 1) * level)) - 1)]) for level in levels
        }
    return {"kind": "residual_scale", "scales": scales, "multipliers": multipliers}


def regressor_scale(spread: Any, residual_scales: Sequence[float]) -> np.ndarray:
    """Predictive standard deviation ``sqrt(spread^2 + s^2)``: ``(B, T)``."""
    spread = np.asarray(spread, dtype=np.float64)
    return np.sqrt(spread**2 + np.asarray(residual_scales, dtype=np.float64)[None, :] ** 2)


def regressor_intervals(
    mean: Any, spread: Any, correction: dict[str, Any], names: Sequence[str], level: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    """A regressor's predictive interval at ``level`` from its fitted correction: ``(low, high)``, each ``(B, T)``.

    Args:
        mean, spread: ``(B, T)`` mean and Monte Carlo spread of the predictions (spread 0 for one pass).
        correction: :func:`fit_residual_scale`'s result (a run's ``calibration.json`` ``'correction'``).
        names: the target names, in column order.
        level: one of the levels the correction was fitted for.
    """
    key = f"{level * 100:g}"
    scale = regressor_scale(
        np.asarray(spread, dtype=np.float64).reshape(len(spread), -1), [correction["scales"][n] for n in names]
    )
    try:
        multiplier = np.array([correction["multipliers"][n][key] for n in names])
    except KeyError as err:
        raise ValueError(
            f"The correction has no {key}% interval; it was fitted for "
            f"{sorted(next(iter(correction['multipliers'].values())))}."
        ) from err
    mean = np.asarray(mean, dtype=np.float64).reshape(scale.shape)
    return mean - multiplier * scale, mean + multiplier * scale


def apply_correction(samples: Any, correction: dict[str, Any] | None, schema: Any = None) -> np.ndarray:
    """Apply a fitted classifier or tree correction (a run's ``calibration.json`` ``'correction'``) to
    predictions ``(B, K)`` or ``(S, B, K)``; returns ``(S, B, K)``. Regressor corrections change no
    prediction (they give the interval's scale), so the samples come back unchanged, as do None."""
    passes = as_passes(samples)
    if not correction or correction.get("kind") == "residual_scale":
        return passes
    if correction["kind"] == "temperature":
        return apply_temperature(passes, float(correction["temperature"]))
    if correction["kind"] == "concentration_scale":
        if schema is None:
            raise ValueError("Applying a tree's concentration scales needs its schema.")
        scales = [float(correction["scales"].get(q.text, 1.0)) for q in schema.questions]
        return apply_concentration_scales(passes, schema.question_index_groups, scales)
    raise ValueError(f"Unknown calibration correction {correction.get('kind')!r}.")

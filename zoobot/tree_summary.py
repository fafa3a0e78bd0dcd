"""What predicted Dirichlet concentrations say about each answer: vote fraction, 90% interval, proportion asked.

The columns and their names are Zoobot's (``zoobot.shared.load_predictions``' ``_advanced`` summary
table): per answer ``<answer>_fraction`` (expected vote fraction), ``<answer>_90pc-lower`` /
``<answer>_90pc-upper`` (central 90% interval of that fraction) and ``<answer>_proportion-asked``
(expected fraction of volunteers who would be asked the answer's question). A tree model's predictions
carry them after Zoobot's own columns, and the summary files of :mod:`zoobot.shared.load_predictions`
are made of them.

Concentrations are ``(galaxy, answer)`` or ``(galaxy, answer, samples...)``: with several samples per
galaxy (several forward passes or models) the fraction is the mean over samples and the interval edges
the median, as Zoobot computes them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "FRACTION_SUFFIX",
    "ASKED_SUFFIX",
    "INTERVAL_WIDTH",
    "answer_fractions",
    "expected_fractions",
    "interval_columns",
    "interval_column_names",
    "proportion_asked",
    "summary_columns",
]

FRACTION_SUFFIX = "_fraction"
ASKED_SUFFIX = "_proportion-asked"
INTERVAL_WIDTH = 0.9


def _as_samples(concentrations: Any, schema: Any) -> np.ndarray:
    """``(galaxy, answer, samples)``, the trailing axes flattened, checked against the schema."""
    values = np.asarray(concentrations)
    n_answers = len(schema.label_cols)
    if values.ndim < 2 or values.shape[1] != n_answers:
        raise ValueError(
            f"Expected concentrations of shape (galaxies, {n_answers}, ...) for this schema's "
            f"{n_answers} answers, got {values.shape}. Keep the columns in schema.label_cols order."
        )
    return values.reshape(values.shape[0], n_answers, -1)


def answer_fractions(
    concentrations: np.ndarray, question_index_groups: Sequence[tuple[int, int]], axis: int = -1
) -> np.ndarray:
    """Each answer's concentration over its question's total, for every galaxy and sample: the expected vote
    fractions of each Dirichlet, same shape and float dtype. ``axis`` is the answers' axis (``(S, B, K)``
    passes: the last; ``(B, K, S)``: 1); question groups are ``(start, end)``, end inclusive."""
    values = np.moveaxis(np.asarray(concentrations), axis, -1)
    fractions = np.empty_like(values)
    for start, end in question_index_groups:
        question = values[..., start : end + 1]
        fractions[..., start : end + 1] = question / question.sum(axis=-1, keepdims=True)
    return np.moveaxis(fractions, -1, axis)


def expected_fractions(concentrations: Any, schema: Any) -> np.ndarray:
    """Expected vote fraction of each answer, ``(galaxy, answer)`` in the concentrations' float dtype.

    Each answer's concentration over its question's total, averaged over samples.
    """
    return answer_fractions(_as_samples(concentrations, schema), schema.question_index_groups, axis=1).mean(axis=2)


def interval_column_names(label_col: str, width: float = INTERVAL_WIDTH) -> tuple[str, str]:
    """The names of one answer's interval columns, e.g. ``('<answer>_90pc-lower', '<answer>_90pc-upper')``."""
    percent = f"{round(width * 100):d}pc"
    return f"{label_col}_{percent}-lower", f"{label_col}_{percent}-upper"


def interval_columns(
    concentrations: Any, schema: Any, label_cols: Sequence[str] | None = None, width: float = INTERVAL_WIDTH
) -> dict[str, np.ndarray]:
    """The interval columns of every answer: all lower edges, then all upper edges (float64).

    One answer's fraction follows ``Beta(a, A - a)`` (``a`` its concentration, ``A`` its question's
    total); the edges are that distribution's ``(1 - width) / 2`` and ``(1 + width) / 2`` quantiles,
    the median over samples. Named ``<answer>_90pc-lower`` / ``<answer>_90pc-upper`` (for width 0.9).

    Args:
        concentrations: ``(galaxy, answer, ...)``.
        schema: the decision tree.
        label_cols: the answers' column names (default ``schema.label_cols``).
        width: probability inside the interval, in (0, 1).
    """
    if not 0 < width < 1:
        raise ValueError(f"width must be between 0 and 1 (e.g. 0.9 for a 90% interval), got {width}.")
    from scipy.stats import beta

    cols = _check_cols(label_cols, schema)
    values = _as_samples(concentrations, schema).astype(np.float64)
    rest = np.empty_like(values)
    for start, end in schema.question_index_groups:
        question = values[:, start : end + 1]
        rest[:, start : end + 1] = question.sum(axis=1, keepdims=True) - question
    marginal = beta(a=values, b=rest)
    lower = np.median(marginal.ppf(0.5 - width / 2), axis=2)
    upper = np.median(marginal.ppf(0.5 + width / 2), axis=2)
    names = [interval_column_names(c, width) for c in cols]
    return {
        **{names[k][0]: lower[:, k] for k in range(len(cols))},
        **{names[k][1]: upper[:, k] for k in range(len(cols))},
    }


def proportion_asked(fractions: Any, schema: Any) -> np.ndarray:
    """Expected proportion of volunteers asked each answer's question, ``(galaxy, answer)`` float64:
    the product of the expected fractions of the answers leading to it (1 for a first question)."""
    fractions = np.asarray(fractions, dtype=np.float64)
    columns = []
    for question in schema.questions:
        asked = schema.prob_asked(fractions, question.text)
        columns += [asked] * len(question.answers)
    return np.stack(columns, axis=1)


def summary_columns(concentrations: Any, schema: Any, label_cols: Sequence[str] | None = None) -> pd.DataFrame:
    """Zoobot's per-answer summary of concentrations: fractions, interval edges, proportion asked.

    Args:
        concentrations: ``(galaxy, answer, ...)``, answers in ``schema.label_cols`` order.
        schema: the decision tree.
        label_cols: the answers' column names (default ``schema.label_cols``).

    Returns:
        One row per galaxy; columns ``<answer>_fraction`` for every answer, then the interval columns
        (:func:`interval_columns`), then ``<answer>_proportion-asked``.
    """
    cols = _check_cols(label_cols, schema)
    fractions = expected_fractions(concentrations, schema)
    asked = proportion_asked(fractions, schema)
    table = {f"{c}{FRACTION_SUFFIX}": fractions[:, k] for k, c in enumerate(cols)}
    table.update(interval_columns(concentrations, schema, cols))
    table.update({f"{c}{ASKED_SUFFIX}": asked[:, k] for k, c in enumerate(cols)})
    return pd.DataFrame(table)


def _check_cols(label_cols: Sequence[str] | None, schema: Any) -> list[str]:
    cols = list(label_cols) if label_cols is not None else list(schema.label_cols)
    if len(cols) != len(schema.label_cols):
        raise ValueError(f"Got {len(cols)} column names for the schema's {len(schema.label_cols)} answers.")
    return cols

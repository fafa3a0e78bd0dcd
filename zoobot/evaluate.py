"""Test-set metrics computed from a predictions table, for reports and the app's Results tab.

These work on the columns that :func:`zoobot.runs.run_finetune` writes into ``predictions.csv``
(see :mod:`zoobot.prediction_table`), so a finished run can be re-evaluated without loading the model.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from zoobot.prediction_table import CATALOG_PREFIX


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision and recall, and the confusion matrix.

    Args:
        y_true: true class index per galaxy.
        y_pred: predicted class index per galaxy.
        class_names: one name per class index.

    Returns:
        ``{'accuracy', 'majority_accuracy', 'predicted_classes', 'precision': {class: p},
        'recall': {class: r}, 'confusion_matrix': [[...]], 'classes', 'n'}``; the confusion
        matrix has true classes as rows.
    """
    true, pred = np.asarray(y_true, dtype=int), np.asarray(y_pred, dtype=int)
    k = len(class_names)
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (true, pred), 1)
    predicted = matrix.sum(axis=0)
    actual = matrix.sum(axis=1)
    diagonal = np.diag(matrix)
    precision = np.divide(diagonal, predicted, out=np.zeros(k), where=predicted > 0)
    recall = np.divide(diagonal, actual, out=np.zeros(k), where=actual > 0)
    n = int(len(true))
    return {
        "n": n,
        "accuracy": float(diagonal.sum() / n) if n else float("nan"),
        # What always answering the most common class would score, and how many classes the model
        # used at all: a model predicting one class has learned nothing, whatever its accuracy.
        "majority_accuracy": float(actual.max() / n) if n else float("nan"),
        "predicted_classes": int((predicted > 0).sum()),
        "classes": [str(c) for c in class_names],
        "precision": {str(c): float(p) for c, p in zip(class_names, precision, strict=True)},
        "recall": {str(c): float(r) for c, r in zip(class_names, recall, strict=True)},
        "confusion_matrix": matrix.tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² over all target values (arrays of the same shape)."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    residual = y_pred - y_true
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum()
    return {
        "n": int(len(y_true)),
        "rmse": float(np.sqrt(np.mean(residual**2))),
        "mae": float(np.mean(np.abs(residual))),
        "r2": float(1.0 - (residual**2).sum() / total) if total > 0 else float("nan"),
    }


def tree_metrics(
    predictions: pd.DataFrame, schema: Any, fraction_suffix: str = "_fraction", count_prefix: str = CATALOG_PREFIX
) -> dict[str, Any]:
    """Mean absolute error of predicted vote fractions, per question.

    Only galaxies where a question was asked (at least one vote) count for that question.

    Args:
        predictions: rows with the true vote counts (``count_prefix`` + answer column) and predicted
            fractions (answer column + ``fraction_suffix``).
        schema: the decision tree.
        fraction_suffix: suffix of the predicted-fraction columns.
        count_prefix: prefix of the vote-count columns: ``'catalog_'`` in a run's ``predictions.csv``
            (whose bare answer columns hold the predicted concentrations); ``''`` for a table with the
            counts under the bare answer names.

    Returns:
        ``{'vote_fraction_mae': {question: mae}, 'mean_vote_fraction_mae': float, 'n'}``.
    """
    per_question: dict[str, float] = {}
    for question in schema.questions:
        true, predicted = question_vote_fractions(predictions, question, fraction_suffix, count_prefix)
        asked = ~np.isnan(true).any(axis=1)
        if not asked.any():
            continue
        per_question[question.text] = float(np.abs(predicted[asked] - true[asked]).mean())
    values = list(per_question.values())
    return {
        "n": int(len(predictions)),
        "vote_fraction_mae": per_question,
        "mean_vote_fraction_mae": float(np.mean(values)) if values else float("nan"),
    }


def vote_fractions(vote_counts: np.ndarray) -> np.ndarray:
    """The volunteers' vote fractions of one question: each row's counts over the row's total.

    Args:
        vote_counts: ``(N, n_answers)`` votes per answer of one question.

    Returns:
        ``(N, n_answers)`` fractions; NaN in rows without a vote (the question was not asked) or with
        a missing count.
    """
    counts = np.asarray(vote_counts, dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)


def question_vote_fractions(
    predictions: pd.DataFrame, question: Any, fraction_suffix: str = "_fraction", count_prefix: str = CATALOG_PREFIX
) -> tuple[np.ndarray, np.ndarray]:
    """One question's true and predicted vote fractions per galaxy.

    Args:
        predictions: rows with the true vote counts (``count_prefix`` + answer column) and predicted
            fractions (answer column + ``fraction_suffix``), as in a tree run's ``predictions.csv``.
        question: a :class:`zoobot.schemas.Question`.
        fraction_suffix: suffix of the predicted-fraction columns.
        count_prefix: prefix of the vote-count columns (see :func:`tree_metrics`).

    Returns:
        ``(true, predicted)``, each ``(N, n_answers)``; ``true`` is NaN where the question was not asked.
    """
    cols = [answer.text for answer in question.answers]
    true = vote_fractions(predictions[[count_prefix + c for c in cols]].to_numpy(dtype=float))
    predicted = predictions[[c + fraction_suffix for c in cols]].to_numpy(dtype=float)
    return true, predicted


def vote_fraction_errors(
    predictions: pd.DataFrame, question: Any, fraction_suffix: str = "_fraction", count_prefix: str = CATALOG_PREFIX
) -> np.ndarray:
    """Per galaxy: the mean absolute error of one question's predicted vote fractions
    (columns as :func:`question_vote_fractions` reads them).

    Returns:
        ``(N,)``; NaN where the question was not asked (no votes).
    """
    true, predicted = question_vote_fractions(predictions, question, fraction_suffix, count_prefix)
    difference = np.abs(predicted - true)
    asked = (~np.isnan(difference)).sum(axis=1)
    return np.divide(np.nansum(difference, axis=1), asked, out=np.full(len(predictions), np.nan), where=asked > 0)


def vote_fraction_interval_widths(predictions: pd.DataFrame, question: Any) -> np.ndarray:
    """Per galaxy: the mean width of one question's 90% vote-fraction intervals (narrow = confident).

    Args:
        predictions: rows with ``<answer>_90pc-lower`` and ``<answer>_90pc-upper`` columns, as
            :class:`zoobot.finetune.FinetuneableZoobotTree` predicts them
            (:func:`zoobot.tree_summary.interval_column_names`).
        question: a :class:`zoobot.schemas.Question`.

    Returns:
        ``(N,)`` mean of ``upper - lower`` over the question's answers.
    """
    from zoobot.tree_summary import interval_column_names

    edges = [interval_column_names(answer.text) for answer in question.answers]
    low = predictions[[lower for lower, _ in edges]].to_numpy(dtype=float)
    high = predictions[[upper for _, upper in edges]].to_numpy(dtype=float)
    return (high - low).mean(axis=1)

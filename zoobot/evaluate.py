"""Test-set metrics computed from a predictions table, for reports and the app's Results tab.

These work on the columns that :func:`zoobot.runs.run_finetune` writes into ``predictions.csv``
(see :mod:`zoobot.prediction_table`), so a finished run can be re-evaluated without loading the model.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from zoobot.prediction_table import CATALOG_PREFIX, zoobot_columns

logger = logging.getLogger(__name__)


def classification_metrics(y_true: Sequence[int], y_pred: Sequence[int], class_names: Sequence[str]) -> dict[str, Any]:
    """Accuracy, per-class precision and recall, and the confusion matrix.

    Args:
        y_true: true class index per galaxy.
        y_pred: predicted class index per galaxy.
        class_names: one name per class index.

    Returns:
        ``{'accuracy', 'majority_accuracy', 'majority_class', 'predicted_classes', 'precision': {class: p},
        'recall': {class: r}, 'confusion_matrix': [[...]], 'classes', 'n'}``; the confusion
        matrix has true classes as rows. ``majority_accuracy`` is what always answering the most common
        class (``majority_class``) would score: the baseline to beat.
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
        "majority_class": str(class_names[int(actual.argmax())]) if n else "",
        "predicted_classes": int((predicted > 0).sum()),
        "classes": [str(c) for c in class_names],
        "precision": {str(c): float(p) for c, p in zip(class_names, precision, strict=True)},
        "recall": {str(c): float(r) for c, r in zip(class_names, recall, strict=True)},
        "confusion_matrix": matrix.tolist(),
    }


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE and R² over all target values (arrays of the same shape), and ``baseline_rmse``: the RMSE
    of always predicting the average target (R² 0), the baseline to beat."""
    y_true = np.asarray(y_true, dtype=float)
    y_pred = np.asarray(y_pred, dtype=float)
    residual = y_pred - y_true
    total = ((y_true - y_true.mean(axis=0)) ** 2).sum()
    return {
        "n": int(len(y_true)),
        "rmse": float(np.sqrt(np.mean(residual**2))),
        # What always predicting the average would score (R² 0): the score to beat.
        "baseline_rmse": float(np.sqrt(np.mean((y_true - y_true.mean(axis=0)) ** 2))) if len(y_true) else float("nan"),
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
        ``{'vote_fraction_mae': {question: mae}, 'mean_vote_fraction_mae': float,
        'baseline_mean_vote_fraction_mae': float, 'n'}``; the baseline predicts each question's average
        vote fractions for every galaxy.
    """
    per_question: dict[str, float] = {}
    baseline: list[float] = []
    for question in schema.questions:
        true, predicted = question_vote_fractions(predictions, question, fraction_suffix, count_prefix)
        asked = ~np.isnan(true).any(axis=1)
        if not asked.any():
            continue
        per_question[question.text] = float(np.abs(predicted[asked] - true[asked]).mean())
        baseline.append(float(np.abs(true[asked].mean(axis=0) - true[asked]).mean()))
    values = list(per_question.values())
    return {
        "n": int(len(predictions)),
        "vote_fraction_mae": per_question,
        "mean_vote_fraction_mae": float(np.mean(values)) if values else float("nan"),
        # What predicting every galaxy's vote fractions as the average fractions would score.
        "baseline_mean_vote_fraction_mae": float(np.mean(baseline)) if baseline else float("nan"),
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


TaskName = Literal["classification", "regression", "tree"]


def table_metrics(
    rows: pd.DataFrame,
    task: TaskName,
    label_cols: Sequence[str],
    class_names: Sequence[str] | None = None,
    schema: Any = None,
    split: str | None = None,
) -> dict[str, Any]:
    """A task's metrics from a predictions table with the true labels as ``catalog_<column>``
    (:func:`zoobot.prediction_table.add_catalog_columns`), with its summary and warnings (:func:`summarize`).

    Args:
        rows: the galaxies to score (e.g. a run's test split).
        task: ``'classification'``, ``'regression'`` or ``'tree'``.
        label_cols: the target column(s); a classifier's first.
        class_names: classification: the name of each class as ``predicted_class`` and the
            ``catalog_`` column hold them (:func:`zoobot.prediction_table.model_class_names`).
        schema: tree: the decision tree.
        split: which split the rows are (``'test'``), recorded as ``split``.
    """
    metrics: dict[str, Any]
    if task == "classification":
        names = list(class_names or [])
        index = {name: k for k, name in enumerate(names)}
        truth = rows[CATALOG_PREFIX + label_cols[0]].map(index)
        predicted = rows["predicted_class"].astype(str).map(index)
        unknown = sorted(set(rows["predicted_class"].astype(str)) - set(names))
        if unknown:
            raise ValueError(
                f"predicted_class holds {unknown[:3]}, not one of the classes {names}; score the table the model "
                "wrote (predict_on_catalog without label_cols, or the same label_cols)."
            )
        metrics = classification_metrics(truth.to_numpy(dtype=int), predicted.to_numpy(dtype=int), names)
    elif task == "regression":
        metrics = regression_metrics(
            rows[[CATALOG_PREFIX + c for c in label_cols]].to_numpy(), rows[list(label_cols)].to_numpy()
        )
    else:
        metrics = tree_metrics(rows, schema, count_prefix=CATALOG_PREFIX)
    return summarize({**({"split": split} if split else {}), **metrics}, task)


def summarize(metrics: dict[str, Any], task: TaskName) -> dict[str, Any]:
    """``metrics`` with ``summary`` (the score beside its baseline, in a sentence) and ``warnings`` (a
    model that has learned nothing: one class for every galaxy, or no better than the baseline), each
    warning also logged."""
    warnings = metric_warnings(metrics, task)
    for warning in warnings:
        logger.warning(warning)
    return {**metrics, "summary": " ".join([describe_score(metrics, task), *warnings]), "warnings": warnings}


def describe_score(metrics: dict[str, Any], task: TaskName) -> str:
    """The headline score and the baseline beside it, in one sentence, e.g. ``'Accuracy 87.5% on 24
    test galaxies; always answering the most common class (ring_0) would score 69.4%.'`` (metrics saved
    before baselines were recorded get the score alone)."""
    n = metrics.get("n", "?")
    galaxies = f"{n} {metrics.get('split', 'test')} galaxies" if "split" in metrics else f"{n} galaxies"
    nan = float("nan")
    if task == "classification":
        score = f"Accuracy {metrics.get('accuracy', nan):.1%} on {galaxies}"
        majority = f" ({metrics['majority_class']})" if metrics.get("majority_class") else ""
        baseline = (
            f"always answering the most common class{majority} would score {metrics.get('majority_accuracy', nan):.1%}"
        )
        known = _is_number(metrics.get("majority_accuracy"))
    elif task == "regression":
        score = f"RMSE {metrics.get('rmse', nan):.3g} and R² {metrics.get('r2', nan):.3f} on {galaxies}"
        baseline = f"always predicting the average would score RMSE {metrics.get('baseline_rmse', nan):.3g} (R² 0)"
        known = _is_number(metrics.get("baseline_rmse"))
    else:
        score = f"Mean vote-fraction error {metrics.get('mean_vote_fraction_mae', nan):.3f} on {galaxies}"
        baseline = (
            "predicting every galaxy's vote fractions as the average would score "
            f"{metrics.get('baseline_mean_vote_fraction_mae', nan):.3f}"
        )
        known = _is_number(metrics.get("baseline_mean_vote_fraction_mae"))
    return f"{score}; {baseline}." if known else f"{score}."


def score_and_warnings(metrics: dict[str, Any], task: TaskName) -> tuple[str, list[str]]:
    """What :func:`summarize` says of a score, as its two parts: the score beside its baseline
    (:func:`describe_score`) and the warnings (those saved with ``metrics``, else :func:`metric_warnings`),
    for a front end that lays them out apart (the app's Results tab). Nothing is logged."""
    warnings = metrics.get("warnings")
    if not isinstance(warnings, list):
        warnings = metric_warnings(metrics, task)
    return describe_score(metrics, task), [str(w) for w in warnings]


_TRY = "Train for more epochs, with a higher learning rate, on more labels, or finetune the whole encoder."


def metric_warnings(metrics: dict[str, Any], task: TaskName) -> list[str]:
    """Plain-words warnings for a model that has learned nothing visible on these galaxies."""
    warnings: list[str] = []
    if task == "classification":
        if metrics.get("predicted_classes") == 1 and len(metrics.get("classes", [])) > 1:
            warnings.append(
                "Warning: the model predicts one class for every galaxy, so it has not learned to tell the "
                f"classes apart (its accuracy is what always answering that class scores). {_TRY}"
            )
        elif _at_most(metrics.get("accuracy"), metrics.get("majority_accuracy")):
            warnings.append(f"Warning: no better than always answering the most common class. {_TRY}")
    elif task == "regression":
        if _at_most(metrics.get("r2"), 0.0):
            warnings.append(f"Warning: R² is 0 or below: no better than always predicting the average. {_TRY}")
    elif _at_most(metrics.get("baseline_mean_vote_fraction_mae"), metrics.get("mean_vote_fraction_mae")):
        warnings.append(f"Warning: no better than predicting the average vote fractions for every galaxy. {_TRY}")
    return warnings


def _is_number(value: Any) -> bool:
    """Whether ``value`` is a number, not NaN (a metric that was computed)."""
    return isinstance(value, (int, float)) and value == value


def _at_most(score: Any, baseline: Any) -> bool:
    """``score <= baseline`` when both are numbers (not NaN)."""
    return _is_number(score) and _is_number(baseline) and score <= baseline


def evaluate_predictions(predictions: pd.DataFrame, catalog: pd.DataFrame, model: Any) -> dict[str, Any]:
    """Score a model's predictions against a catalog's labels, with the baseline beside the score.

    Use the test galaxies (e.g. ``datamodule.test_catalog``) for an honest score::

        predictions = predict_on_catalog(catalog, model)
        print(evaluate_predictions(predictions, datamodule.test_catalog, model)["summary"])

    Args:
        predictions: the table ``predict_on_catalog`` returned (Zoobot's columns, ``id_str``, extras).
        catalog: galaxies with their true labels (rows without a label are left out).
        model: the finetuned model that predicted them (a classifier, regressor or tree).

    Returns:
        The task's metrics (:func:`classification_metrics`, :func:`regression_metrics` or
        :func:`tree_metrics`), with ``summary`` (the score beside its baseline, in words) and
        ``warnings`` (e.g. one class predicted for every galaxy; also logged).
    """
    from zoobot.prediction_table import add_catalog_columns, model_class_names, model_label_cols

    schema = getattr(model, "schema", None)
    class_names = model_class_names(model)
    if schema is not None:
        task: TaskName = "tree"
    elif class_names is not None:
        task = "classification"
    elif hasattr(model, "label_cols") and not hasattr(model, "num_classes"):
        task = "regression"
    else:
        raise ValueError(
            f"evaluate_predictions scores a single-label classifier, a regressor or a tree, not {type(model).__name__}."
        )
    label_cols = model_label_cols(model)
    missing = [c for c in label_cols if c not in catalog.columns]
    if missing:
        raise ValueError(f"The catalog has no {missing[0]!r} column to score the predictions against.")
    labelled = catalog[catalog[label_cols].notna().all(axis=1)]
    if task == "classification" and len(class_names or []) == len(zoobot_columns(predictions)):
        class_names = zoobot_columns(predictions)  # the names predict_on_catalog's label_cols gave
    table = add_catalog_columns(predictions, labelled, label_cols, class_names)
    rows = table[table["id_str"].isin(labelled["id_str"].astype(str))]
    return table_metrics(rows, task, label_cols, class_names, schema)

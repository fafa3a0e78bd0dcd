"""The uncertainty columns a predictions table carries after Zoobot's columns and this project's extras.

:func:`zoobot.predict.predict_on_catalog` calls :func:`prediction_samples` (the model's outputs, one
deterministic pass or ``n_samples`` Monte Carlo dropout passes, with a run's calibration correction
applied) and :func:`uncertainty_columns` (the columns below). Names follow Zoobot's summary columns
(``<answer>_90pc-lower``): a hyphenated suffix after the output's name.

- every task, with several passes: ``<column>_std`` (spread of each output across passes);
  classifiers also ``predictive-entropy`` and ``mutual-information`` (nats).
- trees: per answer ``<answer>_latent-<p>pc-lower`` / ``-upper`` (where many volunteers' fraction
  would lie; for one pass at 90% that is Zoobot's ``<answer>_90pc-lower`` / ``-upper``, not repeated;
  with several passes, the interval of their mixture) and, where the number of volunteers is known
  (the catalog's vote counts or ``<question>_total-votes``, or ``n_volunteers``),
  ``<answer>_predictive-<p>pc-lower`` / ``-upper``
  (what those volunteers would answer); with several passes ``<question>_mutual-information`` (about
  the votes of 40 volunteers, spread over the questions by how likely each is to be asked).
- regressors with a run's calibration: ``<target>_predictive-<p>pc-lower`` / ``-upper``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from zoobot.uncertainty.intervals import as_passes

__all__ = ["model_task", "prediction_samples", "uncertainty_columns", "correction_of", "predictions_table"]


def model_task(model: Any) -> str:
    """``'classification'``, ``'regression'`` or ``'tree'`` for a finetuned model."""
    from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree

    for cls, task in (
        (FinetuneableZoobotTree, "tree"),
        (FinetuneableZoobotClassifier, "classification"),
        (FinetuneableZoobotRegressor, "regression"),
    ):
        if isinstance(model, cls):
            return task
    raise ValueError(
        f"{type(model).__name__} is not a finetuned model; pass a FinetuneableZoobotClassifier, "
        "Regressor or Tree, or a run folder."
    )


def correction_of(calibration: dict[str, Any] | None) -> dict[str, Any] | None:
    """The correction from a run's ``calibration.json`` (the whole report) or the correction itself."""
    if not calibration:
        return None
    return calibration.get("correction", calibration) if "kind" not in calibration else calibration


def prediction_samples(
    model: Any, outputs: Any, n_samples: int, seed: int | None, calibration: dict[str, Any] | None
) -> np.ndarray:
    """The model's predictions ``(S, B, K)``, with a calibration correction applied.

    Args:
        model: the finetuned model.
        outputs: one deterministic pass's predictions ``(B, K)`` when ``n_samples`` is 1, else the encoder's
            features ``(B, D)`` for the head's Monte Carlo dropout passes.
        n_samples: passes.
        seed: seeds the dropout masks.
        calibration: a run's calibration report or correction, or None.
    """
    from zoobot.uncertainty.corrections import apply_correction
    from zoobot.uncertainty.sampling import head_samples

    samples = as_passes(outputs) if n_samples == 1 else head_samples(model, outputs, n_samples, seed)
    correction = correction_of(calibration)
    if correction is None:
        return samples
    return apply_correction(samples, correction, getattr(model, "schema", None))


def _probability_columns(table: pd.DataFrame) -> list[str]:
    from zoobot.prediction_table import zoobot_columns

    return zoobot_columns(table)


def uncertainty_columns(
    model: Any,
    samples: Any,
    table: pd.DataFrame,
    catalog: pd.DataFrame | None = None,
    n_volunteers: Any = None,
    levels: Sequence[float] = (0.9,),
    calibration: dict[str, Any] | None = None,
) -> dict[str, np.ndarray]:
    """The uncertainty columns for a predictions table (see the module docstring), in order.

    Args:
        model: the finetuned model.
        samples: ``(S, B, K)`` its predictions (:func:`prediction_samples`).
        table: the table built from their mean (:meth:`prediction_columns`), for the output names.
        catalog: the catalog predicted (its vote counts give trees' predictive intervals).
        n_volunteers: trees: volunteers per question for the predictive interval (a number, ``(B,)`` or
            ``(B, n_questions)``); default the catalog's counts where it has them.
        levels: interval levels.
        calibration: a run's calibration report or correction (regressors' intervals need it).
    """
    passes = as_passes(samples)
    task = model_task(model)
    names = _probability_columns(table)
    out: dict[str, np.ndarray] = {}
    several = passes.shape[0] > 1
    if task == "classification":
        if several:
            probabilities = passes if len(names) == passes.shape[-1] else passes[..., -1:]
            for k, name in enumerate(names):
                out[f"{name}_std"] = probabilities[..., k].std(axis=0)
            from zoobot.uncertainty.information import bernoulli_information, categorical_information

            information = bernoulli_information if getattr(model, "multilabel", False) else categorical_information
            out["predictive-entropy"], out["mutual-information"] = information(passes)
        return out
    if task == "regression":
        if several:
            for k, name in enumerate(names):
                out[f"{name}_std"] = passes[..., k].std(axis=0)
        correction = correction_of(calibration)
        if correction and correction.get("kind") == "residual_scale":
            from zoobot.uncertainty.corrections import regressor_intervals

            targets = list(model.label_cols)
            fitted = set(next(iter(correction["multipliers"].values())))
            for level in (lv for lv in levels if f"{lv * 100:g}" in fitted):
                low, high = regressor_intervals(passes.mean(axis=0), passes.std(axis=0), correction, targets, level)
                for k, name in enumerate(names):
                    out[f"{name}_predictive-{level * 100:g}pc-lower"] = low[:, k]
                    out[f"{name}_predictive-{level * 100:g}pc-upper"] = high[:, k]
        return out
    return _tree_columns(model, passes, names, catalog, n_volunteers, levels)


def _tree_columns(
    model: Any,
    passes: np.ndarray,
    names: list[str],
    catalog: pd.DataFrame | None,
    n_volunteers: Any,
    levels: Sequence[float],
) -> dict[str, np.ndarray]:
    from zoobot.uncertainty.intervals import catalog_volunteer_counts, fraction_interval_columns

    schema = model.schema
    volunteers = n_volunteers
    if volunteers is None and catalog is not None:
        volunteers = catalog_volunteer_counts(catalog, schema)
    out: dict[str, np.ndarray] = {}
    for level in levels:
        # One pass's 90% latent interval is Zoobot's <answer>_90pc-lower / -upper already: not repeated.
        latent = passes.shape[0] > 1 or abs(level - 0.9) > 1e-9
        if latent or volunteers is not None:
            intervals = fraction_interval_columns(passes, schema, volunteers, (level,), names, latent=latent)
            out.update({c: intervals[c].to_numpy() for c in intervals.columns})
    if passes.shape[0] > 1:
        from zoobot.tree_summary import answer_fractions
        from zoobot.uncertainty.acquisition import expected_question_volunteers
        from zoobot.uncertainty.information import dirichlet_multinomial_information

        spread = answer_fractions(passes, schema.question_index_groups).std(axis=0)
        for k, name in enumerate(names):
            out[f"{name}_fraction-std"] = spread[:, k]
        asked = expected_question_volunteers(passes, schema, 40)
        _, information = dirichlet_multinomial_information(passes, schema.question_index_groups, asked)
        for k, question in enumerate(schema.questions):
            out[f"{question.text}_mutual-information"] = information[:, k]
    return out


def predictions_table(
    model: Any,
    samples: Any,
    label_cols: Sequence[str] | None,
    id_str: Sequence[str],
    catalog: pd.DataFrame | None = None,
    n_volunteers: Any = None,
    levels: Sequence[float] = (0.9,),
    calibration: dict[str, Any] | None = None,
) -> pd.DataFrame:
    """The whole predictions table from ``(S, B, K)`` predictions: the model's own table of their mean
    (Zoobot's columns, ``id_str``, extras), then :func:`uncertainty_columns`.

    With several passes a tree's Zoobot summary columns (``_fraction``, ``_90pc-lower`` / ``-upper``,
    ``_proportion-asked``) are computed from every pass, as Zoobot computes them for several samples.
    """
    passes = as_passes(samples)
    # float32, as a plain prediction's columns are
    table = model.prediction_columns(passes.mean(axis=0).astype(np.float32), label_cols, id_str=id_str)
    if passes.shape[0] > 1 and model_task(model) == "tree":
        from zoobot.tree_summary import summary_columns

        summary = summary_columns(np.moveaxis(passes, 0, -1), model.schema, _probability_columns(table))
        for column in summary.columns:
            table[column] = summary[column].to_numpy()
    extras = uncertainty_columns(model, passes, table, catalog, n_volunteers, levels, calibration)
    if not extras:
        return table
    clash = sorted(set(extras) & set(table.columns))
    if clash:
        raise ValueError(f"Uncertainty column(s) {clash} would repeat a prediction column; give other label_cols.")
    return pd.concat([table, pd.DataFrame(extras, index=table.index)], axis=1)

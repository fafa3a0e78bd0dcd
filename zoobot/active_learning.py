"""What to label next: rank a catalog's unlabelled galaxies by how much a label would teach the model.

:func:`suggest_galaxies` takes a finetuned model (or a run folder) and a catalog, runs Monte Carlo
dropout on the galaxies without labels (the encoder once, the head ``n_samples`` times), scores them
with an acquisition function (:mod:`zoobot.uncertainty.acquisition`: random, predictive entropy or
BALD) and returns the top ``n`` with their predictions and why each was picked. The command line's
``zoobot suggest`` writes the same table to a CSV. This is the loop of Walmsley et al. (2020), where
asking volunteers about the galaxies with the most mutual information needed 35-60% fewer new labels
for the same performance; ``benchmarks/active_learning.py`` measures it on the synthetic survey.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from zoobot.uncertainty.acquisition import STRATEGIES, Selection, Strategy, acquisition_scores, select_batch
from zoobot.uncertainty.columns import model_task

if TYPE_CHECKING:
    import lightning as L

__all__ = ["STRATEGIES", "model_task", "unlabelled_rows", "suggest_galaxies", "prediction_summary"]


def unlabelled_rows(catalog: pd.DataFrame, label_cols: list[str]) -> np.ndarray:
    """Boolean mask of rows with no label: every label column missing from the catalog or empty in the row."""
    present = [c for c in label_cols if c in catalog.columns]
    if not present:
        return np.ones(len(catalog), dtype=bool)
    values = catalog[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return np.isnan(values).all(axis=1)


def prediction_summary(samples: np.ndarray, task: str, model: Any) -> pd.DataFrame:
    """The mean prediction over passes as named columns: class probabilities and ``pred_class``;
    ``pred_<target>`` and its spread; or each answer's expected ``<answer>_fraction``."""
    mean = samples.mean(axis=0)
    if task == "classification":
        names = model.default_output_names()
        table = pd.DataFrame(
            {f"prob_{n}" if not str(n).startswith("prob_") else n: mean[:, k] for k, n in enumerate(names)}
        )
        table["pred_class"] = mean.argmax(axis=1)
        return table
    if task == "regression":
        spread = samples.std(axis=0)
        out: dict[str, np.ndarray] = {}
        for k, name in enumerate(model.label_cols):
            out[f"pred_{name}"], out[f"pred_{name}_std"] = mean[:, k], spread[:, k]
        return pd.DataFrame(out)
    fractions = np.empty_like(samples)
    for start, end in model.schema.question_index_groups:
        q = samples[..., start : end + 1]
        fractions[..., start : end + 1] = q / q.sum(axis=-1, keepdims=True)
    fractions = fractions.mean(axis=0)
    return pd.DataFrame({f"{col}_fraction": fractions[:, k] for k, col in enumerate(model.label_cols)})


def _load(model: Any) -> tuple[Any, dict[str, Any] | None]:
    """A model and, for a run folder, its calibration correction (None for a model object or a checkpoint)."""
    if isinstance(model, (str, Path)):
        from zoobot.runs import RunFolder, load_finetuned_model

        calibration = RunFolder(model).read_calibration() if Path(model).is_dir() else None
        return load_finetuned_model(model), (calibration or {}).get("correction")
    return model, None


def suggest_galaxies(
    model: L.LightningModule | str | Path,
    catalog: pd.DataFrame,
    n: int = 50,
    strategy: Strategy = "bald",
    n_samples: int = 20,
    question: str | None = None,
    n_volunteers: float = 40,
    only_unlabelled: bool = True,
    seed: int = 0,
    features: np.ndarray | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    accelerator: str = "auto",
    selection: Selection = "top",
    power: float = 1.0,
) -> pd.DataFrame:
    """The ``n`` galaxies a label would help most, best first, with their predictions and the reason.

    Args:
        model: a finetuned model, or where to load one (:func:`zoobot.runs.load_finetuned_model`: a run
            folder, whose ``calibration.json`` correction is then applied, a checkpoint, a Hub name).
        catalog: rows with ``id_str`` and ``file_loc``.
        n: how many galaxies to return.
        strategy: ``'bald'`` (mutual information), ``'entropy'`` or ``'random'``.
        n_samples: Monte Carlo dropout passes (``'bald'`` needs 2 or more).
        question: trees only: rank by this question alone (e.g. ``'bar-dr5'``); None uses all.
        n_volunteers: trees only: volunteers who would classify each galaxy.
        only_unlabelled: skip rows that already have a label (any of the model's label columns filled).
        seed: seeds the dropout masks and the random strategy.
        features: the encoder's features of the catalog's rows ``(len(catalog), D)``, if already computed.
        batch_size, num_workers, accelerator: for reading images.
        selection: ``'top'``: the ``n`` best scores; ``'power'``: ``n`` drawn with chance proportional to
            ``score ** power``, so that a batch does not fill up with near-copies of one kind of galaxy
            (:func:`~zoobot.uncertainty.acquisition.select_batch`; seeded by ``seed``).
        power: the exponent for ``'power'``.

    Returns:
        ``rank`` (1 = label first), ``id_str``, ``file_loc``, ``strategy``, ``score``, ``question`` (trees:
        the question contributing most), ``reason`` (in words), then the mean predictions
        (:func:`prediction_summary`).
    """
    from zoobot.uncertainty.corrections import apply_correction
    from zoobot.uncertainty.sampling import encoder_features, head_samples

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number of galaxies >= 1, got {n!r}.")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    loaded, correction = _load(model)
    task = model_task(loaded)
    pool = unlabelled_rows(catalog, list(loaded.label_cols)) if only_unlabelled else np.ones(len(catalog), bool)
    if not pool.any():
        raise ValueError(
            "Every galaxy in the catalog already has a label: there is nothing to suggest. Give a "
            "catalog with unlabelled rows, or only_unlabelled=False to rank them all."
        )
    rows = catalog[pool].reset_index(drop=True)
    if features is None:
        features = encoder_features(loaded, rows, batch_size, num_workers, accelerator)
    else:
        features = np.asarray(features)[pool]
    schema = loaded.schema if task == "tree" else None
    samples = apply_correction(head_samples(loaded, features, n_samples, seed), correction, schema)
    scores, per_question = acquisition_scores(samples, task, strategy, schema, question, n_volunteers, seed)
    order = select_batch(scores, n, selection if strategy != "random" else "top", power, seed)
    table = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "id_str": rows["id_str"].astype(str).to_numpy()[order]})
    if "file_loc" in rows.columns:
        table["file_loc"] = rows["file_loc"].to_numpy()[order]
    table["strategy"] = strategy
    table["score"] = scores[order]
    table["question"] = per_question.to_numpy().argmax(axis=1)[order] if per_question is not None else None
    if per_question is not None:
        table["question"] = [per_question.columns[i] if question is None else question for i in table["question"]]
    table["reason"] = [_reason(strategy, task, s, q) for s, q in zip(table["score"], table["question"], strict=True)]
    summary = prediction_summary(samples[:, order], task, loaded)
    return pd.concat([table, summary.reset_index(drop=True)], axis=1)


def _reason(strategy: str, task: str, score: float, question: str | None) -> str:
    if strategy == "random":
        return "drawn at random (the baseline)"
    about = f", mostly from {question}" if question else ""
    if task == "regression":
        return f"Monte Carlo passes disagree: spread {score:.3g}"
    if strategy == "entropy":
        return f"uncertain prediction: predictive entropy {score:.3f} nats{about}"
    return f"the model's passes disagree: mutual information {score:.3f} nats{about}"

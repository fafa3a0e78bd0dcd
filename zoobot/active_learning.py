"""What to label next: rank a catalog's unlabelled galaxies by how much a label would teach the model.

:func:`suggest_galaxies` takes a finetuned model (or a run folder) and a catalog, samples the model's
predictions for the galaxies without labels (the encoder once, then ``n_samples`` draws of the head: from
a last-layer Laplace posterior fitted on the labelled galaxies, or Monte Carlo dropout), scores them
with an acquisition function (:mod:`zoobot.uncertainty.acquisition`: random, predictive entropy or
BALD) and returns the top ``n`` with their predictions and why each was picked. The command line's
``zoobot suggest`` writes the same table to a CSV. This is the loop of Walmsley et al. (2020), where
asking volunteers about the galaxies with the most mutual information needed 35-60% fewer new labels
for the same performance; ``benchmarks/active_learning.py`` measures it on the synthetic survey.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from zoobot import defaults
from zoobot.uncertainty.acquisition import (
    STRATEGIES,
    Selection,
    Strategy,
    acquisition_scores,
    random_scores,
    select_batch,
)
from zoobot.uncertainty.columns import model_task

if TYPE_CHECKING:
    import lightning as L

__all__ = [
    "POSTERIORS",
    "STRATEGIES",
    "Posterior",
    "default_posterior",
    "model_task",
    "unlabelled_rows",
    "suggest_galaxies",
    "prediction_summary",
]

Posterior = Literal["laplace", "dropout"]
POSTERIORS: tuple[str, ...] = ("laplace", "dropout")
"""Where the model's samples come from: a last-layer Laplace posterior (:mod:`zoobot.uncertainty.laplace`)
or Monte Carlo dropout (:mod:`zoobot.uncertainty.sampling`)."""

DRAWS_PER_BLOCK = 1_000_000
"""Galaxy draws held at once (galaxies x ``n_samples``): a catalog is drawn and scored in blocks of
``DRAWS_PER_BLOCK // n_samples`` galaxies (a 34-answer tree with 100 draws: 10,000 galaxies, 270 MB)."""


def default_posterior(strategy: str, posterior: str | None = None, multilabel: bool = False) -> str:
    """The posterior a strategy samples: ``posterior`` when given, else Laplace for ``'bald'`` and dropout for
    ``'entropy'`` and ``'random'``. From ``benchmarks/active_learning.py`` (README, "What to label next"):
    Laplace made BALD better on the tree's likelihood and tied with dropout on ``ring``, and made entropy
    worse. A multi-label classifier has no Laplace posterior: dropout."""
    if posterior is None:
        return "laplace" if strategy == "bald" and not multilabel else "dropout"
    if posterior not in POSTERIORS:
        raise ValueError(
            f"posterior must be one of {', '.join(POSTERIORS)} (or None for the default), not {posterior!r}."
        )
    return posterior


def unlabelled_rows(catalog: pd.DataFrame, label_cols: list[str]) -> np.ndarray:
    """Boolean mask of rows with no label: every label column missing from the catalog or empty in the row."""
    present = [c for c in label_cols if c in catalog.columns]
    if not present:
        return np.ones(len(catalog), dtype=bool)
    values = catalog[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return np.isnan(values).all(axis=1)


SUGGESTION_COLUMNS = ("rank", "id_str", "file_loc", "strategy", "score", "question", "posterior", "reason")
"""The columns :func:`suggest_galaxies` writes before the mean predictions."""


def prediction_summary(samples: np.ndarray, task: str, model: Any) -> pd.DataFrame:
    """The mean prediction over passes as named columns, named as a run's ``predictions.csv`` names them: a
    probability per class (the class's name, e.g. ``ring_1``) and ``predicted_class`` (a multi-label
    classifier: a probability per label column); ``pred_<target>`` and its spread; or each answer's expected
    ``<answer>_fraction``. A class named like a column of the suggestions (``score``, ...) gets ``prob_``."""
    from zoobot.prediction_table import class_name_array, model_class_names
    from zoobot.tree_summary import answer_fractions

    mean = samples.mean(axis=0)
    if task == "classification":
        names = model_class_names(model)
        columns = names or [str(n) for n in model.default_output_names()]
        table = pd.DataFrame(
            {
                f"prob_{n}" if n in (*SUGGESTION_COLUMNS, "predicted_class") else n: mean[:, k]
                for k, n in enumerate(columns)
            }
        )
        if names is not None:  # one class per galaxy
            table["predicted_class"] = class_name_array(names, mean.argmax(axis=1))
        return table
    if task == "regression":
        spread = samples.std(axis=0)
        out: dict[str, np.ndarray] = {}
        for k, name in enumerate(model.label_cols):
            out[f"pred_{name}"], out[f"pred_{name}_std"] = mean[:, k], spread[:, k]
        return pd.DataFrame(out)
    fractions = answer_fractions(samples, model.schema.question_index_groups).mean(axis=0)
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
    n_samples: int = defaults.SUGGEST_SAMPLES,
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
    posterior: Posterior | None = None,
) -> pd.DataFrame:
    """The ``n`` galaxies a label would help most, best first, with their predictions and the reason.

    Args:
        model: a finetuned model, or where to load one (:func:`zoobot.runs.load_finetuned_model`: a run
            folder, whose ``calibration.json`` correction is then applied, a checkpoint, a Hub name).
        catalog: rows with ``id_str`` and ``file_loc``.
        n: how many galaxies to return.
        strategy: ``'bald'`` (mutual information), ``'entropy'`` or ``'random'``.
        n_samples: draws of the head per galaxy (``'bald'`` needs 2 or more).
        question: trees only: rank by this question alone (e.g. ``'bar-dr5'``); None uses all.
        n_volunteers: trees only: volunteers who would classify each galaxy.
        only_unlabelled: skip rows that already have a label (any of the model's label columns filled).
        seed: seeds the draws (dropout masks or Laplace samples) and the random strategy.
        features: the encoder's features of the catalog's rows ``(len(catalog), D)``, if already computed.
        batch_size, num_workers, accelerator: for reading images.
        selection: ``'top'``: the ``n`` best scores; ``'power'``: ``n`` drawn with chance proportional to
            ``score ** power``, so that a batch does not fill up with near-copies of one kind of galaxy
            (:func:`~zoobot.uncertainty.acquisition.select_batch`; seeded by ``seed``).
        power: the exponent for ``'power'``.
        posterior: where the ``n_samples`` predictions per galaxy come from: ``'laplace'``, a last-layer
            Laplace posterior of the head (:mod:`zoobot.uncertainty.laplace`) fitted on the galaxies the
            model learned from (a run folder's training split; for a model object or a checkpoint, the
            catalog's labelled rows); ``'dropout'``, Monte Carlo dropout; None, the default for the
            strategy (:func:`default_posterior`: Laplace for ``'bald'``, dropout otherwise and for a
            multi-label classifier, whose labels are scored each as yes or no and summed).

    Returns:
        ``rank`` (1 = label first), ``id_str``, ``file_loc``, ``strategy``, ``score``, ``question`` (trees:
        the question contributing most), ``posterior`` (None for ``'random'``), ``reason`` (in words), then the
        mean predictions (:func:`prediction_summary`).
    """
    from zoobot.uncertainty.corrections import apply_correction
    from zoobot.uncertainty.laplace import laplace_samples
    from zoobot.uncertainty.sampling import check_sample_count, encoder_features, head_samples

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a whole number of galaxies >= 1, got {n!r}.")
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}.")
    check_sample_count(n_samples)  # before the encoder's pass, and the blocks divide by it
    default_posterior(strategy, posterior)  # an unknown posterior fails before the model loads
    loaded, correction = _load(model)
    task, multilabel = model_task(loaded), bool(getattr(loaded, "multilabel", False))
    sampled_from = default_posterior(strategy, posterior, multilabel)
    pool = unlabelled_rows(catalog, list(loaded.label_cols)) if only_unlabelled else np.ones(len(catalog), bool)
    if not pool.any():
        raise ValueError(
            "Every galaxy in the catalog already has a label: there is nothing to suggest. Give a catalog with "
            "unlabelled rows, or only_unlabelled=False (zoobot suggest --include-labelled) to rank them all."
        )
    rows = catalog[pool].reset_index(drop=True)
    reading = {"batch_size": batch_size, "num_workers": num_workers, "accelerator": accelerator}
    laplace = None
    if sampled_from == "laplace" and strategy != "random":  # fitted first: a run without labels fails early
        laplace = _fit_laplace(model, loaded, catalog, features, reading)
    if features is None:
        features = encoder_features(loaded, rows, batch_size, num_workers, accelerator)
    else:
        features = np.asarray(features)[pool]
    schema = loaded.schema if task == "tree" else None
    # Drawn and scored a block of galaxies at a time, so memory stays bounded on a survey catalog.
    block = max(1, DRAWS_PER_BLOCK // n_samples)
    block_scores, block_questions, block_summaries = [], [], []
    for k, begin in enumerate(range(0, len(features), block)):
        part = features[begin : begin + block]
        block_seed = None if seed is None else seed + k
        if laplace is not None:
            drawn = laplace_samples(loaded, laplace, part, n_samples, block_seed)
        else:
            drawn = head_samples(loaded, part, n_samples, block_seed)
        samples = apply_correction(drawn, correction, schema)
        block_summaries.append(prediction_summary(samples, task, loaded))
        if strategy != "random":  # random draws its scores once, over the whole pool, below
            scored, by_question = acquisition_scores(
                samples, task, strategy, schema, question, n_volunteers, block_seed, multilabel
            )
            block_scores.append(scored)
            if by_question is not None:
                block_questions.append(by_question)
    scores = random_scores(len(rows), seed) if strategy == "random" else np.concatenate(block_scores)
    per_question = pd.concat(block_questions, ignore_index=True) if block_questions else None
    summaries = pd.concat(block_summaries, ignore_index=True)
    order = select_batch(scores, n, selection if strategy != "random" else "top", power, seed)
    table = pd.DataFrame({"rank": np.arange(1, len(order) + 1), "id_str": rows["id_str"].astype(str).to_numpy()[order]})
    if "file_loc" in rows.columns:
        table["file_loc"] = rows["file_loc"].to_numpy()[order]
    table["strategy"] = strategy
    table["score"] = scores[order]
    table["question"] = per_question.to_numpy().argmax(axis=1)[order] if per_question is not None else None
    if per_question is not None:
        table["question"] = [per_question.columns[i] if question is None else question for i in table["question"]]
    table["posterior"] = sampled_from if strategy != "random" else None
    table["reason"] = [
        _reason(strategy, task, s, q, sampled_from) for s, q in zip(table["score"], table["question"], strict=True)
    ]
    return pd.concat([table, summaries.iloc[order].reset_index(drop=True)], axis=1)


def _fit_laplace(
    source: Any, model: Any, catalog: pd.DataFrame, features: np.ndarray | None, reading: dict[str, Any]
) -> Any:
    """The Laplace posterior of the model's head: on a run folder's training galaxies, else on the catalog's
    rows that have every label (their ``features`` rows when given)."""
    from zoobot.runs import split_targets
    from zoobot.uncertainty.laplace import fit_laplace, fit_run_laplace
    from zoobot.uncertainty.sampling import encoder_features

    if isinstance(source, (str, Path)) and Path(source).is_dir():
        return fit_run_laplace(source, model, **reading)
    task, label_cols = model_task(model), list(model.label_cols)
    present = [c for c in label_cols if c in catalog.columns]
    labelled = np.zeros(len(catalog), dtype=bool)
    if len(present) == len(label_cols):
        values = catalog[present].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
        labelled = np.isfinite(values).all(axis=1)
    if not labelled.any():
        raise ValueError(
            "posterior='laplace' is fitted on the galaxies the model learned from, and there are none here: "
            f"the model is not a run folder and the catalog has no rows with {', '.join(label_cols[:3])} filled in. "
            "Give the run folder the model came from, a catalog that includes some labelled galaxies, or "
            "posterior='dropout' (zoobot suggest --posterior dropout)."
        )
    rows = catalog[labelled].reset_index(drop=True)
    known = encoder_features(model, rows, **reading) if features is None else np.asarray(features)[labelled]
    return fit_laplace(model, known, split_targets(rows, task, label_cols), task)


def _reason(strategy: str, task: str, score: float, question: str | None, posterior: str) -> str:
    if strategy == "random":
        return "drawn at random (the baseline)"
    about = f", mostly from {question}" if question else ""
    samples = "draws from the Laplace posterior" if posterior == "laplace" else "Monte Carlo dropout passes"
    if task == "regression":
        return f"the model's {samples} disagree: spread {score:.3g}"
    if strategy == "entropy":
        return f"uncertain prediction: predictive entropy {score:.3f} nats{about}"
    if strategy == "bald":
        return f"the model's {samples} disagree: mutual information {score:.3f} nats{about}"
    raise ValueError(f"No reason written for strategy {strategy!r}.")

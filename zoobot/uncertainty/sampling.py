"""Monte Carlo dropout: several predictions per galaxy, with the head's dropout on.

A finetuned model is an encoder (deterministic when predicting) and a head: dropout, then a linear
layer. Its epistemic uncertainty is approximated, as in Zoobot's ``n_samples``, by running the head
several times with dropout on. The encoder's features are computed once per galaxy and only the head
is sampled, so ``n_samples`` passes cost little more than one. A small ensemble of finetuned models
adds the disagreement between independent finetunes (:func:`ensemble_samples`).

Outputs per pass are what the model predicts: class probabilities, values, or Dirichlet
concentrations, shaped ``(n_samples, n_galaxies, n_outputs)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypedDict, cast

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import lightning as L
    from torch import nn
    from typing_extensions import Unpack  # typing's from Python 3.11

__all__ = [
    "CatalogReading",
    "check_sample_count",
    "encoder_features",
    "head_samples",
    "mc_samples",
    "ensemble_samples",
    "summarize_samples",
]


def check_sample_count(n_samples: Any) -> None:
    """Refuse an ``n_samples`` that is not a whole number of draws >= 1 (before any work is done)."""
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a whole number >= 1, got {n_samples!r}.")


def _check_model(model: Any) -> None:
    if not hasattr(model, "head") or not hasattr(model, "outputs_to_predictions"):
        raise ValueError(
            f"{type(model).__name__} has no finetuning head to sample; pass a finetuned model "
            "(FinetuneableZoobotClassifier/Regressor/Tree, e.g. from zoobot.runs.load_run_model)."
        )


def encoder_features(
    model: L.LightningModule,
    catalog: pd.DataFrame,
    batch_size: int = 64,
    num_workers: int = 0,
    accelerator: str = "auto",
) -> np.ndarray:
    """The model's encoder features ``(len(catalog), feature_dim)`` for every row, in catalog order.

    Images are read from ``file_loc`` and transformed as the model's encoder card says.
    """
    from zoobot.representations import get_representations

    _check_model(model)
    table = get_representations(catalog, model, batch_size=batch_size, num_workers=num_workers, accelerator=accelerator)
    return table.filter(like="feat_").to_numpy(dtype=np.float32)


def head_samples(
    model: L.LightningModule, features: Any, n_samples: int = 1, seed: int | None = 0, batch_size: int = 8192
) -> np.ndarray:
    """Predictions from the model's head, ``n_samples`` passes over the same features.

    Args:
        model: a finetuned model (its ``head`` and ``outputs_to_predictions``).
        features: ``(B, feature_dim)`` encoder features (:func:`encoder_features`).
        n_samples: passes; 1 is the ordinary prediction (dropout off), more turn the head's dropout on.
        seed: seeds the dropout masks (None: torch's global generator).
        batch_size: galaxies per head call.

    Returns:
        ``(n_samples, B, n_outputs)`` float64 predictions (probabilities, values or concentrations).
    """
    import torch

    _check_model(model)
    check_sample_count(n_samples)
    x = torch.as_tensor(np.array(features, dtype=np.float32, copy=True))
    head = cast("nn.Module", model.head)
    predictor = cast(Any, model)  # a finetuned model: its own prediction hooks
    device = next(head.parameters()).device
    n_outputs = len(predictor.default_output_names())
    was_training = head.training
    head.train(n_samples > 1)
    # Every pass of every galaxy is one row: each row gets its own dropout mask, so the passes can
    # go through the head together, in blocks of about batch_size rows.
    galaxies_per_block = max(1, batch_size // n_samples)
    blocks = []
    try:
        with torch.no_grad(), torch.random.fork_rng(devices=[] if device.type == "cpu" else [device]):
            if seed is not None:
                torch.manual_seed(seed)
            for i in range(0, len(x), galaxies_per_block):
                block = x[i : i + galaxies_per_block].to(device)
                rows = block.repeat(n_samples, 1)  # pass-major: rows [s * b + g]
                out = predictor.outputs_to_predictions(head(rows))
                blocks.append(out.reshape(n_samples, len(block), -1).double().cpu())
    finally:
        head.train(was_training)
    if not blocks:
        return np.zeros((n_samples, 0, n_outputs))
    return torch.cat(blocks, dim=1).numpy()


class CatalogReading(TypedDict, total=False):
    """How :func:`mc_samples` and :func:`ensemble_samples` read a catalog's images: :func:`encoder_features`'s
    keyword arguments, with its defaults.

    Attributes:
        batch_size: images per encoder batch (default 64).
        num_workers: image-loading processes (default 0: in this process).
        accelerator: ``'auto'`` (default), ``'cpu'``, ``'gpu'``, ...
    """

    batch_size: int
    num_workers: int
    accelerator: str


def mc_samples(
    model: L.LightningModule,
    catalog: pd.DataFrame,
    n_samples: int = 1,
    seed: int | None = 0,
    **reading: Unpack[CatalogReading],
) -> np.ndarray:
    """Monte Carlo dropout predictions for every catalog row: features once, then ``n_samples`` head passes
    (:func:`ensemble_samples` of one model). ``**reading``: :class:`CatalogReading`.

    Returns:
        ``(n_samples, len(catalog), n_outputs)`` predictions, in catalog order.
    """
    return ensemble_samples([model], catalog, n_samples=n_samples, seed=seed, **reading)


def ensemble_samples(
    models: Sequence[L.LightningModule],
    catalog: pd.DataFrame | None = None,
    features: Sequence[Any] | None = None,
    n_samples: int = 1,
    seed: int | None = 0,
    **reading: Unpack[CatalogReading],
) -> np.ndarray:
    """Predictions of several finetuned models (an ensemble), ``n_samples`` dropout passes each, stacked.

    Each model reads the catalog with its own encoder (full finetunes differ), as ``**reading``
    (:class:`CatalogReading`) says; give ``features`` (one ``(B, D)`` array per model) to skip that, e.g. for
    head-only finetunes of the same encoder.

    Returns:
        ``(len(models) * n_samples, B, n_outputs)``: every model's passes, model by model.
    """
    if not models:
        raise ValueError("An ensemble needs at least one model.")
    if features is None:
        if catalog is None:
            raise ValueError("Give the catalog to predict, or each model's features.")
        features = [encoder_features(m, catalog, **reading) for m in models]
    if len(features) != len(models):
        raise ValueError(f"Got {len(features)} feature arrays for {len(models)} models; give one per model.")
    runs = [
        head_samples(m, f, n_samples, None if seed is None else seed + i)
        for i, (m, f) in enumerate(zip(models, features, strict=True))
    ]
    shapes = {r.shape[1:] for r in runs}
    if len(shapes) != 1:
        raise ValueError(
            f"The models predict different shapes {sorted(shapes)}; an ensemble needs models of "
            "one task with the same outputs."
        )
    return np.concatenate(runs)


def summarize_samples(
    samples: Any, task: str, schema: Any = None, n_volunteers: Any = 40, multilabel: bool = False
) -> dict[str, np.ndarray]:
    """Per galaxy: the mean prediction, its spread across passes, and the mutual information.

    Args:
        samples: ``(S, B, n_outputs)`` passes (:func:`head_samples`), or ``(B, n_outputs)`` for one.
        task: ``'classification'``, ``'regression'`` or ``'tree'``.
        schema: the tree (tree only).
        n_volunteers: tree only: volunteers per question for the vote-count entropy and information
            (a number, ``(B,)`` or ``(B, n_questions)``).
        multilabel: classification only: the samples are a multi-label classifier's yes/no probability
            per label; entropy and information are each label's, summed.

    Returns:
        classification: ``mean`` and ``std`` ``(B, C)`` of the probabilities, ``entropy`` and
        ``mutual_information`` ``(B,)``. regression: ``mean`` and ``std`` ``(B, T)``. tree: ``fraction_mean``
        and ``fraction_std`` ``(B, n_answers)`` (expected vote fractions), ``entropy`` and
        ``mutual_information`` ``(B, n_questions)`` of the vote counts of ``n_volunteers``.
    """
    from zoobot.tree_summary import answer_fractions
    from zoobot.uncertainty.information import (
        bernoulli_information,
        categorical_information,
        dirichlet_multinomial_information,
    )
    from zoobot.uncertainty.intervals import as_passes

    passes = as_passes(samples)
    if task == "classification":
        entropy, information = (bernoulli_information if multilabel else categorical_information)(passes)
        return {
            "mean": passes.mean(axis=0),
            "std": passes.std(axis=0),
            "entropy": entropy,
            "mutual_information": information,
        }
    if task == "regression":
        return {"mean": passes.mean(axis=0), "std": passes.std(axis=0)}
    if task != "tree":
        raise ValueError(f"task must be 'classification', 'regression' or 'tree', not {task!r}.")
    if schema is None:
        raise ValueError("A tree's uncertainty needs its schema (the questions the answers belong to).")
    groups = [tuple(g) for g in schema.question_index_groups]
    fractions = answer_fractions(passes, groups)
    entropy, information = dirichlet_multinomial_information(passes, groups, n_volunteers)
    return {
        "fraction_mean": fractions.mean(axis=0),
        "fraction_std": fractions.std(axis=0),
        "entropy": entropy,
        "mutual_information": information,
    }

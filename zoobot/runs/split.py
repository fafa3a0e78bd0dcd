"""A run's split of its catalog into train, validation and test galaxies, and their labels as arrays.

Training (:func:`zoobot.runs.run_finetune`), the calibration of a finished run
(:func:`zoobot.uncertainty.calibrate_run`) and the Laplace posterior fitted on a run's labelled galaxies
(:func:`zoobot.uncertainty.fit_run_laplace`) all read "this run's split" here, so they cannot drift apart:
the same catalog, fractions and seed give the same galaxies in each part.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from zoobot.data import CatalogDataModule
    from zoobot.runs.config import RunConfig

__all__ = ["run_split", "split_targets"]


def run_split(
    config: RunConfig, card: Any, *, catalog: pd.DataFrame | None = None, num_workers: int | None = 0
) -> CatalogDataModule:
    """The run's datamodule: its catalog's labelled rows split as the run's training split them.

    Args:
        config: the run's config (catalog, label columns, fractions, seed, batch size).
        card: the encoder's card (image size and scaling), e.g. ``model.card``.
        catalog: the run's catalog if already read (default: :func:`zoobot.runs.load_run_catalog`).
        num_workers: image-loading processes (0: in this process; None: as many as the machine suits).

    Returns:
        A :class:`~zoobot.data.CatalogDataModule` whose ``train_catalog``, ``val_catalog`` and
        ``test_catalog`` are the run's.
    """
    from zoobot.data import CatalogDataModule
    from zoobot.runs.pipeline import load_run_catalog

    return CatalogDataModule(
        label_cols=config.label_cols,
        catalog=load_run_catalog(config) if catalog is None else catalog,
        train_fraction=config.train_fraction,
        val_fraction=config.val_fraction,
        test_fraction=config.test_fraction,
        batch_size=config.batch_size,
        num_workers=num_workers,
        card=card,
        seed=config.seed,
    )


def split_targets(rows: pd.DataFrame, task: str, label_cols: list[str]) -> np.ndarray:
    """The labels of a split's rows as the losses take them: class indices ``(B,)`` for a classifier,
    values ``(B, T)`` for a regressor, vote counts ``(B, n_answers)`` for a tree."""
    values = rows[list(label_cols)].to_numpy(dtype=np.float64)
    return values[:, 0].astype(int) if task == "classification" else values

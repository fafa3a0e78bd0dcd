"""Predict a catalog with a finetuned model, streaming images from disk batch by batch.

Output columns (one row per catalog row, in catalog order, first column ``id_str``):

- classifier: ``prob_<k>`` per class (or the names given as ``label_cols``, one per class; a single
  name gives, for a binary classifier, that column = P(class 1), else ``<name>_prob_<k>``) and
  ``pred_class``; multi-label: ``prob_<col>`` and ``pred_<col>`` (0/1).
- regressor: ``pred_<target>`` per target.
- tree: per answer ``<answer>_concentration`` (Dirichlet), ``<answer>_fraction`` (expected vote
  fraction) and the 90% interval ``<answer>_fraction_low`` / ``<answer>_fraction_high``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch

from zoobot.data import GalaxyDataset
from zoobot.inference import inference_device, inference_loader, run_batches
from zoobot.transforms import get_transforms

DATAMODULE_KEYS = ("batch_size", "num_workers", "prefetch_factor", "input_size", "channels", "mean", "std")
TRAINER_KEYS = ("accelerator", "devices", "precision", "enable_progress_bar")


def write_table(table: pd.DataFrame, save_loc: str | Path) -> Path:
    """Write ``table`` as CSV or Parquet, chosen by the file extension."""
    path = Path(save_loc)
    if path.suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"save_loc {path} must end in .csv or .parquet.")
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() == ".parquet":
        table.to_parquet(path, index=False)
    else:
        table.to_csv(path, index=False)
    return path


def predict_on_catalog(
    catalog: pd.DataFrame,
    model: L.LightningModule,
    save_loc: str | Path | None = None,
    label_cols: Sequence[str] | None = None,
    inference_transform: Callable[[torch.Tensor], torch.Tensor] | None = None,
    input_size: int | tuple[int, int] | None = None,
    batch_size: int = 64,
    num_workers: int = 0,
    prefetch_factor: int = 4,
    accelerator: str = "auto",
    devices: int = 1,
    precision: str | None = None,
    enable_progress_bar: bool = False,
) -> pd.DataFrame:
    """Predict every catalog row with a finetuned model; optionally write the table.

    Images are read from ``file_loc`` one batch at a time; only the predictions are kept.

    Args:
        catalog: rows with ``id_str`` and ``file_loc``.
        model: a finetuned model (``FinetuneableZoobot*``, or a from-scratch ``ZoobotTree``).
        save_loc: ``.csv`` or ``.parquet`` path to write, or None.
        label_cols: names for the model's outputs (classes, targets or answers); see the module
            docstring. Default: the model's own.
        inference_transform: ``uint8 (C, H, W) -> float32`` callable; default: resize and normalise
            as the model's encoder card says.
        input_size: image side for the default transform (default: the card's).
        batch_size: images per batch.
        num_workers: data-loading worker processes.
        prefetch_factor: batches each worker loads ahead.
        accelerator: ``'auto'``, ``'cpu'``, ``'gpu'``.
        devices: must be 1 (prediction keeps catalog order on one device).
        precision: None for 16-bit mixed on GPU, 32-bit on CPU.
        enable_progress_bar: show a progress bar.

    Returns:
        The predictions table (see the module docstring for its columns).
    """
    if not hasattr(model, "prediction_columns"):
        raise ValueError(
            f"{type(model).__name__} cannot name its predictions; pass a finetuned model "
            f"(FinetuneableZoobotClassifier/Regressor/Tree or ZoobotTree). For features of a plain "
            f"encoder use zoobot.representations.get_representations."
        )
    if devices != 1:
        raise ValueError(f"Prediction runs on one device (got devices={devices!r}); use devices=1.")
    if save_loc is not None and Path(save_loc).suffix.lower() not in (".csv", ".parquet"):
        raise ValueError(f"save_loc {save_loc} must end in .csv or .parquet.")
    card = model.card
    if inference_transform is None:
        inference_transform = get_transforms(input_size or card.input_size, card.channels, card.mean,
                                             card.std, augment=False)
    dataset = GalaxyDataset(catalog, label_cols=None, transform=inference_transform,
                            input_size=input_size or card.input_size, channels=card.channels)
    device = inference_device(accelerator)
    # Pinned host memory lets batches copy to the GPU asynchronously, overlapping the next batch's compute.
    loader = inference_loader(dataset, batch_size, num_workers, prefetch_factor, pin_memory=device.type == "cuda")
    was_training = model.training
    model.to(device).eval()
    try:
        outputs = run_batches(lambda images: model.predict_step({"image": images}, 0), loader, device,
                              precision, progress=enable_progress_bar)
    finally:
        model.train(was_training)
    predictions = (outputs.numpy() if len(outputs)
                   else np.zeros((0, len(model.default_output_names())), dtype=np.float32))
    table = model.prediction_columns(predictions, label_cols)
    table.insert(0, "id_str", list(dataset.id_strs))
    if save_loc is not None:
        write_table(table, save_loc)
    return table


def predict(
    catalog: pd.DataFrame,
    model: L.LightningModule,
    save_loc: str | Path | None = None,
    label_cols: Sequence[str] | None = None,
    datamodule_kwargs: dict[str, Any] | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
    n_samples: int = 1,
) -> pd.DataFrame:
    """Zoobot 2.x ``predict_on_catalog.predict``: the same as :func:`predict_on_catalog`.

    Args:
        catalog: rows with ``id_str`` and ``file_loc``.
        model: a finetuned model.
        save_loc: ``.csv`` or ``.parquet`` path, or None.
        label_cols: names for the model's outputs.
        datamodule_kwargs: any of ``batch_size``, ``num_workers``, ``prefetch_factor``,
            ``input_size``, ``channels``/``mean``/``std`` (these three must match the model's card).
        trainer_kwargs: any of ``accelerator``, ``devices``, ``precision``, ``enable_progress_bar``.
        n_samples: forward passes per galaxy; only 1 is supported (dropout is off when predicting).
    """
    datamodule_kwargs = dict(datamodule_kwargs or {})
    trainer_kwargs = dict(trainer_kwargs or {})
    if n_samples != 1:
        raise ValueError(f"n_samples={n_samples}: only n_samples=1 is supported (one deterministic pass).")
    for given, allowed, what in [(datamodule_kwargs, DATAMODULE_KEYS, "datamodule_kwargs"),
                                 (trainer_kwargs, TRAINER_KEYS, "trainer_kwargs")]:
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise ValueError(f"{what} has unsupported keys {unknown}; allowed: {list(allowed)}.")
    card = model.card
    for key in ("channels", "mean", "std"):
        if key in datamodule_kwargs:
            value = datamodule_kwargs.pop(key)
            expected = getattr(card, key)
            if (tuple(value) if isinstance(value, (list, tuple)) else value) != expected:
                raise ValueError(f"datamodule_kwargs {key}={value} differs from the encoder's {expected}; "
                                 f"leave it out to use the encoder's.")
    return predict_on_catalog(catalog, model, save_loc=save_loc, label_cols=label_cols,
                              **datamodule_kwargs, **trainer_kwargs)

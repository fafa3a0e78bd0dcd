"""Predict a catalog with a finetuned model, streaming images from disk batch by batch.

The table (one row per catalog row, in catalog order) is Zoobot's, then this project's extras
(:mod:`zoobot.prediction_table`):

- classifier: one probability column per class (named by ``label_cols``, else the class names the
  model knows, else ``<label_col>_<k>``), ``id_str``, ``predicted_class`` (the most probable class's
  name); multi-label: a probability column per label column, ``id_str``, ``predicted_<col>`` (0/1).
- regressor: one column per target under the target's name, ``id_str``.
- tree: the Dirichlet concentrations under the bare answer names, ``id_str``, then per answer
  ``<answer>_fraction`` (expected vote fraction), ``<answer>_90pc-lower`` / ``<answer>_90pc-upper``
  (90% interval) and ``<answer>_proportion-asked``.

Files: ``.csv`` and ``.parquet`` hold the whole table; ``.hdf5`` holds Zoobot 2.0's HDF5 layout
(``predictions`` float32 ``(galaxy, column, 1)``, or ``(galaxy, 1)`` for one regression target;
``id_str``; ``label_cols``), Zoobot's columns only, readable by
:func:`zoobot.shared.load_predictions.load_hdf5s`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import lightning as L
import numpy as np
import pandas as pd
import torch

from zoobot.datasets import GalaxyDataset
from zoobot.inference import inference_device, machine_loader, run_batches
from zoobot.prediction_table import zoobot_columns
from zoobot.transforms import get_transforms

if TYPE_CHECKING:
    from zoobot.encoders import EncoderCard

__all__ = ["PREDICTION_SUFFIXES", "predict_on_catalog", "predict", "write_predictions", "write_table"]

PREDICTION_SUFFIXES = (".csv", ".parquet", ".hdf5")
DATAMODULE_KEYS = (
    "batch_size",
    "num_workers",
    "prefetch_factor",
    "input_size",
    "channels",
    "mean",
    "std",
    "resize_after_crop",
    "custom_torchvision_transform",
    "greyscale",
    "use_memory",
)
TRAINER_KEYS = (
    "accelerator",
    "devices",
    "precision",
    "enable_progress_bar",
    "logger",
    "enable_checkpointing",
    "enable_model_summary",
)


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


def _check_save_loc(save_loc: str | Path) -> Path:
    path = Path(save_loc)
    if path.suffix.lower() not in PREDICTION_SUFFIXES:
        raise ValueError(f"save_loc {path} must end in .csv, .parquet or .hdf5.")
    return path


def write_predictions(table: pd.DataFrame, save_loc: str | Path, squeeze_single_column: bool = False) -> Path:
    """Write a predictions table: ``.csv`` / ``.parquet`` whole, ``.hdf5`` in Zoobot's HDF5 layout.

    Args:
        table: a predictions table (Zoobot's columns, ``id_str``, extras).
        save_loc: the file; its extension chooses the format.
        squeeze_single_column: HDF5 ``predictions`` ``(galaxy, 1)`` rather than ``(galaxy, 1, 1)`` when
            there is one column, as Zoobot 2.0 writes a regressor's.
    """
    from zoobot.shared.save_predictions import predictions_to_hdf5

    path = _check_save_loc(save_loc)
    if path.suffix.lower() != ".hdf5":
        return write_table(table, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = zoobot_columns(table)
    values = table[columns].to_numpy(dtype=np.float32)
    values = values if squeeze_single_column and len(columns) == 1 else values[:, :, None]
    predictions_to_hdf5(values, list(table["id_str"]), columns, str(path))
    return path


def predict_on_catalog(
    catalog: pd.DataFrame,
    model: L.LightningModule,
    save_loc: str | Path | None = None,
    label_cols: Sequence[str] | None = None,
    inference_transform: Callable[[Any], torch.Tensor] | None = None,
    input_size: int | tuple[int, int] | None = None,
    batch_size: int | None = None,
    num_workers: int | None = None,
    prefetch_factor: int = 4,
    accelerator: str = "auto",
    devices: int = 1,
    precision: str | None = None,
    enable_progress_bar: bool = False,
    n_samples: int = 1,
    seed: int | None = 0,
    n_volunteers: Any = None,
    interval_levels: Sequence[float] = (0.9,),
    calibration: dict[str, Any] | None = None,
    *,
    passes: list[np.ndarray] | None = None,
) -> pd.DataFrame:
    """Predict every catalog row with a finetuned model; optionally write the table.

    Images are read from ``file_loc`` one batch at a time; only the predictions are kept. With
    ``n_samples`` above 1 the encoder runs once per image and the head ``n_samples`` times with its
    dropout on (Monte Carlo dropout): the table holds the mean prediction, and uncertainty columns
    follow the extras (:mod:`zoobot.uncertainty.columns`: spread across passes, mutual information,
    a tree's latent and predictive intervals).

    Args:
        catalog: rows with ``id_str`` and ``file_loc``.
        model: a finetuned model (``FinetuneableZoobot*``, or a from-scratch ``ZoobotTree``).
        save_loc: ``.csv``, ``.parquet`` or ``.hdf5`` path to write, or None (see the module docstring).
        label_cols: names for the model's outputs (classes, targets or answers); see the module
            docstring. Default: the model's own.
        inference_transform: applied to each image, given as a PIL image (``'RGB'``, or ``'L'`` for a
            one-channel encoder), as Zoobot 2.9's ``predict`` does (e.g. galaxy-datasets'
            ``get_galaxy_transform(minimal_view_config())`` or any torchvision transform); it returns the
            encoder's input (a PIL image or ``uint8`` tensor is scaled to [0, 1]). FITS files are
            stretched to 8 bits first. Default: resize to the encoder's input size, scale to [0, 1] and
            normalise as the model's encoder card says.
        input_size: image side for the default transform (default: the card's).
        batch_size: images per batch (default: the machine's, :mod:`zoobot.machine`: 64 on a CPU).
        num_workers: data-loading worker processes (default: the machine's: on a CPU none, threads of
            this process decode the next batch while the encoder computes; on a GPU worker processes,
            none for a catalog of two batches or fewer).
        prefetch_factor: batches each worker loads ahead.
        accelerator: ``'auto'``, ``'cpu'``, ``'gpu'``.
        devices: must be 1 (prediction keeps catalog order on one device); for several GPUs or nodes,
            and for catalogs too big for memory, use :func:`zoobot.shards.predict_to_shards`.
        precision: None for the machine's (bf16 or fp16 mixed on a GPU, 32-bit on a CPU).
        enable_progress_bar: show a progress bar.
        n_samples: forward passes per galaxy; above 1 the head's dropout is on.
        seed: seeds the dropout masks (None: torch's global generator).
        n_volunteers: trees: volunteers per question for the predictive intervals (a number, ``(rows,)``
            or ``(rows, questions)``); default the catalog's own vote counts or ``<question>_total-votes``
            where it has them, else no predictive interval.
        interval_levels: levels of the uncertainty columns' intervals.
        calibration: a run's ``calibration.json`` (or its ``'correction'``) to apply to the predictions
            (:mod:`zoobot.uncertainty.corrections`).
        passes: a list to which every pass's predictions are appended, in Zoobot's columns, as one
            ``(galaxy, column, pass)`` array (what Zoobot 2.0's prediction files hold).

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
    from zoobot.uncertainty.sampling import check_sample_count

    check_sample_count(n_samples)
    if save_loc is not None:
        _check_save_loc(save_loc)
    card = cast("EncoderCard", model.card)  # every finetuned model has one (checked above: it names predictions)
    size = input_size or card.input_size
    transform = inference_transform or get_transforms(size, card.channels, card.mean, card.std, augment=False)
    dataset = GalaxyDataset(
        catalog,
        label_cols=None,
        transform=transform,
        input_size=size,
        channels=card.channels,
        pil_images=inference_transform is not None,
    )
    device = inference_device(accelerator)
    loader, settings = machine_loader(dataset, device, batch_size, num_workers, prefetch_factor)
    was_training = model.training
    model.to(device).eval()
    # One pass: the model's own prediction step. Several: the encoder's features once, for the head's passes.
    step: Callable[[torch.Tensor], torch.Tensor] = (
        (lambda images: model.predict_step({"image": images}, 0))
        if n_samples == 1
        else cast(Callable[[torch.Tensor], torch.Tensor], model.encoder)
    )
    try:
        outputs = run_batches(
            step,
            loader,
            device,
            precision or (settings.precision if device.type == "cuda" else None),
            progress=enable_progress_bar,
            channels_last=settings.channels_last and device.type == "cuda",
        )
    finally:
        model.train(was_training)
    values = (
        outputs.numpy()
        if len(outputs) or n_samples > 1
        else np.zeros((0, len(model.default_output_names())), dtype=np.float32)  # type: ignore[operator]
    )
    table, samples = _predictions_table(
        model,
        values,
        n_samples,
        seed,
        label_cols,
        list(dataset.id_strs),
        catalog,
        n_volunteers,
        interval_levels,
        calibration,
    )
    if save_loc is not None:
        write_predictions(table, save_loc, squeeze_single_column=_squeezed(model))
    if passes is not None:
        passes.append(_zoobot_passes(model, table, samples, label_cols))
    return table


def _squeezed(model: Any) -> bool:
    """Whether Zoobot 2.0 wrote this model's HDF5 predictions without the answer axis (a regressor's)."""
    from zoobot.finetune import FinetuneableZoobotRegressor

    return isinstance(model, FinetuneableZoobotRegressor)


def _zoobot_passes(model: Any, table: pd.DataFrame, samples: np.ndarray | None, label_cols: Any) -> np.ndarray:
    """Each pass in Zoobot's columns, ``(galaxy, column, pass)`` float32: what Zoobot 2.0's files hold."""
    columns, ids = zoobot_columns(table), list(table["id_str"])
    if samples is None:
        return table[columns].to_numpy(dtype=np.float32)[:, :, None]
    each = [model.prediction_columns(s.astype(np.float32), label_cols, id_str=ids)[columns] for s in samples]
    return np.stack([pass_.to_numpy(dtype=np.float32) for pass_ in each], axis=-1)


def _write_zoobot_20(model: Any, table: pd.DataFrame, passes: np.ndarray, save_loc: str | Path) -> None:
    """Zoobot 2.0's file: HDF5 ``predictions`` ``(galaxy, column, pass)`` (a regressor's ``(galaxy, pass)``),
    or its CSV: ``id_str`` then ``<column>_pred``, a number per cell for one pass, a JSON list for several
    (a regressor's: the first pass, as 2.0 wrote it)."""
    from zoobot.shared.save_predictions import predictions_to_csv, predictions_to_hdf5

    path = _check_save_loc(save_loc)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns, ids = zoobot_columns(table), list(table["id_str"])
    values = passes[:, 0, :] if _squeezed(model) and len(columns) == 1 else passes
    write = predictions_to_hdf5 if path.suffix.lower() == ".hdf5" else predictions_to_csv
    write(values, ids, columns, str(path))


def _predictions_table(
    model: Any,
    outputs: Any,
    n_samples: int,
    seed: int | None,
    label_cols: Any,
    id_str: list[str],
    catalog: pd.DataFrame,
    n_volunteers: Any,
    interval_levels: Sequence[float],
    calibration: dict[str, Any] | None,
) -> tuple[pd.DataFrame, np.ndarray | None]:
    """The table from one pass's predictions, or from the encoder's features for ``n_samples`` dropout passes,
    and the passes ``(S, B, K)`` it was made from (None: one plain pass, the table's own columns).

    A plain pass with nothing to add is the model's own table, exactly; uncertainty columns come from
    :mod:`zoobot.uncertainty.columns`.
    """
    values = np.asarray(outputs)
    tree = hasattr(model, "schema")
    volunteers_known = n_volunteers is not None or (tree and _has_votes(catalog, model.schema))
    if n_samples == 1 and calibration is None and not volunteers_known:
        return model.prediction_columns(values, label_cols, id_str=id_str), None
    from zoobot.uncertainty.columns import prediction_samples, predictions_table

    samples = prediction_samples(model, values, n_samples, seed, calibration)
    table = predictions_table(model, samples, label_cols, id_str, catalog, n_volunteers, interval_levels, calibration)
    return table, samples


def _has_votes(catalog: pd.DataFrame, schema: Any) -> bool:
    """Whether the catalog says how many volunteers answered each question."""
    from zoobot.uncertainty.intervals import catalog_volunteer_counts

    return catalog_volunteer_counts(catalog, schema) is not None


def _zoobot_20_positionals(save_loc: Any, inference_transform: Any, n_samples: int | None) -> tuple[Any, Any, int]:
    """Zoobot 2.0's positional order ``(catalog, model, n_samples, label_cols, save_loc, ...)``: the
    third argument is then a number and the fifth the file."""
    if isinstance(save_loc, (int, np.integer)) and not isinstance(save_loc, bool):
        if n_samples is not None:
            raise TypeError("predict() got n_samples twice (as the third argument and by name).")
        return inference_transform, None, int(save_loc)
    return save_loc, inference_transform, 1 if n_samples is None else n_samples


def predict(
    catalog: pd.DataFrame,
    model: L.LightningModule,
    save_loc: str | Path | None = None,
    label_cols: Sequence[str] | None = None,
    inference_transform: Callable[[Any], torch.Tensor] | None = None,
    datamodule_kwargs: dict[str, Any] | None = None,
    trainer_kwargs: dict[str, Any] | None = None,
    n_samples: int | None = None,
) -> pd.DataFrame:
    """Zoobot 2.x ``predict_on_catalog.predict``: :func:`predict_on_catalog` with Zoobot's arguments.

    Both spellings work: 2.9's ``predict(catalog, model, save_loc, label_cols, inference_transform,
    datamodule_kwargs, trainer_kwargs)`` and 2.0's ``predict(catalog, model, n_samples, label_cols,
    save_loc, datamodule_kwargs, trainer_kwargs)``, by position or by name. Returns the predictions
    table (2.0 returned None); ``save_loc`` may end in ``.csv``, ``.parquet`` or ``.hdf5``.

    Args:
        catalog: rows with ``id_str`` and ``file_loc``.
        model: a finetuned model.
        save_loc: the file to write, or None.
        label_cols: names for the model's outputs.
        inference_transform: see :func:`predict_on_catalog` (optional here; 2.9 requires it).
        datamodule_kwargs: any of ``batch_size``, ``num_workers``, ``prefetch_factor``, ``input_size``
            (or 2.0's ``resize_after_crop``), ``custom_torchvision_transform`` (2.0's name for the
            transform; a ``(train, test)`` pair uses the test one), ``channels`` / ``greyscale`` / ``mean``
            / ``std`` (these must match the model's card), ``use_memory`` (no effect: images are streamed).
        trainer_kwargs: any of ``accelerator``, ``devices``, ``precision``, ``enable_progress_bar``;
            ``logger``, ``enable_checkpointing``, ``enable_model_summary`` have no effect (no Trainer runs).
        n_samples: forward passes per galaxy (2.0). Above 1 the head's dropout is on (Monte Carlo dropout:
            the encoder once, the head ``n_samples`` times); the table holds the mean and uncertainty
            columns (see :func:`predict_on_catalog`).
    """
    spelled_20 = n_samples is not None or (isinstance(save_loc, (int, np.integer)) and not isinstance(save_loc, bool))
    save_loc, inference_transform, n_samples = _zoobot_20_positionals(save_loc, inference_transform, n_samples)
    datamodule_kwargs = dict(datamodule_kwargs or {})
    trainer_kwargs = dict(trainer_kwargs or {})
    if "custom_albumentation_transform" in datamodule_kwargs:
        raise ValueError(
            "custom_albumentation_transform (albumentations) is not supported: pass a torchvision "
            "transform as inference_transform (it receives a PIL image, as in Zoobot 2.9)."
        )
    for given, allowed, what in [
        (datamodule_kwargs, DATAMODULE_KEYS, "datamodule_kwargs"),
        (trainer_kwargs, TRAINER_KEYS, "trainer_kwargs"),
    ]:
        unknown = sorted(set(given) - set(allowed))
        if unknown:
            raise ValueError(f"{what} has unsupported keys {unknown}; allowed: {list(allowed)}.")
    for key in ("logger", "enable_checkpointing", "enable_model_summary"):
        trainer_kwargs.pop(key, None)
    datamodule_kwargs.pop("use_memory", None)
    if "resize_after_crop" in datamodule_kwargs:
        datamodule_kwargs.setdefault("input_size", datamodule_kwargs.pop("resize_after_crop"))
    custom = datamodule_kwargs.pop("custom_torchvision_transform", None)
    if custom is not None:
        if inference_transform is not None:
            raise ValueError("Give inference_transform or datamodule_kwargs['custom_torchvision_transform'], not both.")
        inference_transform = custom[1] if isinstance(custom, (tuple, list)) else custom
    card = model.card
    if "greyscale" in datamodule_kwargs:
        datamodule_kwargs["channels"] = 1 if datamodule_kwargs.pop("greyscale") else 3
    for key in ("channels", "mean", "std"):
        if key in datamodule_kwargs:
            value = datamodule_kwargs.pop(key)
            expected = getattr(card, key)
            if (tuple(value) if isinstance(value, (list, tuple)) else value) != expected:
                raise ValueError(
                    f"datamodule_kwargs {key}={value} differs from the encoder's {expected}; "
                    f"leave it out to use the encoder's."
                )
    # 2.9's predict has no n_samples: given (by position or name), the call is 2.0's, and so is the file.
    zoobot_20_file = spelled_20 and save_loc is not None and Path(save_loc).suffix.lower() in (".csv", ".hdf5")
    passes: list[np.ndarray] = []
    table = predict_on_catalog(
        catalog,
        model,
        save_loc=None if zoobot_20_file else save_loc,
        label_cols=label_cols,
        inference_transform=inference_transform,
        n_samples=n_samples,
        passes=passes,
        **datamodule_kwargs,
        **trainer_kwargs,
    )
    if zoobot_20_file:
        _write_zoobot_20(model, table, passes[0], save_loc)
    return table

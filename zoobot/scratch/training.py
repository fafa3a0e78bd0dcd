"""Train a :class:`~zoobot.scratch.tree.ZoobotTree` from scratch and export its encoder for finetuning.

:func:`train_default_zoobot_from_scratch` wires the model to a :class:`zoobot.data.CatalogDataModule` and a
trainer, and writes the trained encoder in the format :func:`zoobot.encoders.load_encoder` reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch

from zoobot.deprecation import warn_deprecated
from zoobot.encoders import save_encoder
from zoobot.finetune import FinetuneArgumentError
from zoobot.finetune.trainer import quiet_lightning
from zoobot.scratch.tree import ZoobotTree


def get_default_callbacks(
    save_dir: str | Path,
    patience: int = 8,
    checkpoint_file_template: str | None = None,
    auto_insert_metric_name: bool = True,
    save_top_k: int = 3,
) -> tuple[L.Callback, list[L.Callback]]:
    """Zoobot's from-scratch callbacks: the best checkpoints by ``validation/supervised_loss`` in
    ``save_dir/checkpoints`` (weights only), and early stopping on it.

    Returns:
        ``(checkpoint_callback, [checkpoint_callback, early_stopping_callback])``.
    """
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint

    checkpoint = ModelCheckpoint(
        dirpath=str(Path(save_dir) / "checkpoints"),
        monitor="validation/supervised_loss",
        save_weights_only=True,
        mode="min",
        filename=checkpoint_file_template,
        auto_insert_metric_name=auto_insert_metric_name,
        save_top_k=save_top_k,
    )
    early_stopping = EarlyStopping(monitor="validation/supervised_loss", patience=patience, check_finite=True)
    return checkpoint, [checkpoint, early_stopping]


def _one(new_name: str, new: Any, old_name: str, old: Any, default: Any) -> Any:
    """The value of an argument that has a Zoobot name and this package's name: either, not two different ones."""
    if old is None:
        return new
    if new != default and new != old:
        raise FinetuneArgumentError(f"{old_name}={old!r} and {new_name}={new!r} disagree; give only {new_name}.")
    return old


def train_default_zoobot_from_scratch(
    save_dir: str | Path,
    schema: Any,
    catalog: pd.DataFrame | None = None,
    train_catalog: pd.DataFrame | None = None,
    val_catalog: pd.DataFrame | None = None,
    test_catalog: pd.DataFrame | None = None,
    epochs: int = 1000,
    patience: int = 8,
    architecture_name: str = "efficientnet_b0",
    timm_kwargs: dict[str, Any] | None = None,
    batch_size: int = 128,
    dropout_rate: float = 0.2,
    learning_rate: float = 1e-3,
    betas: tuple[float, float] = (0.9, 0.999),
    weight_decay: float = 0.01,
    scheduler_params: dict[str, Any] | None = None,
    nodes: int | None = None,
    gpus: int | None = None,
    accumulate_gradients: int = 1,
    sync_batchnorm: bool = False,
    num_workers: int = 4,
    prefetch_factor: int = 4,
    mixed_precision: bool = False,
    compile_encoder: bool = False,
    wandb_logger: Any = None,
    checkpoint_file_template: str | None = None,
    auto_insert_metric_name: bool = True,
    save_top_k: int = 3,
    extra_callbacks: Sequence[L.Callback] | None = None,
    random_state: int | None = None,
    color: bool | None = None,
    resize_after_crop: int | None = None,
    crop_scale_bounds: tuple[float, float] = (0.7, 0.8),
    crop_ratio_bounds: tuple[float, float] = (0.9, 1.1),
    transform_cfg: Any = None,
    train_transform_cfg: Any = None,
    test_transform_cfg: Any = None,
    train_urls: Sequence[str] | None = None,
    val_urls: Sequence[str] | None = None,
    test_urls: Sequence[str] | None = None,
    cache_dir: str | None = None,
    channels: int = 3,
    input_size: int = 224,
    scheduler_kwargs: dict[str, Any] | None = None,
    train_fraction: float = 0.7,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    augment: bool = True,
    accelerator: str = "auto",
    devices: int | str = "auto",
    num_nodes: int = 1,
    precision: str | None = None,
    seed: int = 42,
    enable_progress_bar: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> tuple[ZoobotTree, L.Trainer]:
    """Train a :class:`ZoobotTree` on vote counts and export its encoder to ``save_dir/encoder``.

    Zoobot 2.0's and 2.9's arguments work, with their defaults; where this package has its own name the two
    must agree: ``nodes`` is ``num_nodes``, ``gpus=k`` is ``accelerator='gpu', devices=k`` (``gpus=0`` the CPU;
    None, the default here, picks the accelerator: Zoobot's default of 2 GPUs fails on a laptop),
    ``mixed_precision=True`` is ``precision='16-mixed'``, ``random_state`` is ``seed``, ``wandb_logger`` is any
    Lightning logger, ``extra_callbacks`` are added to ``callbacks``, ``color=False`` (2.0) is ``channels=1``,
    ``resize_after_crop`` (2.0) is ``input_size``; ``crop_scale_bounds`` and ``crop_ratio_bounds`` shape the
    training crop. Refused, with the reason: galaxy-datasets' transform configs (``transform_cfg``, ...: images
    are resized to ``input_size`` and augmented with ``augment``) and webdataset shards (``train_urls``, ...).

    Writes ``save_dir/checkpoints/`` (the best by ``validation/supervised_loss``, weights only, as Zoobot's
    :func:`get_default_callbacks`), ``save_dir/csv_logs/`` (or the given logger) and ``save_dir/encoder/``
    (timm Hub format, loadable with ``load_encoder``; the best weights). Tests on the test split when there is one.

    Returns:
        ``(model, trainer)``; the model holds the best weights.
    """
    from lightning.pytorch.loggers import CSVLogger

    from zoobot.data import CatalogDataModule
    from zoobot.finetune import as_schema

    refused = {
        "transform_cfg": transform_cfg,
        "train_transform_cfg": train_transform_cfg,
        "test_transform_cfg": test_transform_cfg,
        "train_urls": train_urls,
        "val_urls": val_urls,
        "test_urls": test_urls,
        "cache_dir": cache_dir,
    }
    given = [name for name, value in refused.items() if value is not None]
    if given:
        raise FinetuneArgumentError(
            f"{', '.join(given)} cannot apply here: images come from catalogs (not webdataset shards) and are "
            "resized to input_size and augmented with augment=True (not galaxy-datasets' transform configs). "
            "Give catalog (or train/val/test_catalog), input_size, channels and augment instead."
        )
    if color is not None:
        warn_deprecated("color is deprecated; use channels (color=False is channels=1).")
        channels = _one("channels", channels, "color", 3 if color else 1, 3)
    input_size = _one("input_size", input_size, "resize_after_crop", resize_after_crop, 224)
    num_nodes = _one("num_nodes", num_nodes, "nodes", nodes, 1)
    seed = _one("seed", seed, "random_state", random_state, 42)
    if gpus is not None:
        wanted = ("gpu", gpus) if gpus > 0 else ("cpu", "auto")
        if (accelerator, devices) not in (("auto", "auto"), wanted):
            raise FinetuneArgumentError(
                f"gpus={gpus} and accelerator={accelerator!r}, devices={devices!r} disagree; "
                "give only accelerator and devices."
            )
        accelerator, devices = wanted
    if mixed_precision:
        precision = _one("precision", precision, "mixed_precision", "16-mixed", None)
    schema = as_schema(schema)
    save_dir = Path(save_dir)
    L.seed_everything(seed, workers=True, verbose=False)
    model = ZoobotTree(
        schema=schema,
        architecture_name=architecture_name,
        channels=channels,
        compile_encoder=compile_encoder,
        timm_kwargs=timm_kwargs,
        dropout_rate=dropout_rate,
        learning_rate=learning_rate,
        betas=betas,
        weight_decay=weight_decay,
        scheduler_params=scheduler_params,
        input_size=input_size,
        scheduler_kwargs=scheduler_kwargs,
        prog_bar=enable_progress_bar,
        seed=seed,
    )
    splits: dict[str, Any] = (
        {
            "catalog": catalog,
            "train_fraction": train_fraction,
            "val_fraction": val_fraction,
            "test_fraction": test_fraction,
        }
        if catalog is not None
        else {"train_catalog": train_catalog, "val_catalog": val_catalog, "test_catalog": test_catalog}
    )
    datamodule = CatalogDataModule(
        label_cols=schema.label_cols,
        batch_size=batch_size,
        num_workers=num_workers,
        prefetch_factor=prefetch_factor,
        input_size=input_size,
        channels=channels,
        augment=augment,
        seed=seed,
        card=model.card,
        crop_scale_bounds=crop_scale_bounds,
        crop_ratio_bounds=crop_ratio_bounds,
        **splits,
    )
    checkpoint, default_callbacks = get_default_callbacks(
        save_dir, patience, checkpoint_file_template, auto_insert_metric_name, save_top_k
    )
    quiet_lightning()
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    chosen_precision: Any = precision or ("16-mixed" if on_gpu else "32-true")
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        precision=chosen_precision,
        callbacks=[*default_callbacks, *(extra_callbacks or ()), *callbacks],
        logger=wandb_logger if wandb_logger is not None else CSVLogger(save_dir=str(save_dir), name="csv_logs"),
        accumulate_grad_batches=accumulate_gradients,
        sync_batchnorm=sync_batchnorm,
        gradient_clip_val=0.3,
        num_sanity_val_steps=0,
        enable_progress_bar=enable_progress_bar,
        default_root_dir=str(save_dir),
    )
    trainer.fit(model, datamodule)
    best_path = getattr(checkpoint, "best_model_path", "")  # a ModelCheckpoint
    if best_path:
        best = torch.load(best_path, map_location="cpu", weights_only=True)
        model.load_state_dict(best["state_dict"])
    if datamodule.test_catalog is not None and len(datamodule.test_catalog):
        trainer.test(model, datamodule, verbose=False)
    if trainer.is_global_zero:
        card = dataclasses.replace(
            model.card, name=save_dir.name or architecture_name, source=str(save_dir / "encoder")
        )
        save_encoder(model.encoder.cpu(), card, save_dir / "encoder")
    return model, trainer

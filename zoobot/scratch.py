"""Train a Zoobot encoder from scratch on decision-tree vote counts, and export it for finetuning.

:class:`ZoobotTree` is the finetuning tree model (:class:`zoobot.finetune.FinetuneableZoobotTree`)
with a randomly initialised timm encoder trained end to end. :func:`train_default_zoobot_from_scratch`
wires it to a :class:`zoobot.data.CatalogDataModule` and a trainer, and writes the trained encoder in
the format :func:`zoobot.encoders.load_encoder` reads.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import lightning as L
import pandas as pd
import torch
from torch import nn

from zoobot.encoders import get_encoder_dim, load_encoder, save_encoder
from zoobot.finetune import FinetuneableZoobotTree, get_trainer

__all__ = [
    "ZoobotTree",
    "DirichletConcentrations",
    "get_pytorch_encoder",
    "get_pytorch_dirichlet_head",
    "get_encoder_dim",
    "train_default_zoobot_from_scratch",
]


class DirichletConcentrations(nn.Module):
    """Map unbounded outputs to Dirichlet concentrations in (1, 101)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.0 + 100.0 * torch.sigmoid(x)


def get_pytorch_encoder(architecture_name: str = "convnext_nano", channels: int = 3) -> nn.Module:
    """A randomly initialised timm encoder returning pooled features (``num_classes=0``)."""
    encoder, _ = load_encoder(architecture_name, channels=channels)
    return encoder


def get_pytorch_dirichlet_head(encoder_dim: int, output_dim: int, dropout_rate: float = 0.2) -> nn.Module:
    """Dropout, a linear layer and concentrations in (1, 101): features ``(B, D)`` -> ``(B, output_dim)``."""
    return nn.Sequential(nn.Dropout(dropout_rate), nn.Linear(encoder_dim, output_dim), DirichletConcentrations())


def _schema_from_groups(question_index_groups: Sequence[Sequence[int]]) -> Any:
    """A flat schema (every question always asked) with generic names, for Zoobot 2.x index groups."""
    from zoobot.schemas import Schema

    pairs = {f"question_{q}": [f"_answer_{a}" for a in range(int(end) - int(start) + 1)]
             for q, (start, end) in enumerate(question_index_groups)}
    return Schema(pairs, {q: None for q in pairs})


class ZoobotTree(FinetuneableZoobotTree):
    """A Zoobot tree model trained from scratch: random timm encoder + Dirichlet head, AdamW.

    Args:
        architecture_name: timm architecture, e.g. ``'convnext_atto'``, ``'convnext_nano'``.
        schema: the decision tree (``Schema`` or its dict).
        question_index_groups: Zoobot 2.x alternative to ``schema``: ``(start, end)`` per question.
        channels: image channels (1 or 3).
        input_size: image side the encoder is trained on (recorded in its card).
        learning_rate: AdamW learning rate.
        weight_decay: AdamW weight decay.
        dropout_rate: dropout before the head.
        scheduler_kwargs: optional cosine schedule with warmup (see ``FinetuneableZoobotAbstract``).
        encoder_card: set by ``load_from_checkpoint``.
        prog_bar: show loss in the progress bar.
        seed: recorded for reproducibility.
    """

    def __init__(
        self,
        architecture_name: str = "convnext_nano",
        schema: Optional[Any] = None,
        question_index_groups: Optional[list[tuple[int, int]]] = None,
        channels: int = 3,
        input_size: int = 224,
        learning_rate: float = 1e-3,
        weight_decay: float = 0.01,
        dropout_rate: float = 0.2,
        scheduler_kwargs: Optional[dict[str, Any]] = None,
        encoder_card: Optional[dict[str, Any]] = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        if (schema is None) == (question_index_groups is None):
            raise ValueError("Give either schema or question_index_groups (exactly one).")
        if schema is None:
            schema = _schema_from_groups(question_index_groups)
        super().__init__(
            schema=schema, name=None if encoder_card else architecture_name, channels=channels,
            training_mode="full", layer_decay=1.0, learning_rate=learning_rate, weight_decay=weight_decay,
            head_dropout_prob=dropout_rate, scheduler_kwargs=scheduler_kwargs, encoder_card=encoder_card,
            # Trained from scratch, its batch-norm statistics are learned too, also when a reloaded
            # checkpoint (whose card no longer says "random") goes on training.
            freeze_norm_stats=False, prog_bar=prog_bar, seed=seed,
        )
        self.card = dataclasses.replace(self.card, input_size=(channels, input_size, input_size),
                                        description=f"{architecture_name} trained from scratch by Zoobot")
        self.hparams.update(schema=self.schema.to_dict(), question_index_groups=None,
                            encoder_card=self.card.to_dict())


def train_default_zoobot_from_scratch(
    save_dir: Union[str, Path],
    schema: Any,
    catalog: Optional[pd.DataFrame] = None,
    train_catalog: Optional[pd.DataFrame] = None,
    val_catalog: Optional[pd.DataFrame] = None,
    test_catalog: Optional[pd.DataFrame] = None,
    architecture_name: str = "convnext_atto",
    channels: int = 3,
    input_size: int = 224,
    resize_after_crop: Optional[int] = None,
    batch_size: int = 128,
    epochs: int = 1000,
    patience: int = 8,
    learning_rate: float = 1e-3,
    weight_decay: float = 0.01,
    dropout_rate: float = 0.2,
    scheduler_kwargs: Optional[dict[str, Any]] = None,
    train_fraction: float = 0.7,
    val_fraction: float = 0.1,
    test_fraction: float = 0.2,
    augment: bool = True,
    num_workers: int = 4,
    prefetch_factor: int = 4,
    accelerator: str = "auto",
    devices: Union[int, str] = "auto",
    num_nodes: int = 1,
    precision: Optional[str] = None,
    seed: int = 42,
    enable_progress_bar: bool = True,
    callbacks: Sequence[L.Callback] = (),
) -> tuple[ZoobotTree, L.Trainer]:
    """Train a :class:`ZoobotTree` on vote counts and export its encoder to ``save_dir/encoder``.

    Writes ``save_dir/checkpoints/`` (best by ``val_loss``), ``save_dir/csv_logs/`` and
    ``save_dir/encoder/`` (timm Hub format, loadable with ``load_encoder``; also the best weights).
    Tests on the test split when there is one.

    Args:
        save_dir: output folder.
        schema: the decision tree; the catalogs hold its ``label_cols`` as vote counts.
        catalog: one catalog to split by ``train/val/test_fraction``; or give the three catalogs.
        train_catalog, val_catalog, test_catalog: ready-made splits.
        architecture_name: timm architecture.
        channels: 1 (greyscale) or 3 (colour).
        input_size: image side fed to the encoder.
        resize_after_crop: Zoobot 2.x name of ``input_size``.
        batch_size: galaxies per batch.
        epochs: most epochs.
        patience: early-stopping patience in epochs.
        learning_rate, weight_decay, dropout_rate, scheduler_kwargs: see :class:`ZoobotTree`.
        train_fraction, val_fraction, test_fraction: split of ``catalog``.
        augment: random rotations, flips and crops for training.
        num_workers, prefetch_factor: data loading.
        accelerator, devices, num_nodes, precision: see :func:`zoobot.finetune.get_trainer`.
        seed: seeds everything, including the split.
        enable_progress_bar: show a progress bar.
        callbacks: extra Lightning callbacks.

    Returns:
        ``(model, trainer)``; the model holds the best weights.
    """
    from zoobot.data import CatalogDataModule
    from zoobot.finetune import as_schema

    if resize_after_crop is not None:
        if input_size not in (224, resize_after_crop):
            raise ValueError(f"resize_after_crop={resize_after_crop} and input_size={input_size} disagree; "
                             f"give only input_size.")
        input_size = resize_after_crop
    schema = as_schema(schema)
    save_dir = Path(save_dir)
    L.seed_everything(seed, workers=True, verbose=False)
    model = ZoobotTree(architecture_name=architecture_name, schema=schema, channels=channels,
                       input_size=input_size, learning_rate=learning_rate, weight_decay=weight_decay,
                       dropout_rate=dropout_rate, scheduler_kwargs=scheduler_kwargs,
                       prog_bar=enable_progress_bar, seed=seed)
    splits: dict[str, Any] = (
        {"catalog": catalog, "train_fraction": train_fraction, "val_fraction": val_fraction,
         "test_fraction": test_fraction}
        if catalog is not None else
        {"train_catalog": train_catalog, "val_catalog": val_catalog, "test_catalog": test_catalog}
    )
    datamodule = CatalogDataModule(label_cols=schema.label_cols, batch_size=batch_size, num_workers=num_workers,
                                   prefetch_factor=prefetch_factor, input_size=input_size, channels=channels,
                                   augment=augment, seed=seed, card=model.card, **splits)
    trainer = get_trainer(save_dir, max_epochs=epochs, patience=patience, accelerator=accelerator,
                          devices=devices, num_nodes=num_nodes, precision=precision, callbacks=callbacks,
                          enable_progress_bar=enable_progress_bar)
    trainer.fit(model, datamodule)
    best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
    if best:
        state = torch.load(best, map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict(state)
    if datamodule.test_catalog is not None and len(datamodule.test_catalog):
        trainer.test(model, datamodule, verbose=False)
    if trainer.is_global_zero:
        card = dataclasses.replace(model.card, name=save_dir.name or architecture_name,
                                   source=str(save_dir / "encoder"))
        save_encoder(model.encoder.cpu(), card, save_dir / "encoder")
    return model, trainer

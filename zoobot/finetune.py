"""Finetune a pretrained encoder on your own labels: classification, regression, decision trees.

One base LightningModule, :class:`FinetuneableZoobotAbstract`, builds the encoder, head, loss and
metrics through small hooks and has a single shared step for training, validation, test and
prediction. :class:`FinetuneableZoobotClassifier`, :class:`FinetuneableZoobotRegressor` and
:class:`FinetuneableZoobotTree` only say what differs.

Both published Zoobot argument sets work: ``name=`` / ``checkpoint_loc=`` / ``encoder=`` /
``zoobot_checkpoint_loc=`` with ``training_mode``, ``layer_decay``, ``head_dropout_prob``, and the
older ``n_blocks``, ``lr_decay``, ``dropout_prob``, ``cosine_schedule`` (translated, with a
``DeprecationWarning``, by :func:`resolve_finetune_settings`).

Head-only training (``training_mode='head_only'``) freezes the encoder; with a datamodule that has
``cache_features`` (``zoobot.data.CatalogDataModule``) the encoder runs once over the data and the
head then trains on the cached features.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping, Optional, Sequence, Union

import lightning as L
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import torchmetrics as tm
from torch import nn
from torchmetrics.wrappers import ClasswiseWrapper

from zoobot.inference import reuse_freed_memory
from zoobot.encoders import (
    EncoderCard,
    card_for_module,
    encoder_from_card,
    is_random_init,
    load_encoder,
)

TrainingMode = Literal["full", "head_only"]
Stage = Literal["train", "val", "test", "predict"]
SCHEDULER_KEYS = ("warmup_epochs", "max_epochs", "min_lr_factor")


class FinetuneArgumentError(ValueError):
    """Finetuning arguments that are missing or contradict each other."""


@dataclass(frozen=True)
class FinetuneSettings:
    """Finetuning choices after translating the older Zoobot argument names."""

    training_mode: TrainingMode
    n_blocks: Optional[int]
    layer_decay: float
    head_dropout_prob: float
    scheduler_kwargs: Optional[dict[str, Any]]
    freeze_norm_stats: Optional[bool] = None


def resolve_finetune_settings(
    training_mode: Optional[TrainingMode],
    layer_decay: Optional[float],
    head_dropout_prob: Optional[float],
    scheduler_kwargs: Optional[Mapping[str, Any]],
    n_blocks: Optional[int],
    lr_decay: Optional[float],
    dropout_prob: Optional[float],
    cosine_schedule: Optional[bool],
    warmup_epochs: Optional[int],
    max_cosine_epochs: Optional[int],
    max_learning_rate_reduction_factor: Optional[float],
    freeze_norm_stats: Optional[bool] = None,
    always_train_batchnorm: Optional[bool] = None,
) -> FinetuneSettings:
    """Translate old Zoobot argument names (the only place that does) and refuse contradictions.

    ``n_blocks=0`` means ``training_mode='head_only'``; ``n_blocks=k`` means ``'full'`` with only
    the top ``k`` encoder blocks trained (also allowed with ``training_mode='full'``).
    ``lr_decay`` is ``layer_decay``, ``dropout_prob`` is ``head_dropout_prob``, and
    ``cosine_schedule=True`` (with ``warmup_epochs``, ``max_cosine_epochs``,
    ``max_learning_rate_reduction_factor``) is ``scheduler_kwargs``. Zoobot's
    ``always_train_batchnorm=True`` ("do not update batchnorm stats during finetuning") is
    ``freeze_norm_stats=True``.

    Raises:
        FinetuneArgumentError: an old and a new argument say different things.
    """

    def deprecated(old: str, new: str) -> None:
        warnings.warn(f"{old} is deprecated; use {new} instead.", DeprecationWarning, stacklevel=5)

    if n_blocks is not None:
        if n_blocks < 0:
            raise FinetuneArgumentError(f"n_blocks must be 0 or more, got {n_blocks}.")
        if training_mode is None:
            deprecated("n_blocks", "training_mode='head_only' (n_blocks=0) or training_mode='full'")
            training_mode = "head_only" if n_blocks == 0 else "full"
        elif (training_mode == "head_only") != (n_blocks == 0):
            raise FinetuneArgumentError(
                f"training_mode={training_mode!r} contradicts n_blocks={n_blocks}: head_only trains 0 "
                f"encoder blocks. Give training_mode only (or n_blocks > 0 with 'full')."
            )
    training_mode = training_mode or "full"
    if training_mode not in ("full", "head_only"):
        raise FinetuneArgumentError(f"training_mode must be 'full' or 'head_only', got {training_mode!r}.")
    if n_blocks == 0:
        n_blocks = None  # head_only already says it

    if lr_decay is not None:
        if layer_decay is not None and layer_decay != lr_decay:
            raise FinetuneArgumentError(
                f"lr_decay={lr_decay} and layer_decay={layer_decay} disagree; lr_decay is the old "
                f"name of layer_decay, give only layer_decay."
            )
        deprecated("lr_decay", "layer_decay")
        layer_decay = lr_decay
    layer_decay = 0.75 if layer_decay is None else float(layer_decay)
    if not 0 < layer_decay <= 1:
        raise FinetuneArgumentError(f"layer_decay must be in (0, 1], got {layer_decay}.")

    if dropout_prob is not None:
        if head_dropout_prob is not None and head_dropout_prob != dropout_prob:
            raise FinetuneArgumentError(
                f"dropout_prob={dropout_prob} and head_dropout_prob={head_dropout_prob} disagree; "
                f"give only head_dropout_prob."
            )
        deprecated("dropout_prob", "head_dropout_prob")
        head_dropout_prob = dropout_prob
    head_dropout_prob = 0.5 if head_dropout_prob is None else float(head_dropout_prob)
    if not 0 <= head_dropout_prob < 1:
        raise FinetuneArgumentError(f"head_dropout_prob must be in [0, 1), got {head_dropout_prob}.")

    old_schedule = [warmup_epochs, max_cosine_epochs, max_learning_rate_reduction_factor]
    if cosine_schedule:
        if scheduler_kwargs is not None:
            raise FinetuneArgumentError(
                "Give either scheduler_kwargs or the older cosine_schedule=True, not both."
            )
        deprecated("cosine_schedule", "scheduler_kwargs={'warmup_epochs': ..., 'max_epochs': ...}")
        scheduler_kwargs = {"warmup_epochs": warmup_epochs or 0, "max_epochs": max_cosine_epochs or 100,
                            "min_lr_factor": 0.01 if max_learning_rate_reduction_factor is None
                            else max_learning_rate_reduction_factor}
    elif any(v is not None for v in old_schedule):
        raise FinetuneArgumentError(
            "warmup_epochs, max_cosine_epochs and max_learning_rate_reduction_factor only apply with "
            "cosine_schedule=True; use scheduler_kwargs instead."
        )
    if scheduler_kwargs is not None:
        unknown = sorted(set(scheduler_kwargs) - set(SCHEDULER_KEYS))
        if unknown:
            raise FinetuneArgumentError(
                f"scheduler_kwargs has unknown keys {unknown}; allowed: {list(SCHEDULER_KEYS)}."
            )
        scheduler_kwargs = dict(scheduler_kwargs)
    if always_train_batchnorm is not None:
        if freeze_norm_stats is not None and freeze_norm_stats != always_train_batchnorm:
            raise FinetuneArgumentError(
                f"always_train_batchnorm={always_train_batchnorm} and freeze_norm_stats={freeze_norm_stats} "
                "disagree; in Zoobot, always_train_batchnorm=True meant 'do not update batchnorm statistics', "
                "which is freeze_norm_stats=True. Give only freeze_norm_stats."
            )
        deprecated("always_train_batchnorm", "freeze_norm_stats")
        freeze_norm_stats = bool(always_train_batchnorm)
    return FinetuneSettings(training_mode, n_blocks, layer_decay, head_dropout_prob, scheduler_kwargs,
                            freeze_norm_stats)


def encoder_param_groups(
    encoder: nn.Module,
    lr: float,
    weight_decay: float,
    layer_decay: float,
    n_blocks: Optional[int] = None,
) -> list[dict[str, Any]]:
    """Optimiser parameter groups for an encoder with layer-wise learning-rate decay.

    Blocks are timm's coarse parameter groups (``encoder.group_matcher(coarse=True)``: the stem,
    then each stage, ...). With ``n_blocks``, only the top ``n_blocks`` blocks are trained and the
    rest are frozen (``requires_grad=False``). The learning rate of each (fine) layer is
    ``lr * layer_decay ** depth`` below the top (timm's ``param_groups_layer_decay``); 1-D
    parameters (norms, biases) get no weight decay.

    Args:
        encoder: a timm encoder.
        lr: learning rate of the top layer.
        weight_decay: AdamW weight decay.
        layer_decay: per-layer learning-rate factor (1.0 for none).
        n_blocks: how many top blocks to train; None for all.

    Returns:
        Param-group dicts with ``params``, ``lr``, ``weight_decay``. Empty when nothing is trained.
    """
    from timm.models import group_parameters
    from timm.optim import param_groups_layer_decay

    if n_blocks is not None:
        if not hasattr(encoder, "group_matcher"):
            raise ValueError(
                f"Cannot choose blocks to train in a {type(encoder).__name__}: it has no timm "
                f"group_matcher. Train the whole encoder or only the head instead."
            )
        blocks = group_parameters(encoder, encoder.group_matcher(coarse=True))
        block_ids = sorted(blocks)
        if n_blocks < 0 or n_blocks > len(block_ids):
            raise ValueError(
                f"n_blocks={n_blocks} but this encoder has {len(block_ids)} blocks; choose 0 to "
                f"{len(block_ids)}."
            )
        trainable = {name for block in block_ids[len(block_ids) - n_blocks:] for name in blocks[block]}
        for name, param in encoder.named_parameters():
            param.requires_grad = name in trainable
        if n_blocks == 0:
            return []
    groups = param_groups_layer_decay(encoder, weight_decay=weight_decay, layer_decay=layer_decay)
    return [{"params": g["params"], "lr": lr * g["lr_scale"], "weight_decay": g["weight_decay"]}
            for g in groups if g["params"]]


def count_blocks(encoder: nn.Module) -> int:
    """How many blocks (timm coarse parameter groups) ``encoder`` has, for choosing ``n_blocks``."""
    from timm.models import group_parameters

    return len(group_parameters(encoder, encoder.group_matcher(coarse=True)))


def cosine_with_warmup(epoch: int, warmup_epochs: int, max_epochs: int, min_lr_factor: float) -> float:
    """Learning-rate factor: linear warmup to 1 over ``warmup_epochs``, then cosine down to ``min_lr_factor``."""
    if epoch < warmup_epochs:
        return (epoch + 1) / (warmup_epochs + 1)
    span = max(max_epochs - warmup_epochs, 1)
    progress = min((epoch - warmup_epochs) / span, 1.0)
    return min_lr_factor + (1 - min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))


class FinetuneableZoobotAbstract(L.LightningModule):
    """Base of the finetuning classes: pretrained encoder + new head, one shared step.

    Use a subclass. Give exactly one encoder source: ``name``, ``checkpoint_loc`` or
    ``zoobot_checkpoint_loc`` (any source :func:`zoobot.encoders.load_encoder` reads: a registry
    name, ``hf_hub:owner/name``, a directory, a checkpoint) or ``encoder`` (an ``nn.Module``).

    Args:
        name: encoder source, e.g. ``'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'`` or ``'demo'``.
        checkpoint_loc: encoder source (Zoobot's name for a checkpoint or Hub path).
        encoder: an encoder module returning pooled features ``(B, D)``.
        zoobot_checkpoint_loc: encoder source (older Zoobot name).
        channels: image channels when different from the encoder's (1 for greyscale).
        training_mode: ``'full'`` (train everything, layer-wise lr decay) or ``'head_only'``
            (frozen encoder). Default ``'full'``.
        layer_decay: learning-rate factor per layer below the top (default 0.75).
        learning_rate: AdamW learning rate of the head and the top encoder layer.
        weight_decay: AdamW weight decay (not applied to norms and biases).
        head_dropout_prob: dropout before the head's linear layer (default 0.5).
        scheduler_kwargs: cosine schedule with warmup, e.g. ``{'warmup_epochs': 2, 'max_epochs': 20,
            'min_lr_factor': 0.01}`` (``max_epochs`` defaults to the trainer's); None for a constant lr.
        n_blocks: older: encoder blocks to train (0 = head only). With ``training_mode='full'``, only
            the top ``n_blocks`` blocks train.
        lr_decay: older name of ``layer_decay``.
        dropout_prob: older name of ``head_dropout_prob``.
        cosine_schedule, warmup_epochs, max_cosine_epochs, max_learning_rate_reduction_factor:
            older schedule arguments.
        freeze_norm_stats: full finetuning keeps the encoder's batch-norm running statistics as
            pretrained (its norm weights still train), as Zoobot does; this steadies finetuning on a
            few hundred labels. ``None`` (default): on for a pretrained encoder, off for a
            randomly initialised architecture (whose statistics mean nothing yet).
        always_train_batchnorm: Zoobot's older name: ``True`` means ``freeze_norm_stats=True``.
        encoder_card: set by ``load_from_checkpoint``: the saved card, from which the encoder is rebuilt
            without downloading (the checkpoint holds its weights).
        prog_bar: show loss and metrics in the progress bar.
        seed: kept for reproducibility records (seed with ``L.seed_everything``).
    """

    def __init__(
        self,
        name: Optional[str] = None,
        checkpoint_loc: Optional[str] = None,
        encoder: Optional[nn.Module] = None,
        zoobot_checkpoint_loc: Optional[str] = None,
        channels: Optional[int] = None,
        training_mode: Optional[TrainingMode] = None,
        layer_decay: Optional[float] = None,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.05,
        head_dropout_prob: Optional[float] = None,
        scheduler_kwargs: Optional[dict[str, Any]] = None,
        n_blocks: Optional[int] = None,
        lr_decay: Optional[float] = None,
        dropout_prob: Optional[float] = None,
        cosine_schedule: Optional[bool] = None,
        warmup_epochs: Optional[int] = None,
        max_cosine_epochs: Optional[int] = None,
        max_learning_rate_reduction_factor: Optional[float] = None,
        freeze_norm_stats: Optional[bool] = None,
        always_train_batchnorm: Optional[bool] = None,
        encoder_card: Optional[dict[str, Any]] = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        super().__init__()
        self.save_hyperparameters(ignore=["encoder"])
        settings = resolve_finetune_settings(
            training_mode, layer_decay, head_dropout_prob, scheduler_kwargs, n_blocks, lr_decay,
            dropout_prob, cosine_schedule, warmup_epochs, max_cosine_epochs,
            max_learning_rate_reduction_factor, freeze_norm_stats, always_train_batchnorm,
        )
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.prog_bar = prog_bar
        self.encoder, self.card = self._build_encoder(
            name, checkpoint_loc, encoder, zoobot_checkpoint_loc, channels, encoder_card)
        if settings.freeze_norm_stats is None:
            settings = dataclasses.replace(settings, freeze_norm_stats=not is_random_init(self.card))
        self.settings = settings
        self.encoder_dim = self.card.feature_dim
        self.head = nn.Sequential(nn.Dropout(settings.head_dropout_prob),
                                  nn.Linear(self.encoder_dim, self.output_dim()))
        if settings.training_mode == "head_only":
            self.encoder.requires_grad_(False)
            self.encoder.eval()
        self.metrics = nn.ModuleDict({f"{stage}_metrics": self.build_metrics().clone(prefix=f"{stage}_")
                                      for stage in ("train", "val", "test")})
        self._stages_updated: set[str] = set()
        # Checkpoints store the canonical settings (so reloading warns about nothing) and the card.
        self.hparams.update(
            training_mode=settings.training_mode, n_blocks=settings.n_blocks,
            layer_decay=settings.layer_decay, head_dropout_prob=settings.head_dropout_prob,
            scheduler_kwargs=settings.scheduler_kwargs, lr_decay=None, dropout_prob=None,
            cosine_schedule=None, warmup_epochs=None, max_cosine_epochs=None,
            max_learning_rate_reduction_factor=None, freeze_norm_stats=settings.freeze_norm_stats,
            always_train_batchnorm=None, encoder_card=self.card.to_dict(),
        )

    # --- hooks for subclasses ---

    def output_dim(self) -> int:
        """Size of the head's output."""
        raise NotImplementedError

    def build_metrics(self) -> tm.MetricCollection:
        """Task metrics (besides the loss), updated by :meth:`update_metrics`."""
        raise NotImplementedError

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Turn the batch's float ``label`` ``(B, n_label_cols)`` into what the loss expects."""
        raise NotImplementedError

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Scalar loss from head outputs and targets."""
        raise NotImplementedError

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        """Update the task metrics with one batch."""
        raise NotImplementedError

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Head outputs -> what ``predict_step`` returns."""
        raise NotImplementedError

    def prediction_columns(self, predictions: np.ndarray, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """Predictions ``(N, ...)`` as named table columns (see :func:`zoobot.predict.predict_on_catalog`)."""
        raise NotImplementedError

    def default_output_names(self) -> list[str]:
        """Names of the prediction columns when the caller gives none."""
        raise NotImplementedError

    # --- shared machinery ---

    @staticmethod
    def _build_encoder(
        name: Optional[str], checkpoint_loc: Optional[str], encoder: Optional[nn.Module],
        zoobot_checkpoint_loc: Optional[str], channels: Optional[int], encoder_card: Optional[dict[str, Any]],
    ) -> tuple[nn.Module, EncoderCard]:
        given = {k: v for k, v in [("name", name), ("checkpoint_loc", checkpoint_loc), ("encoder", encoder),
                                   ("zoobot_checkpoint_loc", zoobot_checkpoint_loc)] if v is not None}
        if len(given) > 1:
            raise FinetuneArgumentError(
                f"Give one encoder source, not {len(given)} ({', '.join(given)}): name, checkpoint_loc, "
                f"zoobot_checkpoint_loc or encoder."
            )
        if encoder is not None:
            if encoder_card is not None:
                return encoder, EncoderCard.from_dict(encoder_card)
            return encoder, card_for_module(encoder)
        if encoder_card is not None:
            card = EncoderCard.from_dict(encoder_card)
            return encoder_from_card(card), card
        if not given:
            raise FinetuneArgumentError(
                "No encoder given: pass name='demo' (bundled), name='hf_hub:mwalmsley/zoobot-encoder-"
                "convnext_nano', a local encoder directory, or encoder=<nn.Module>."
            )
        source = str(next(iter(given.values())))
        return load_encoder(source, channels=channels)

    @property
    def training_mode(self) -> TrainingMode:
        return self.settings.training_mode

    def train(self, mode: bool = True) -> "FinetuneableZoobotAbstract":
        """Set train/eval mode; a head-only encoder always stays in eval mode (frozen norm statistics),
        and with ``freeze_norm_stats`` so do the encoder's batch-norm layers."""
        super().train(mode)
        self._keep_frozen_statistics()
        return self

    def on_train_epoch_start(self) -> None:
        # Lightning sets each submodule's mode itself (it does not call train()), so apply it here too.
        self._keep_frozen_statistics()

    def _keep_frozen_statistics(self) -> None:
        if self.settings.training_mode == "head_only":
            self.encoder.eval()
        elif self.settings.freeze_norm_stats:
            for module in self.encoder.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` -> head outputs (logits, values or concentrations)."""
        return self.head(self.encoder(x))

    def on_fit_start(self) -> None:
        reuse_freed_memory()
        datamodule = getattr(self.trainer, "datamodule", None)
        if self.settings.training_mode == "head_only" and hasattr(datamodule, "cache_features"):
            datamodule.cache_features(self.encoder, self.device, splits=("train", "val"))

    def _features(self, batch: Mapping[str, Any]) -> torch.Tensor:
        if "features" in batch:
            return batch["features"]
        if self.settings.training_mode == "head_only":
            with torch.no_grad():
                return self.encoder(batch["image"])
        return self.encoder(batch["image"])

    def shared_step(self, batch: Mapping[str, Any], stage: Stage) -> torch.Tensor:
        """The one step for every stage: loss + metrics (train/val/test) or predictions (predict)."""
        outputs = self.head(self._features(batch))
        if stage == "predict":
            return self.outputs_to_predictions(outputs)
        targets = self.targets_from_labels(batch["label"])
        loss = self.compute_loss(outputs, targets)
        batch_size = outputs.shape[0]
        self.log(f"{stage}_loss", loss, on_step=False, on_epoch=True, prog_bar=self.prog_bar,
                 sync_dist=True, batch_size=batch_size)
        self.update_metrics(self.metrics[f"{stage}_metrics"], outputs.detach(), targets)
        self._stages_updated.add(stage)
        return loss

    def training_step(self, batch: Mapping[str, Any], batch_idx: int) -> torch.Tensor:
        return self.shared_step(batch, "train")

    def validation_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        return self.shared_step(batch, "val")

    def test_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        return self.shared_step(batch, "test")

    def predict_step(self, batch: Mapping[str, Any], batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        if isinstance(batch, torch.Tensor):  # plain image tensors, as in Zoobot 2.x
            batch = {"image": batch}
        return self.shared_step(batch, "predict")

    def _log_epoch_metrics(self, stage: str) -> None:
        metrics = self.metrics[f"{stage}_metrics"]
        if stage in self._stages_updated:
            values = {k: v for k, v in metrics.compute().items() if v.numel() == 1}
            self.log_dict(values, prog_bar=False)
            self._stages_updated.discard(stage)
        metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

    def configure_optimizers(self) -> Any:
        """AdamW: the head at ``learning_rate``; encoder layers with layer-wise decay (unless head-only)."""
        groups: list[dict[str, Any]] = [{"params": list(self.head.parameters()), "lr": self.learning_rate,
                                         "weight_decay": self.weight_decay}]
        if self.settings.training_mode == "full":
            groups += encoder_param_groups(self.encoder, self.learning_rate, self.weight_decay,
                                           self.settings.layer_decay, self.settings.n_blocks)
        optimizer = torch.optim.AdamW(groups, lr=self.learning_rate, weight_decay=self.weight_decay)
        kwargs = self.settings.scheduler_kwargs
        if kwargs is None:
            return optimizer
        max_epochs = kwargs.get("max_epochs") or (self.trainer.max_epochs if self._trainer else None) or 100
        warmup = int(kwargs.get("warmup_epochs", 0))
        floor = float(kwargs.get("min_lr_factor", 0.01))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda epoch: cosine_with_warmup(epoch, warmup, int(max_epochs), floor))
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}


class FinetuneableZoobotClassifier(FinetuneableZoobotAbstract):
    """Finetune for classification: binary, multi-class, or multi-label (several label columns).

    Single-label: the batch label is a class index ``0..num_classes-1``; cross-entropy loss.
    Multi-label: give several ``label_cols`` (each 0/1); binary cross-entropy per column.

    Args:
        num_classes: number of classes (single-label). For multi-label, the number of label columns.
        label_col: the class-index column (single-label).
        label_cols: several 0/1 columns for multi-label classification.
        label_smoothing: cross-entropy label smoothing (single-label).
        class_weights: one loss weight per class (or per label column).
        (others): see :class:`FinetuneableZoobotAbstract`.
    """

    def __init__(
        self,
        num_classes: Optional[int] = None,
        label_col: str = "label",
        label_cols: Optional[list[str]] = None,
        label_smoothing: float = 0.0,
        class_weights: Optional[list[float]] = None,
        name: Optional[str] = None,
        checkpoint_loc: Optional[str] = None,
        encoder: Optional[nn.Module] = None,
        zoobot_checkpoint_loc: Optional[str] = None,
        channels: Optional[int] = None,
        training_mode: Optional[TrainingMode] = None,
        layer_decay: Optional[float] = None,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.05,
        head_dropout_prob: Optional[float] = None,
        scheduler_kwargs: Optional[dict[str, Any]] = None,
        n_blocks: Optional[int] = None,
        lr_decay: Optional[float] = None,
        dropout_prob: Optional[float] = None,
        cosine_schedule: Optional[bool] = None,
        warmup_epochs: Optional[int] = None,
        max_cosine_epochs: Optional[int] = None,
        max_learning_rate_reduction_factor: Optional[float] = None,
        freeze_norm_stats: Optional[bool] = None,
        always_train_batchnorm: Optional[bool] = None,
        encoder_card: Optional[dict[str, Any]] = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        self.multilabel = label_cols is not None and len(label_cols) > 1
        if self.multilabel:
            if num_classes is not None and num_classes != len(label_cols):
                raise FinetuneArgumentError(
                    f"Multi-label classification with {len(label_cols)} label_cols needs num_classes="
                    f"{len(label_cols)} (or leave num_classes out), not {num_classes}."
                )
            num_classes = len(label_cols)
        if num_classes is None or num_classes < 2:
            raise FinetuneArgumentError(
                f"num_classes must be 2 or more for classification, got {num_classes}. For a yes/no "
                f"label use num_classes=2."
            )
        if class_weights is not None and len(class_weights) != num_classes:
            raise FinetuneArgumentError(
                f"class_weights has {len(class_weights)} values but there are {num_classes} classes."
            )
        self.num_classes = num_classes
        self.label_cols = list(label_cols) if label_cols else [label_col]
        self.label_smoothing = label_smoothing
        super().__init__(
            name=name, checkpoint_loc=checkpoint_loc, encoder=encoder,
            zoobot_checkpoint_loc=zoobot_checkpoint_loc, channels=channels, training_mode=training_mode,
            layer_decay=layer_decay, learning_rate=learning_rate, weight_decay=weight_decay,
            head_dropout_prob=head_dropout_prob, scheduler_kwargs=scheduler_kwargs, n_blocks=n_blocks,
            lr_decay=lr_decay, dropout_prob=dropout_prob, cosine_schedule=cosine_schedule,
            warmup_epochs=warmup_epochs, max_cosine_epochs=max_cosine_epochs,
            max_learning_rate_reduction_factor=max_learning_rate_reduction_factor,
            freeze_norm_stats=freeze_norm_stats, always_train_batchnorm=always_train_batchnorm,
            encoder_card=encoder_card, prog_bar=prog_bar, seed=seed,
        )
        self.hparams.update(num_classes=num_classes,
                            class_weights=[float(w) for w in class_weights] if class_weights is not None else None)
        weights = torch.as_tensor(class_weights, dtype=torch.float32) if class_weights is not None else None
        self.register_buffer("class_weights", weights)

    def output_dim(self) -> int:
        return self.num_classes

    def default_output_names(self) -> list[str]:
        return list(self.label_cols) if self.multilabel else [str(k) for k in range(self.num_classes)]

    def build_metrics(self) -> tm.MetricCollection:
        names = self.default_output_names()
        if self.multilabel:
            kw: dict[str, Any] = {"task": "multilabel", "num_labels": self.num_classes}
        else:
            kw = {"task": "multiclass", "num_classes": self.num_classes}
        return tm.MetricCollection({
            "accuracy": tm.Accuracy(**kw, average="micro"),
            "f1": tm.F1Score(**kw, average="macro"),
            "precision": ClasswiseWrapper(tm.Precision(**kw, average=None), labels=names, prefix="precision_"),
            "recall": ClasswiseWrapper(tm.Recall(**kw, average=None), labels=names, prefix="recall_"),
        }, compute_groups=False)

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return labels.float()
        targets = labels.reshape(labels.shape[0], -1)[:, 0]
        if torch.isnan(targets).any() or (targets < 0).any() or (targets >= self.num_classes).any() \
                or (targets != targets.round()).any():
            bad = targets[torch.isnan(targets) | (targets < 0) | (targets >= self.num_classes)
                          | (targets != targets.round())]
            raise ValueError(
                f"Class labels must be whole numbers 0..{self.num_classes - 1}; found {bad[:5].tolist()}. "
                f"Check the label column, or num_classes."
            )
        return targets.long()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if self.multilabel:
            return F.binary_cross_entropy_with_logits(outputs, targets, weight=self.class_weights)
        return F.cross_entropy(outputs, targets, weight=self.class_weights, label_smoothing=self.label_smoothing)

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        metrics.update(self.outputs_to_predictions(outputs), targets.long() if self.multilabel else targets)

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Class probabilities ``(B, num_classes)`` (softmax; sigmoid per column for multi-label)."""
        return torch.sigmoid(outputs) if self.multilabel else F.softmax(outputs, dim=1)

    def prediction_columns(self, predictions: np.ndarray, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """Probability columns, plus ``pred_class`` (single-label) or ``pred_<col>`` 0/1 (multi-label).

        ``names``: one per class (probability column names). A single name (the label column) gives,
        for a binary classifier, one column with the probability of class 1 (Zoobot's
        ``label_cols=['ring']``), and for more classes ``<name>_prob_<class>``.
        Default: ``prob_<class>`` (single-label) or ``prob_<label_col>`` (multi-label).
        """
        out: dict[str, np.ndarray] = {}
        if self.multilabel:
            cols = list(names) if names else [f"prob_{c}" for c in self.label_cols]
            _check_names(cols, self.num_classes)
            for k, col in enumerate(cols):
                out[col] = predictions[:, k]
            for k, col in enumerate(self.label_cols):
                out[f"pred_{col}"] = (predictions[:, k] >= 0.5).astype(int)
            return pd.DataFrame(out)
        if names is not None and len(names) == 1 and self.num_classes == 2:
            out[names[0]] = predictions[:, 1]
        elif names is not None and len(names) == 1:
            for k in range(self.num_classes):
                out[f"{names[0]}_prob_{k}"] = predictions[:, k]
        else:
            cols = list(names) if names else [f"prob_{k}" for k in range(self.num_classes)]
            _check_names(cols, self.num_classes)
            for k, col in enumerate(cols):
                out[col] = predictions[:, k]
        out["pred_class"] = predictions.argmax(axis=1)
        return pd.DataFrame(out)


class _R2Score(tm.R2Score):
    """R^2 that is NaN, not an error, with fewer than two galaxies (a tiny catalog's one-galaxy validation split)."""

    def compute(self) -> torch.Tensor:
        if int(self.total) < 2:
            return torch.tensor(float("nan"))
        return super().compute()


class FinetuneableZoobotRegressor(FinetuneableZoobotAbstract):
    """Finetune to predict one or more continuous values per galaxy.

    Args:
        loss: ``'mse'`` (mean squared error) or ``'mae'`` (mean absolute error).
        unit_interval: squash outputs into (0, 1) with a sigmoid (for fractions).
        label_col: the target column.
        label_cols: several target columns (one output each).
        (others): see :class:`FinetuneableZoobotAbstract`.
    """

    def __init__(
        self,
        loss: Literal["mse", "mae"] = "mse",
        unit_interval: bool = False,
        label_col: str = "label",
        label_cols: Optional[list[str]] = None,
        name: Optional[str] = None,
        checkpoint_loc: Optional[str] = None,
        encoder: Optional[nn.Module] = None,
        zoobot_checkpoint_loc: Optional[str] = None,
        channels: Optional[int] = None,
        training_mode: Optional[TrainingMode] = None,
        layer_decay: Optional[float] = None,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.05,
        head_dropout_prob: Optional[float] = None,
        scheduler_kwargs: Optional[dict[str, Any]] = None,
        n_blocks: Optional[int] = None,
        lr_decay: Optional[float] = None,
        dropout_prob: Optional[float] = None,
        cosine_schedule: Optional[bool] = None,
        warmup_epochs: Optional[int] = None,
        max_cosine_epochs: Optional[int] = None,
        max_learning_rate_reduction_factor: Optional[float] = None,
        freeze_norm_stats: Optional[bool] = None,
        always_train_batchnorm: Optional[bool] = None,
        encoder_card: Optional[dict[str, Any]] = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        if loss not in ("mse", "mae"):
            raise FinetuneArgumentError(f"loss must be 'mse' or 'mae', got {loss!r}.")
        self.loss_name = loss
        self.unit_interval = unit_interval
        self.label_cols = list(label_cols) if label_cols else [label_col]
        super().__init__(
            name=name, checkpoint_loc=checkpoint_loc, encoder=encoder,
            zoobot_checkpoint_loc=zoobot_checkpoint_loc, channels=channels, training_mode=training_mode,
            layer_decay=layer_decay, learning_rate=learning_rate, weight_decay=weight_decay,
            head_dropout_prob=head_dropout_prob, scheduler_kwargs=scheduler_kwargs, n_blocks=n_blocks,
            lr_decay=lr_decay, dropout_prob=dropout_prob, cosine_schedule=cosine_schedule,
            warmup_epochs=warmup_epochs, max_cosine_epochs=max_cosine_epochs,
            max_learning_rate_reduction_factor=max_learning_rate_reduction_factor,
            freeze_norm_stats=freeze_norm_stats, always_train_batchnorm=always_train_batchnorm,
            encoder_card=encoder_card, prog_bar=prog_bar, seed=seed,
        )

    def output_dim(self) -> int:
        return len(self.label_cols)

    def default_output_names(self) -> list[str]:
        return list(self.label_cols)

    def build_metrics(self) -> tm.MetricCollection:
        n = len(self.label_cols)
        return tm.MetricCollection({
            "rmse": tm.MeanSquaredError(squared=False, num_outputs=n),
            "mae": tm.MeanAbsoluteError(num_outputs=n),
            "r2": _R2Score(multioutput="uniform_average") if n > 1 else _R2Score(),
        })

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.reshape(labels.shape[0], -1).float()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        predictions = self.outputs_to_predictions(outputs)
        if self.loss_name == "mse":
            return F.mse_loss(predictions, targets)
        return F.l1_loss(predictions, targets)

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        predictions = self.outputs_to_predictions(outputs)
        if predictions.shape[1] == 1:
            predictions, targets = predictions[:, 0], targets[:, 0]
        metrics.update(predictions, targets)

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predicted values ``(B, n_targets)``."""
        return torch.sigmoid(outputs) if self.unit_interval else outputs

    def prediction_columns(self, predictions: np.ndarray, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """One ``pred_<target>`` column per target (``names`` replace the target names)."""
        cols = list(names) if names else list(self.label_cols)
        _check_names(cols, len(self.label_cols))
        return pd.DataFrame({f"pred_{c}": predictions[:, k] for k, c in enumerate(cols)})


class FinetuneableZoobotTree(FinetuneableZoobotAbstract):
    """Finetune on Galaxy Zoo-style vote counts over a decision tree (Dirichlet-multinomial loss).

    The head predicts one Dirichlet concentration per answer, in (1, 101).

    Args:
        schema: the decision tree (``zoobot.schemas.Schema``, or its ``to_dict()``).
        (others): see :class:`FinetuneableZoobotAbstract`.
    """

    def __init__(
        self,
        schema: Any,
        name: Optional[str] = None,
        checkpoint_loc: Optional[str] = None,
        encoder: Optional[nn.Module] = None,
        zoobot_checkpoint_loc: Optional[str] = None,
        channels: Optional[int] = None,
        training_mode: Optional[TrainingMode] = None,
        layer_decay: Optional[float] = None,
        learning_rate: float = 1e-4,
        weight_decay: float = 0.05,
        head_dropout_prob: Optional[float] = None,
        scheduler_kwargs: Optional[dict[str, Any]] = None,
        n_blocks: Optional[int] = None,
        lr_decay: Optional[float] = None,
        dropout_prob: Optional[float] = None,
        cosine_schedule: Optional[bool] = None,
        warmup_epochs: Optional[int] = None,
        max_cosine_epochs: Optional[int] = None,
        max_learning_rate_reduction_factor: Optional[float] = None,
        freeze_norm_stats: Optional[bool] = None,
        always_train_batchnorm: Optional[bool] = None,
        encoder_card: Optional[dict[str, Any]] = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        from zoobot.losses import CustomMultiQuestionLoss

        self.schema = as_schema(schema)
        self.label_cols = list(self.schema.label_cols)
        self.question_index_groups = [tuple(g) for g in self.schema.question_index_groups]
        super().__init__(
            name=name, checkpoint_loc=checkpoint_loc, encoder=encoder,
            zoobot_checkpoint_loc=zoobot_checkpoint_loc, channels=channels, training_mode=training_mode,
            layer_decay=layer_decay, learning_rate=learning_rate, weight_decay=weight_decay,
            head_dropout_prob=head_dropout_prob, scheduler_kwargs=scheduler_kwargs, n_blocks=n_blocks,
            lr_decay=lr_decay, dropout_prob=dropout_prob, cosine_schedule=cosine_schedule,
            warmup_epochs=warmup_epochs, max_cosine_epochs=max_cosine_epochs,
            max_learning_rate_reduction_factor=max_learning_rate_reduction_factor,
            freeze_norm_stats=freeze_norm_stats, always_train_batchnorm=always_train_batchnorm,
            encoder_card=encoder_card, prog_bar=prog_bar, seed=seed,
        )
        self.hparams.update(schema=self.schema.to_dict())
        self.loss_fn = CustomMultiQuestionLoss(self.question_index_groups)

    def output_dim(self) -> int:
        return len(self.label_cols)

    def default_output_names(self) -> list[str]:
        return list(self.label_cols)

    def build_metrics(self) -> tm.MetricCollection:
        return tm.MetricCollection({f"vote_fraction_mae_{q.text}": tm.MeanMetric()
                                    for q in self.schema.questions})

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.float()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self.loss_fn(self.outputs_to_predictions(outputs), targets).mean()

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        from zoobot.losses import expected_vote_fractions

        fractions = expected_vote_fractions(self.outputs_to_predictions(outputs), self.question_index_groups)
        for question, (start, end) in zip(self.schema.questions, self.question_index_groups):
            counts = targets[:, start:end + 1]
            totals = counts.sum(dim=1, keepdim=True)
            asked = (totals[:, 0] > 0).float()
            true = counts / totals.clamp(min=1)
            error = (fractions[:, start:end + 1] - true).abs().mean(dim=1)
            metrics[f"vote_fraction_mae_{question.text}"].update(error, asked)

    def _log_epoch_metrics(self, stage: str) -> None:
        # Questions nobody was asked this epoch have no error: leave them out of the mean.
        metrics = self.metrics[f"{stage}_metrics"]
        if stage in self._stages_updated:
            values = {k: v for k, v in metrics.compute().items() if not torch.isnan(v)}
            if values:
                self.log_dict(values)
                self.log(f"{stage}_vote_fraction_mae", torch.stack(list(values.values())).mean())
            self._stages_updated.discard(stage)
        metrics.reset()

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Dirichlet concentrations ``(B, n_answers)`` in (1, 101)."""
        return 1.0 + 100.0 * torch.sigmoid(outputs)

    def prediction_columns(self, predictions: np.ndarray, names: Optional[Sequence[str]] = None) -> pd.DataFrame:
        """Per answer: ``<answer>_concentration``, expected ``<answer>_fraction`` and its 90% interval
        ``<answer>_fraction_low`` / ``<answer>_fraction_high``."""
        from zoobot.losses import expected_vote_fractions, vote_fraction_intervals

        cols = list(names) if names else list(self.label_cols)
        _check_names(cols, len(self.label_cols))
        concentrations = torch.as_tensor(predictions, dtype=torch.float64)
        fractions = expected_vote_fractions(concentrations, self.question_index_groups).numpy()
        low, high = (t.numpy() for t in vote_fraction_intervals(concentrations, self.question_index_groups, 0.9))
        out: dict[str, np.ndarray] = {}
        for k, col in enumerate(cols):
            out[f"{col}_concentration"] = predictions[:, k]
        for k, col in enumerate(cols):
            out[f"{col}_fraction"] = fractions[:, k]
            out[f"{col}_fraction_low"] = low[:, k]
            out[f"{col}_fraction_high"] = high[:, k]
        return pd.DataFrame(out)


def as_schema(schema: Any) -> Any:
    """A ``Schema`` from a Schema or its dict form."""
    from zoobot.schemas import Schema

    if isinstance(schema, Schema):
        return schema
    if isinstance(schema, Mapping):
        return Schema.from_dict(schema)
    raise FinetuneArgumentError(
        f"schema must be a zoobot.schemas.Schema (e.g. from zoobot.trees.get_schema) or its dict, "
        f"got {type(schema).__name__}."
    )


def _check_names(names: Sequence[str], expected: int) -> None:
    if len(names) != expected:
        raise ValueError(f"Got {len(names)} output names ({list(names)}) for {expected} model outputs; "
                         f"give one name per output, or none for the defaults.")


FINETUNE_CLASSES: tuple[type[FinetuneableZoobotAbstract], ...] = (
    FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree)


def load_finetuned(checkpoint_path: Union[str, Path], map_location: str = "cpu") -> FinetuneableZoobotAbstract:
    """Reload a finetuned model from a Lightning checkpoint, whichever task it was (no pickled code runs).

    Raises:
        FinetuneArgumentError: the checkpoint was not written by a finetuning class of this package.
    """
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=True)
    hparams = checkpoint.get("hyper_parameters", {})
    if "schema" in hparams:
        cls: type[FinetuneableZoobotAbstract] = FinetuneableZoobotTree
    elif "num_classes" in hparams:
        cls = FinetuneableZoobotClassifier
    elif "unit_interval" in hparams:
        cls = FinetuneableZoobotRegressor
    else:
        raise FinetuneArgumentError(
            f"{checkpoint_path} is not a checkpoint of a FinetuneableZoobot model (no task hyperparameters)."
        )
    model = cls.load_from_checkpoint(checkpoint_path, map_location=map_location, weights_only=True)
    model.eval()
    return model


def _background_checkpoint_io() -> Any:
    """A checkpoint plugin that writes (and removes) checkpoint files in one background thread.

    ``ModelCheckpoint`` writes the whole model at every ``val_loss`` improvement and deletes the
    previous best file. Done in the training thread, that took about 1 s of the demo encoder's 6 s
    head-only benchmark (17 writes of 20 MB). Here the training thread only takes a point-in-time
    copy of the tensors; one worker writes and removes files in the order asked, so a removal never
    overtakes the write of the same file (Lightning's experimental ``AsyncCheckpointIO`` removes at
    once). Loading waits for pending writes, and the trainer's teardown at the end of ``fit`` waits
    for all of them, so ``best_model_path`` is on disk when ``fit`` returns. A failed write or
    removal is raised at the next checkpoint call or at teardown.
    """
    from concurrent.futures import ThreadPoolExecutor

    from lightning.pytorch.plugins import TorchCheckpointIO
    from lightning_utilities.core.apply_func import apply_to_collection

    class BackgroundCheckpointIO(TorchCheckpointIO):
        def __init__(self) -> None:
            super().__init__()
            self.executor: Optional[ThreadPoolExecutor] = None
            self.error: Optional[BaseException] = None

        def raise_error(self) -> None:
            if self.error is not None:
                error, self.error = self.error, None
                raise error

        def submit(self, work: Any, *args: Any) -> None:
            self.raise_error()
            if self.executor is None:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoobot-checkpoint")

            def run() -> None:
                try:
                    work(*args)
                except BaseException as err:
                    self.error = err

            self.executor.submit(run)

        def wait(self) -> None:
            if self.executor is not None:
                self.executor.submit(lambda: None).result()
            self.raise_error()

        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            snapshot = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
            self.submit(TorchCheckpointIO.save_checkpoint, self, snapshot, path, storage_options)

        def remove_checkpoint(self, path: Any) -> None:
            self.submit(TorchCheckpointIO.remove_checkpoint, self, path)

        def load_checkpoint(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            self.wait()
            return TorchCheckpointIO.load_checkpoint(self, *args, **kwargs)

        def teardown(self) -> None:
            if self.executor is not None:
                self.executor.shutdown(wait=True)
                self.executor = None
            self.raise_error()

    return BackgroundCheckpointIO()


# Lightning messages that tell someone finetuning with this library nothing they can act on: a
# deprecation inside Lightning itself, the logging interval of short epochs (metrics are logged per
# epoch), the frozen encoder and its norm layers kept in eval mode on purpose, and an advertisement.
_LIGHTNING_NOISE = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r"Found \d+ module\(s\) in eval mode at the start of training",
)


def _not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("\N{ELECTRIC LIGHT BULB} Tip:")


def _quiet_lightning() -> None:
    """Silences :data:`_LIGHTNING_NOISE` and Lightning's tips; its other messages still show."""
    for message in _LIGHTNING_NOISE:
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if _not_a_tip not in logger.filters:
            logger.addFilter(_not_a_tip)


def get_trainer(
    save_dir: Union[str, Path],
    file_template: str = "{epoch}",
    save_top_k: int = 1,
    max_epochs: int = 100,
    patience: int = 10,
    devices: Union[int, str, list[int]] = "auto",
    accelerator: str = "auto",
    precision: Optional[str] = None,
    num_nodes: int = 1,
    strategy: Optional[str] = None,
    callbacks: Sequence[L.Callback] = (),
    logger: Union[bool, Any] = True,
    enable_progress_bar: bool = True,
    log_every_n_steps: int = 10,
    deterministic: bool = False,
) -> L.Trainer:
    """A Lightning Trainer for finetuning: early stopping and best checkpoint on ``val_loss``, CSV logs.

    Checkpoints go to ``save_dir/checkpoints`` (the best by ``val_loss``; see
    ``trainer.checkpoint_callback.best_model_path``), metrics to ``save_dir/csv_logs``.

    Args:
        save_dir: folder for checkpoints and logs.
        file_template: checkpoint file name template.
        save_top_k: how many best checkpoints to keep.
        max_epochs: most epochs to train.
        patience: epochs without ``val_loss`` improvement before stopping.
        devices: devices per node (``'auto'``, a count or a list); more than one trains with DDP.
        accelerator: ``'auto'``, ``'cpu'``, ``'gpu'``.
        precision: None for 16-bit mixed on GPU and 32-bit on CPU; else a Lightning precision string.
        num_nodes: machines (DDP across nodes when more than 1).
        strategy: Lightning strategy; None for DDP with several devices or nodes, else automatic.
        callbacks: extra callbacks.
        logger: True for a CSV logger, False for none, or a Lightning logger.
        enable_progress_bar: show the progress bar.
        log_every_n_steps: how often to log within an epoch.
        deterministic: use deterministic algorithms.
    """
    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    _quiet_lightning()
    save_dir = Path(save_dir)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if precision is None:
        precision = "16-mixed" if on_gpu else "32-true"
    several = (isinstance(devices, int) and devices > 1) or (isinstance(devices, list) and len(devices) > 1)
    if strategy is None:
        strategy = "ddp" if several or num_nodes > 1 else "auto"
    checkpoint = ModelCheckpoint(dirpath=save_dir / "checkpoints", filename=file_template, monitor="val_loss",
                                 mode="min", save_top_k=save_top_k, save_last=False)
    early_stopping = EarlyStopping(monitor="val_loss", mode="min", patience=patience)
    if logger is True:
        logger = CSVLogger(save_dir=str(save_dir), name="csv_logs")
    return L.Trainer(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        callbacks=[checkpoint, early_stopping, *callbacks],
        plugins=[_background_checkpoint_io()],
        logger=logger,
        enable_progress_bar=enable_progress_bar,
        log_every_n_steps=log_every_n_steps,
        deterministic=deterministic,
        default_root_dir=str(save_dir),
    )

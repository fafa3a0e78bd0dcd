"""The base finetuning task: pretrained encoder + new head, with one shared step for every stage.

:class:`FinetuneableZoobotAbstract` builds the encoder, head and metrics, and has a single step for
training, validation, test and prediction. Subclasses (classifier, regressor, tree) fill in small
hooks: head size, loss, metrics, how outputs become predictions and table columns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import lightning as L
import numpy as np
import pandas as pd
import torch
import torchmetrics as tm
from torch import nn

from zoobot.batches import supervised_batch
from zoobot.encoders import EncoderCard, card_for_module, encoder_from_card, is_random_init, load_encoder
from zoobot.finetune.layer_decay import cosine_schedule, encoder_param_groups
from zoobot.finetune.settings import (
    SHARED_ARGUMENTS,
    ConstructorSignature,
    FinetuneArgumentError,
    TrainingMode,
    check_call,
    finetune_args,
    resolve_finetune_settings,
)
from zoobot.inference import reuse_freed_memory

__all__ = ["Stage", "FinetuneableZoobotAbstract"]

Stage = Literal["train", "val", "test", "predict"]


class FinetuneableZoobotAbstract(L.LightningModule):
    """Base of the finetuning classes: pretrained encoder + new head, one shared step.

    Use a subclass. Every subclass accepts the shared arguments declared once in
    :class:`~zoobot.finetune.settings.FinetuneArgs` (encoder source, training mode, learning rate,
    layer decay, head dropout, schedule, the older Zoobot names, ...) as keyword arguments, besides its
    own; ``inspect.signature(cls)`` lists them all with their types and defaults. An unknown keyword
    raises ``TypeError``. All of them are saved as hyperparameters, so ``load_from_checkpoint`` rebuilds
    the model.

    Attributes:
        encoder: the encoder, ``(B, C, H, W) -> (B, encoder_dim)``.
        card: its :class:`~zoobot.encoders.EncoderCard`.
        head: dropout and a linear layer, ``(B, encoder_dim) -> (B, output_dim())``.
        settings: the resolved :class:`~zoobot.finetune.settings.FinetuneSettings`.
    """

    __signature__ = ConstructorSignature()

    def __new__(cls, *args: Any, **kwargs: Any) -> FinetuneableZoobotAbstract:
        # Arguments are checked before any subclass __init__ runs, so a misspelt name is a TypeError
        # (as with a plain signature), not a confusing complaint about the argument it was meant to be.
        check_call(cls, args, kwargs)
        return super().__new__(cls)

    def __init__(self, **kwargs: Any) -> None:
        """Shared keyword arguments: see :class:`~zoobot.finetune.settings.FinetuneArgs`."""
        args = finetune_args(type(self), kwargs)
        # Lightning takes the hyperparameters from the arguments of the __init__ frames: here, every
        # shared argument, defaults included, as an explicit signature would give it.
        kwargs = {name: getattr(args, name) for name in SHARED_ARGUMENTS}
        super().__init__()
        self.save_hyperparameters(ignore=["encoder"])
        settings = resolve_finetune_settings(
            args.training_mode, args.layer_decay, args.head_dropout_prob, args.scheduler_kwargs, args.n_blocks,
            args.lr_decay, args.dropout_prob, args.cosine_schedule, args.warmup_epochs, args.max_cosine_epochs,
            args.max_learning_rate_reduction_factor, args.freeze_norm_stats, args.always_train_batchnorm,
        )
        self.learning_rate = args.learning_rate
        self.weight_decay = args.weight_decay
        self.prog_bar = args.prog_bar
        self.encoder, self.card = self._build_encoder(
            args.name, args.checkpoint_loc, args.encoder, args.zoobot_checkpoint_loc, args.channels,
            args.encoder_card)
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

    def prediction_columns(self, predictions: np.ndarray, names: Sequence[str] | None = None) -> pd.DataFrame:
        """Predictions ``(N, ...)`` as named table columns (see :func:`zoobot.predict.predict_on_catalog`)."""
        raise NotImplementedError

    def default_output_names(self) -> list[str]:
        """Names of the prediction columns when the caller gives none."""
        raise NotImplementedError

    @staticmethod
    def _check_names(names: Sequence[str], expected: int) -> None:
        """Refuse output names that are not one per model output."""
        if len(names) != expected:
            raise ValueError(f"Got {len(names)} output names ({list(names)}) for {expected} model outputs; "
                             f"give one name per output, or none for the defaults.")

    # --- shared machinery ---

    @staticmethod
    def _build_encoder(
        name: str | None, checkpoint_loc: str | None, encoder: nn.Module | None,
        zoobot_checkpoint_loc: str | None, channels: int | None, encoder_card: dict[str, Any] | None,
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

    def train(self, mode: bool = True) -> FinetuneableZoobotAbstract:
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
        batch = supervised_batch(batch, self.label_cols, with_labels=stage != "predict")
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
        if self.settings.scheduler_kwargs is None:
            return optimizer
        scheduler = cosine_schedule(optimizer, self.settings.scheduler_kwargs,
                                    self.trainer.max_epochs if self._trainer else None)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "epoch"}}

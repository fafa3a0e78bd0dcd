"""Zoobot's from-scratch tree model: a randomly initialised timm encoder and a Dirichlet head, trained end to end.

:class:`ZoobotTree` has Zoobot's arguments and checkpoint format (2.0's and 2.9's names both work); it is a
:class:`zoobot.finetune.FinetuneableZoobotTree` underneath.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from zoobot.deprecation import warn_deprecated
from zoobot.finetune import FinetuneableZoobotTree, FinetuneArgumentError
from zoobot.finetune.encoder_source import MODEL_ARGS_KEY, random_encoder
from zoobot.finetune.heads import get_pytorch_dirichlet_head


def _architecture(name: str) -> str:
    if name == "efficientnet":  # Zoobot's older spelling
        warn_deprecated("architecture_name='efficientnet' is deprecated; use 'efficientnet_b0'.")
        return "efficientnet_b0"
    return name


def get_pytorch_encoder(architecture_name: str = "convnext_nano", channels: int = 3, **timm_kwargs: Any) -> nn.Module:
    """A randomly initialised timm encoder returning pooled features (``num_classes=0``), as in Zoobot.

    ``architecture_name`` is a timm architecture (``'convnext_nano'`` is the bare architecture here, not the
    published Zoobot weights); ``timm_kwargs`` go to ``timm.create_model``.
    """
    return random_encoder(_architecture(architecture_name), channels, timm_kwargs)[0]


def schema_to_campaigns(schema: Any) -> list[str]:
    """The campaign suffix of each question (``'smooth-or-featured-dr5'`` -> ``'dr5'``), as Zoobot lists them."""
    return [question.text.split("-")[-1] for question in schema.questions]


def _schema_from_groups(question_index_groups: Sequence[Sequence[int]]) -> Any:
    """A flat schema (every question always asked) with generic names, for Zoobot 2.x index groups."""
    from zoobot.schemas import Schema

    pairs = {
        f"question_{q}": [f"_answer_{a}" for a in range(int(end) - int(start) + 1)]
        for q, (start, end) in enumerate(question_index_groups)
    }
    return Schema(pairs, {q: None for q in pairs})


_ZOOBOT_STAGES = {"train": "train", "val": "validation", "test": "test"}

# The finetuning settings that training from scratch fixes (ZoobotTree's own arguments are Zoobot's): every
# encoder layer trained at the learning rate, and its batch-norm statistics learned too, also when a reloaded
# checkpoint goes on training.
_FROM_SCRATCH: dict[str, Any] = {"training_mode": "full", "layer_decay": 1.0, "freeze_norm_stats": False}


class ZoobotTree(FinetuneableZoobotTree):
    """Zoobot's tree model trained from scratch: random timm encoder + Dirichlet head, AdamW.

    Zoobot's arguments come first, with its defaults (2.9's); the tree is given as Zoobot gives it
    (``question_answer_pairs`` and ``dependencies``), or as a ``schema``, or as ``question_index_groups``.
    Checkpoints hold Zoobot's hyperparameters, so real Zoobot loads them, and Zoobot's load here.

    Args:
        output_dim: head outputs; None: one per answer of the tree.
        question_answer_pairs: question -> answer suffixes (Zoobot's dict).
        dependencies: question -> the answer column it is asked after (Zoobot's dict).
        architecture_name: timm architecture, randomly initialised (``'efficientnet'`` means ``'efficientnet_b0'``).
        channels: image channels (1 or 3).
        test_time_dropout: keep the head's dropout on when predicting (Monte Carlo samples).
        compile_encoder: compile the encoder's forward with ``torch.compile`` (in place, so weights keep their names).
        timm_kwargs: extra ``timm.create_model`` arguments, e.g. ``{'drop_path_rate': 0.2}``.
        dropout_rate: dropout before the head.
        learning_rate: AdamW learning rate.
        betas: AdamW betas.
        weight_decay: AdamW weight decay.
        scheduler_params: Zoobot's schedule: ``{'name': 'plateau', 'patience': 5}`` (lower the learning rate when
            the validation loss stalls) or ``{'cosine_schedule': True, 'warmup_epochs': ..., 'max_cosine_epochs':
            ..., 'max_learning_rate_reduction_factor': ...}``; None or empty for none.
        schema: the decision tree (``Schema`` or its dict), instead of the two dicts.
        question_index_groups: Zoobot 2.x alternative: ``(start, end)`` per question (generic names).
        input_size: image side the encoder is trained on (recorded in its card).
        scheduler_kwargs: this package's cosine schedule with warmup (see ``FinetuneArgs``).
        encoder_card: set by ``load_from_checkpoint``.
        prog_bar: show loss in the progress bar.
        seed: recorded for reproducibility.
    """

    def __init__(
        self,
        output_dim: int | None = None,
        question_answer_pairs: Mapping[str, Sequence[str]] | None = None,
        dependencies: Mapping[str, str | None] | None = None,
        architecture_name: str = "convnext_nano",
        channels: int = 3,
        test_time_dropout: bool = False,
        compile_encoder: bool = False,
        timm_kwargs: dict[str, Any] | None = None,
        dropout_rate: float = 0.2,
        learning_rate: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        weight_decay: float = 0.01,
        scheduler_params: dict[str, Any] | None = None,
        schema: Any | None = None,
        question_index_groups: list[tuple[int, int]] | None = None,
        input_size: int = 224,
        scheduler_kwargs: dict[str, Any] | None = None,
        encoder_card: dict[str, Any] | None = None,
        prog_bar: bool = True,
        seed: int = 42,
    ) -> None:
        from zoobot.schemas import Schema

        given = [question_answer_pairs is not None, schema is not None, question_index_groups is not None]
        if sum(given) != 1:
            raise ValueError(
                "Give the tree once: question_answer_pairs and dependencies (as Zoobot does), schema, "
                "or question_index_groups (exactly one)."
            )
        if question_answer_pairs is not None:
            tree = Schema(question_answer_pairs, dependencies or {})
        elif schema is not None:
            tree = schema
        elif question_index_groups is not None:
            tree = _schema_from_groups(question_index_groups)
        else:
            raise TypeError("ZoobotTree needs a schema, question_answer_pairs or question_index_groups.")
        architecture_name = _architecture(architecture_name)
        self._output_dim = output_dim
        self.test_time_dropout = test_time_dropout
        self.scheduler_params = dict(scheduler_params or {})
        schedule = _scheduler_from_params(self.scheduler_params, scheduler_kwargs)
        encoder, saved_card = None, encoder_card
        if saved_card is None:
            encoder, card = random_encoder(architecture_name, channels, timm_kwargs)
            saved_card = {**card.to_dict(), MODEL_ARGS_KEY: dict(timm_kwargs or {})}
        super().__init__(
            schema=tree,
            encoder=encoder,
            encoder_card=saved_card,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            head_dropout_prob=dropout_rate,
            scheduler_kwargs=schedule,
            prog_bar=prog_bar,
            seed=seed,
            **_FROM_SCRATCH,
        )
        self._encoder_given = False
        self.betas = (float(betas[0]), float(betas[1]))
        if compile_encoder:
            self.encoder.compile()
        self.card = dataclasses.replace(
            self.card,
            input_size=(self.card.channels, input_size, input_size),
            description=f"{architecture_name} trained from scratch by Zoobot",
        )
        # Hyperparameters: this class's own arguments only (those of the base classes are fixed: _FROM_SCRATCH).
        self.hparams.clear()
        self.save_hyperparameters(frame=inspect.currentframe())
        self.hparams.update(
            output_dim=self.output_dim(),
            question_answer_pairs=self.schema.question_answer_pairs,
            dependencies=self.schema.dependencies,
            schema=None,
            question_index_groups=None,
            architecture_name=architecture_name,
            encoder_card={**self.card.to_dict(), MODEL_ARGS_KEY: dict(self.encoder_model_args)},
        )

    def output_dim(self) -> int:
        return self._output_dim if self._output_dim is not None else len(self.label_cols)

    def build_head(self) -> nn.Module:
        return get_pytorch_dirichlet_head(
            self.encoder_dim, self.output_dim(), self.test_time_dropout, self.settings.head_dropout_prob
        )

    def zoobot_loss_names(self, stage: str) -> list[str]:
        return [f"{_ZOOBOT_STAGES[stage]}/supervised_loss"]

    def zoobot_hparams(self) -> dict[str, Any]:
        """Zoobot's ``ZoobotTree`` hyperparameters (plain data: its checkpoints load with ``weights_only``)."""
        hparams = self.hparams
        return {
            "output_dim": self.output_dim(),
            "question_answer_pairs": self.schema.question_answer_pairs,
            "dependencies": self.schema.dependencies,
            "architecture_name": hparams["architecture_name"],
            "channels": self.card.channels,
            "test_time_dropout": self.test_time_dropout,
            "compile_encoder": bool(hparams["compile_encoder"]),
            "timm_kwargs": dict(self.encoder_model_args),
            "dropout_rate": self.settings.head_dropout_prob,
            "learning_rate": self.learning_rate,
            "betas": self.betas,
            "weight_decay": self.weight_decay,
            "scheduler_params": dict(self.scheduler_params),
        }

    def configure_optimizers(self) -> Any:
        """AdamW over every parameter; with ``scheduler_params={'name': 'plateau'}``, Zoobot's plateau schedule."""
        if self.scheduler_params.get("name") != "plateau":
            return super().configure_optimizers()
        optimizer = torch.optim.AdamW(
            self.parameters(), lr=self.learning_rate, betas=self.betas, weight_decay=self.weight_decay
        )
        scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            optimizer, min_lr=1e-6, patience=int(self.scheduler_params.get("patience", 5))
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "monitor": "val_loss"}}


def _scheduler_from_params(
    scheduler_params: Mapping[str, Any],
    scheduler_kwargs: dict[str, Any] | None,
) -> dict[str, Any] | None:
    """Zoobot's ``scheduler_params`` cosine schedule as this package's ``scheduler_kwargs``."""
    if not scheduler_params.get("cosine_schedule"):
        if scheduler_params and scheduler_params.get("name") != "plateau":
            raise FinetuneArgumentError(
                f"scheduler_params {dict(scheduler_params)} names no schedule Zoobot knows: give "
                "{'name': 'plateau', 'patience': ...} or {'cosine_schedule': True, 'warmup_epochs': ..., "
                "'max_cosine_epochs': ..., 'max_learning_rate_reduction_factor': ...}."
            )
        return scheduler_kwargs
    if scheduler_kwargs is not None:
        raise FinetuneArgumentError("Give scheduler_params (Zoobot's) or scheduler_kwargs, not both.")
    return {
        "warmup_epochs": int(scheduler_params.get("warmup_epochs", 0)),
        "max_epochs": int(scheduler_params.get("max_cosine_epochs", 100)),
        "min_lr_factor": float(scheduler_params.get("max_learning_rate_reduction_factor", 0.01)),
    }

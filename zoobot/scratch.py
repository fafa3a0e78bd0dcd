"""Train a Zoobot encoder from scratch on decision-tree vote counts, and export it for finetuning.

:class:`ZoobotTree` is Zoobot's from-scratch tree model (a randomly initialised timm encoder and a Dirichlet
head, trained end to end), with Zoobot's arguments and checkpoint format; it is a
:class:`zoobot.finetune.FinetuneableZoobotTree` underneath. :func:`train_default_zoobot_from_scratch` wires it to
a :class:`zoobot.data.CatalogDataModule` and a trainer, and writes the trained encoder in the format
:func:`zoobot.encoders.load_encoder` reads. Zoobot 2.0's and 2.9's argument names both work.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import pandas as pd
import torch
from torch import nn

from zoobot.encoders import get_encoder_dim, save_encoder
from zoobot.finetune import FinetuneableZoobotTree, FinetuneArgumentError
from zoobot.finetune.encoder_source import MODEL_ARGS_KEY, random_encoder
from zoobot.finetune.heads import get_pytorch_dirichlet_head
from zoobot.finetune.trainer import _quiet_lightning

__all__ = [
    "ZoobotTree",
    "get_pytorch_encoder",
    "get_pytorch_dirichlet_head",
    "get_encoder_dim",
    "get_default_callbacks",
    "schema_to_campaigns",
    "train_default_zoobot_from_scratch",
]


def _architecture(name: str) -> str:
    if name == "efficientnet":  # Zoobot's older spelling
        warnings.warn(
            "architecture_name='efficientnet' is deprecated; use 'efficientnet_b0'.", DeprecationWarning, stacklevel=3
        )
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
            training_mode="full",
            layer_decay=1.0,
            learning_rate=learning_rate,
            weight_decay=weight_decay,
            head_dropout_prob=dropout_rate,
            scheduler_kwargs=schedule,
            # Trained from scratch, its batch-norm statistics are learned too, also when a reloaded
            # checkpoint goes on training.
            freeze_norm_stats=False,
            prog_bar=prog_bar,
            seed=seed,
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
        # Hyperparameters: this class's own arguments only (those of the base classes are fixed here).
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
    ``resize_after_crop`` (2.0) is ``input_size``. Refused, with the reason: galaxy-datasets' transform configs
    (``transform_cfg``, ...: images are resized to ``input_size`` and augmented with ``augment``), webdataset
    shards (``train_urls``, ...) and other crop bounds than Zoobot's defaults, which this package always uses.

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
    if tuple(crop_scale_bounds) != (0.7, 0.8) or tuple(crop_ratio_bounds) != (0.9, 1.1):
        raise FinetuneArgumentError(
            "The training crops are fixed to Zoobot's defaults (crop_scale_bounds=(0.7, 0.8), "
            "crop_ratio_bounds=(0.9, 1.1)); other bounds cannot be set here."
        )
    if color is not None:
        warnings.warn(
            "color is deprecated; use channels (color=False is channels=1).", DeprecationWarning, stacklevel=2
        )
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
        question_answer_pairs=schema.question_answer_pairs,
        dependencies=schema.dependencies,
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
        **splits,
    )
    checkpoint, default_callbacks = get_default_callbacks(
        save_dir, patience, checkpoint_file_template, auto_insert_metric_name, save_top_k
    )
    _quiet_lightning()
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

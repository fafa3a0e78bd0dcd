"""Finetuning settings after translation: the one place older Zoobot argument names become this package's.

:func:`resolve_finetune_settings` turns the arguments a finetuning class was given (``n_blocks``, ``lr_decay``,
``dropout_prob``, ``cosine_schedule``, ... beside this package's names) into one :class:`FinetuneSettings`,
warning once per old name and refusing contradictions; :func:`canonical_hparams` is what a checkpoint then
stores, so reloading it warns about nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from zoobot import defaults
from zoobot.defaults import TrainingMode
from zoobot.deprecation import warn_deprecated
from zoobot.finetune.settings import (
    FinetuneArgs,
    FinetuneArgumentError,
    scheduler_format,
)

__all__ = ["FinetuneSettings", "resolve_finetune_settings", "settings_from_args", "canonical_hparams"]


def _in_range(name: str, value: float) -> float:
    """``value`` if :mod:`zoobot.defaults` allows it for ``name``, else a :class:`FinetuneArgumentError`."""
    try:
        return defaults.check(name, value)
    except defaults.SettingError as err:
        raise FinetuneArgumentError(f"{name} must be {defaults.SETTINGS[name].allowed}, got {value}.") from err


def _check_agree(old: str, old_value: Any, new: str, new_value: Any) -> None:
    """Refuse an old argument name and its new name given different values."""
    if new_value is not None and new_value != old_value:
        raise FinetuneArgumentError(
            f"{old}={old_value} and {new}={new_value} disagree; {old} is the old name of {new}, give only {new}."
        )


OLD_NAMES = (
    "lr_decay",
    "dropout_prob",
    "cosine_schedule",
    "warmup_epochs",
    "max_cosine_epochs",
    "max_learning_rate_reduction_factor",
    "always_train_batchnorm",
    "from_scratch",
    "n_layers",
)
"""The older Zoobot argument names :func:`resolve_finetune_settings` translates (a checkpoint stores them as None)."""


@dataclass(frozen=True)
class FinetuneSettings:
    """Finetuning choices after translating the older Zoobot argument names."""

    training_mode: TrainingMode
    n_blocks: int | None
    layer_decay: float
    head_dropout_prob: float
    scheduler_kwargs: dict[str, Any] | None
    freeze_norm_stats: bool | None = None


def resolve_finetune_settings(
    training_mode: TrainingMode | None,
    layer_decay: float | None,
    head_dropout_prob: float | None,
    scheduler_kwargs: Mapping[str, Any] | None,
    n_blocks: int | None,
    lr_decay: float | None,
    dropout_prob: float | None,
    cosine_schedule: bool | None,
    warmup_epochs: int | None,
    max_cosine_epochs: int | None,
    max_learning_rate_reduction_factor: float | None,
    freeze_norm_stats: bool | None = None,
    always_train_batchnorm: bool | None = None,
    from_scratch: bool | None = None,
    n_layers: int | None = None,
) -> FinetuneSettings:
    """Translate old Zoobot argument names (the only place that does) and refuse contradictions.

    ``n_blocks=0`` means ``training_mode='head_only'``; ``n_blocks=k`` means ``'full'`` with only
    the top ``k`` encoder blocks trained (also allowed with ``training_mode='full'``).
    ``lr_decay`` is ``layer_decay``, ``dropout_prob`` is ``head_dropout_prob``, and
    ``cosine_schedule=True`` (with ``warmup_epochs``, ``max_cosine_epochs``,
    ``max_learning_rate_reduction_factor``) is ``scheduler_kwargs``. Zoobot's
    ``always_train_batchnorm=True`` ("do not update batchnorm stats during finetuning") is
    ``freeze_norm_stats=True`` (``False``, Zoobot's default, changes nothing). Zoobot 2.0's
    ``cosine_schedule=False`` means no schedule, whatever ``warmup_epochs``, ... say (2.0 checkpoints
    record them so); its ``from_scratch=True`` is ``training_mode='full', layer_decay=1.0``; its
    ``n_layers`` had no effect and has none here. ``scheduler_kwargs`` is either this package's
    cosine schedule (:data:`SCHEDULER_KEYS`) or, as in Zoobot 2.9, arguments of timm's
    ``create_scheduler_v2`` (e.g. ``{'sched': 'cosine', 'num_epochs': 20, 'warmup_epochs': 2}``).

    Raises:
        FinetuneArgumentError: an old and a new argument say different things.
    """

    def deprecated(old: str, new: str) -> None:
        warn_deprecated(f"{old} is deprecated; use {new} instead.")

    def no_effect(old: str) -> None:
        warn_deprecated(f"{old} (Zoobot 2.0's default) is deprecated and changes nothing; leave it out.")

    if n_layers is not None:
        deprecated("n_layers (it had no effect in Zoobot 2.0 either)", "n_blocks")
    if from_scratch:
        if (
            training_mode == "head_only"
            or n_blocks is not None
            or layer_decay not in (None, 1.0)
            or lr_decay not in (None, 1.0)
        ):
            raise FinetuneArgumentError(
                "from_scratch=True trains every encoder layer at learning_rate, which contradicts "
                f"training_mode={training_mode!r}, n_blocks={n_blocks}, layer_decay={layer_decay}, "
                f"lr_decay={lr_decay}. Give training_mode='full', layer_decay=1.0 instead."
            )
        deprecated("from_scratch=True", "training_mode='full', layer_decay=1.0")
        training_mode, layer_decay = "full", 1.0
    elif from_scratch is not None:
        no_effect("from_scratch=False")
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
    training_mode = training_mode or defaults.CLASS_TRAINING_MODE
    if training_mode not in ("full", "head_only"):
        raise FinetuneArgumentError(f"training_mode must be 'full' or 'head_only', got {training_mode!r}.")
    if n_blocks == 0:
        n_blocks = None  # head_only already says it

    if lr_decay is not None:
        _check_agree("lr_decay", lr_decay, "layer_decay", layer_decay)
        deprecated("lr_decay", "layer_decay")
        layer_decay = lr_decay
    layer_decay = defaults.LAYER_DECAY if layer_decay is None else _in_range("layer_decay", float(layer_decay))

    if dropout_prob is not None:
        _check_agree("dropout_prob", dropout_prob, "head_dropout_prob", head_dropout_prob)
        deprecated("dropout_prob", "head_dropout_prob")
        head_dropout_prob = dropout_prob
    head_dropout_prob = (
        defaults.HEAD_DROPOUT_PROB
        if head_dropout_prob is None
        else _in_range("head_dropout_prob", float(head_dropout_prob))
    )

    old_schedule = [warmup_epochs, max_cosine_epochs, max_learning_rate_reduction_factor]
    if cosine_schedule:
        if scheduler_kwargs is not None:
            raise FinetuneArgumentError("Give either scheduler_kwargs or the older cosine_schedule=True, not both.")
        deprecated("cosine_schedule", "scheduler_kwargs={'warmup_epochs': ..., 'max_epochs': ...}")
        scheduler_kwargs = {
            "warmup_epochs": warmup_epochs or 0,
            "max_epochs": max_cosine_epochs or 100,
            "min_lr_factor": 0.01 if max_learning_rate_reduction_factor is None else max_learning_rate_reduction_factor,
        }
    elif cosine_schedule is not None:
        no_effect("cosine_schedule=False")
    elif any(v is not None for v in old_schedule):
        raise FinetuneArgumentError(
            "warmup_epochs, max_cosine_epochs and max_learning_rate_reduction_factor only apply with "
            "cosine_schedule=True; use scheduler_kwargs instead."
        )
    if scheduler_kwargs is not None:
        scheduler_format(scheduler_kwargs)
        scheduler_kwargs = dict(scheduler_kwargs)
    if always_train_batchnorm is not None:
        if always_train_batchnorm and freeze_norm_stats is False:
            raise FinetuneArgumentError(
                f"always_train_batchnorm={always_train_batchnorm} and freeze_norm_stats={freeze_norm_stats} "
                "disagree; in Zoobot, always_train_batchnorm=True meant 'do not update batchnorm statistics', "
                "which is freeze_norm_stats=True. Give only freeze_norm_stats."
            )
        if always_train_batchnorm:
            deprecated("always_train_batchnorm", "freeze_norm_stats")
            freeze_norm_stats = True
        else:
            no_effect("always_train_batchnorm=False")
    return FinetuneSettings(
        training_mode, n_blocks, layer_decay, head_dropout_prob, scheduler_kwargs, freeze_norm_stats
    )


def settings_from_args(args: FinetuneArgs) -> FinetuneSettings:
    """:func:`resolve_finetune_settings` over the shared arguments a finetuning class was given."""
    return resolve_finetune_settings(
        args.training_mode,
        args.layer_decay,
        args.head_dropout_prob,
        args.scheduler_kwargs,
        args.n_blocks,
        args.lr_decay,
        args.dropout_prob,
        args.cosine_schedule,
        args.warmup_epochs,
        args.max_cosine_epochs,
        args.max_learning_rate_reduction_factor,
        args.freeze_norm_stats,
        args.always_train_batchnorm,
        from_scratch=args.from_scratch,
        n_layers=args.n_layers,
    )


def canonical_hparams(settings: FinetuneSettings) -> dict[str, Any]:
    """The shared hyperparameters a checkpoint stores: the resolved settings, every older name set to None."""
    return {**{f.name: getattr(settings, f.name) for f in fields(settings)}, **dict.fromkeys(OLD_NAMES)}

"""Finetuning arguments: the ones every finetuning class accepts, declared once.

:class:`FinetuneArgs` declares the arguments that :class:`~zoobot.finetune.FinetuneableZoobotClassifier`,
:class:`~zoobot.finetune.FinetuneableZoobotRegressor` and :class:`~zoobot.finetune.FinetuneableZoobotTree`
share (name, type, default and meaning), so adding one is one edit, here. A class's own arguments
(``num_classes``, ``loss``, ``schema``, ...) are explicit in its ``__init__``; the shared ones travel to
the base class as keyword arguments. :func:`constructor_signature` joins the two: it is what
``inspect.signature(cls)`` (and so ``help()`` and notebooks) shows, every argument with its type and
default, and what :func:`check_call` holds each call to before anything is built, so an unknown name
raises ``TypeError`` as with a plain signature. Lightning records every argument as a hyperparameter.

:func:`zoobot.finetune.translation.resolve_finetune_settings` is the one place older Zoobot argument names
are translated. Defaults and allowed ranges come from :mod:`zoobot.defaults`.
"""

from __future__ import annotations

import dataclasses
import difflib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zoobot import defaults
from zoobot.defaults import TrainingMode

if TYPE_CHECKING:
    from torch import nn

__all__ = [
    "TrainingMode",
    "SCHEDULER_KEYS",
    "scheduler_format",
    "timm_scheduler_keys",
    "FinetuneArgumentError",
    "FinetuneArgs",
    "SHARED_ARGUMENTS",
    "check_call",
    "finetune_args",
    "constructor_signature",
    "ConstructorSignature",
]

SCHEDULER_KEYS = ("warmup_epochs", "max_epochs", "min_lr_factor")
"""The keys of this package's cosine schedule in ``scheduler_kwargs``."""


def timm_scheduler_keys() -> tuple[str, ...]:
    """The arguments of timm's ``create_scheduler_v2`` (Zoobot 2.9's ``scheduler_kwargs``), without the optimiser."""
    import inspect

    from timm.scheduler import create_scheduler_v2

    return tuple(name for name in inspect.signature(create_scheduler_v2).parameters if name != "optimizer")


def scheduler_format(scheduler_kwargs: Mapping[str, Any]) -> str:
    """``'cosine'`` for this package's schedule (:data:`SCHEDULER_KEYS`), ``'timm'`` for Zoobot 2.9's
    (arguments of timm's ``create_scheduler_v2``).

    Raises:
        FinetuneArgumentError: keys of neither kind.
    """
    if set(scheduler_kwargs) <= set(SCHEDULER_KEYS):
        return "cosine"
    timm_keys = timm_scheduler_keys()
    if set(scheduler_kwargs) <= set(timm_keys):
        return "timm"
    unknown = sorted(set(scheduler_kwargs) - set(SCHEDULER_KEYS) - set(timm_keys))
    raise FinetuneArgumentError(
        f"scheduler_kwargs has unknown keys {unknown or sorted(scheduler_kwargs)}; give either this package's "
        f"cosine schedule {list(SCHEDULER_KEYS)} or, as in Zoobot 2.9, arguments of timm's create_scheduler_v2 "
        f"(e.g. 'sched', 'num_epochs', 'warmup_epochs', 'min_lr')."
    )


class FinetuneArgumentError(ValueError):
    """Finetuning arguments that are missing or contradict each other."""


@dataclass(frozen=True)
class FinetuneArgs:
    """The arguments every finetuning class accepts, with their defaults: the one declaration of them.

    Give exactly one encoder source: ``name``, ``checkpoint_loc`` or ``zoobot_checkpoint_loc`` (any source
    :func:`zoobot.encoders.load_encoder` reads: a registry name, ``hf_hub:owner/name``, a directory, a
    checkpoint) or ``encoder`` (an ``nn.Module``). Numeric defaults come from :mod:`zoobot.defaults`.

    Attributes:
        name: encoder source, e.g. ``'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'`` or ``'demo'``.
        checkpoint_loc: encoder source (Zoobot's name for a checkpoint or Hub path).
        encoder: an encoder module returning pooled features ``(B, D)``.
        zoobot_checkpoint_loc: encoder source (older Zoobot name).
        channels: image channels when different from the encoder's (1 for greyscale).
        timm_kwargs: extra ``timm.create_model`` arguments for the encoder, as in Zoobot 2.9 (e.g.
            ``{'drop_path_rate': 0.1}``); arguments that change the architecture apply only to an encoder
            built from a plain timm architecture name. None: none.
        greyscale: Zoobot 2.9's switch for 1-channel images: ``True`` means ``channels=1``.
        training_mode: ``'full'`` (train everything, layer-wise lr decay) or ``'head_only'``
            (frozen encoder). None: ``'full'`` (``zoobot.defaults.CLASS_TRAINING_MODE``).
        layer_decay: learning-rate factor per layer below the top, above 0 and at most 1.
            None: 0.75 (``zoobot.defaults.LAYER_DECAY``).
        learning_rate: AdamW learning rate of the head and the top encoder layer (1e-4, Zoobot's, as in
            ``zoobot.defaults.LEARNING_RATE['full']``).
        weight_decay: AdamW weight decay (not applied to norms and biases).
        head_dropout_prob: dropout before the head's linear layer, at least 0 and below 1.
            None: 0.5 (``zoobot.defaults.HEAD_DROPOUT_PROB``).
        scheduler_kwargs: cosine schedule with warmup, e.g. ``{'warmup_epochs': 2, 'max_epochs': 20,
            'min_lr_factor': 0.01}`` (``max_epochs`` defaults to the trainer's); None for a constant lr.
        n_blocks: older: encoder blocks to train (0 = head only). With ``training_mode='full'``, only
            the top ``n_blocks`` blocks train.
        lr_decay: older name of ``layer_decay``.
        dropout_prob: older name of ``head_dropout_prob``.
        cosine_schedule: older: ``True`` for a cosine schedule set by the next three arguments.
        warmup_epochs: older schedule argument (with ``cosine_schedule=True``).
        max_cosine_epochs: older schedule argument (with ``cosine_schedule=True``).
        max_learning_rate_reduction_factor: older schedule argument (with ``cosine_schedule=True``).
        freeze_norm_stats: full finetuning keeps the encoder's batch-norm running statistics as
            pretrained (its norm weights still train), as Zoobot does; this steadies finetuning on a
            few hundred labels. ``None`` (default): on for a pretrained encoder, off for a
            randomly initialised architecture (whose statistics mean nothing yet).
        always_train_batchnorm: Zoobot's older name: ``True`` means ``freeze_norm_stats=True``.
        from_scratch: Zoobot 2.0: ``True`` trains every encoder layer at ``learning_rate``, i.e.
            ``training_mode='full', layer_decay=1.0``.
        n_layers: Zoobot 2.0 argument that had no effect there either; give ``n_blocks`` instead.
        encoder_card: set by ``load_from_checkpoint``: the saved card, from which the encoder is rebuilt
            without downloading (the checkpoint holds its weights).
        prog_bar: show loss and metrics in the progress bar.
        visualize_images: Zoobot uploads example images to Weights & Biases with ``True``; this package does
            not (a warning says so), log images with your own callback.
        seed: kept for reproducibility records (seed with ``L.seed_everything``).
    """

    name: str | None = None
    checkpoint_loc: str | None = None
    encoder: nn.Module | None = None
    zoobot_checkpoint_loc: str | None = None
    channels: int | None = None
    timm_kwargs: dict[str, Any] | None = None
    greyscale: bool = False
    training_mode: TrainingMode | None = None
    layer_decay: float | None = None
    learning_rate: float = defaults.LEARNING_RATE[defaults.CLASS_TRAINING_MODE]
    weight_decay: float = defaults.WEIGHT_DECAY
    head_dropout_prob: float | None = None
    scheduler_kwargs: dict[str, Any] | None = None
    n_blocks: int | None = None
    lr_decay: float | None = None
    dropout_prob: float | None = None
    cosine_schedule: bool | None = None
    warmup_epochs: int | None = None
    max_cosine_epochs: int | None = None
    max_learning_rate_reduction_factor: float | None = None
    freeze_norm_stats: bool | None = None
    always_train_batchnorm: bool | None = None
    from_scratch: bool | None = None
    n_layers: int | None = None
    encoder_card: dict[str, Any] | None = None
    prog_bar: bool = True
    visualize_images: bool = False
    seed: int = defaults.SEED


SHARED_ARGUMENTS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(FinetuneArgs))
"""The names of the shared arguments, in declaration order."""


def constructor_signature(cls: type) -> inspect.Signature:
    """What ``cls(...)`` accepts: the class's own ``__init__`` arguments, then (when its ``__init__``
    forwards ``**kwargs`` to the base class) every :class:`FinetuneArgs` argument, keyword-only, typed,
    with its default."""
    own = inspect.signature(cls.__init__)  # type: ignore[misc]  # the class's own, not an instance's
    parameters = list(own.parameters.values())[1:]  # without self
    if not parameters or parameters[-1].kind is not inspect.Parameter.VAR_KEYWORD:
        return own.replace(parameters=parameters)
    shared = [
        inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default, annotation=f.type)
        for f in dataclasses.fields(FinetuneArgs)
        if f.name not in own.parameters
    ]
    return own.replace(parameters=parameters[:-1] + shared)


class ConstructorSignature:
    """``cls.__signature__`` of the finetuning classes: :func:`constructor_signature` of the class asked.

    Set once on the base class, it serves every subclass. Only the class has it: an instance, called as
    a module, keeps the signature of its ``forward``.
    """

    def __get__(self, instance: object, owner: type) -> inspect.Signature:
        if instance is not None:
            raise AttributeError("__signature__")
        return constructor_signature(owner)


def _unexpected(cls: type, name: str, accepted: list[str]) -> TypeError:
    close = difflib.get_close_matches(name, accepted, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return TypeError(
        f"{cls.__name__}() got an unexpected keyword argument {name!r}{hint}. It accepts: {', '.join(accepted)}."
    )


def check_call(cls: type, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
    """Refuse a ``cls(*args, **kwargs)`` call that :func:`constructor_signature` does not accept.

    Raises:
        TypeError: an unknown keyword (the message names the class, suggests the closest accepted
            name and lists them all) or too many positional arguments, as a plain signature would.
    """
    signature = constructor_signature(cls)
    unknown = [key for key in kwargs if key not in signature.parameters]
    if unknown:
        raise _unexpected(cls, unknown[0], list(signature.parameters))
    try:
        signature.bind_partial(*args, **kwargs)
    except TypeError as err:
        raise TypeError(f"{cls.__name__}(): {err}") from None


def finetune_args(cls: type, given: Mapping[str, Any]) -> FinetuneArgs:
    """The shared arguments that reached the base class of ``cls``, completed with the defaults.

    Raises:
        TypeError: a keyword that :class:`FinetuneArgs` does not declare.
    """
    unknown = [key for key in given if key not in SHARED_ARGUMENTS]
    if unknown:
        raise _unexpected(cls, unknown[0], list(SHARED_ARGUMENTS))
    return FinetuneArgs(**given)

"""Checkpoints in Zoobot 2.x's format, both ways: the one place their names are translated.

**Writing.** A checkpoint's ``hyper_parameters`` hold exactly the arguments real Zoobot 2.9 rebuilds the model
from (``name``, ``training_mode``, ``layer_decay``, ... ``num_classes`` / ``loss`` / ``schema``); a tree's
schema is pickled as ``zoobot.shared.schemas.Schema(question_answer_pairs, dependencies)``. The state-dict keys
are Zoobot's (``head.linear.*``, ``head.1.0.*``). This package's own settings (the encoder card, ``channels``,
``freeze_norm_stats``, ...) go under a separate key, :data:`EXTRAS_KEY`, which Zoobot ignores.

**Reading** (:func:`load_checkpoint`, behind every ``load_from_checkpoint``): checkpoints of this package,
of Zoobot 2.9 and of Zoobot 2.0. Zoobot 2.0's argument names reach the constructor, which translates them with a
``DeprecationWarning`` (:func:`zoobot.finetune.translation.resolve_finetune_settings`); this package's older head
keys (``head.1.*``) are renamed here (:func:`translate_state_dict`). Unknown hyperparameters are refused.

**Safely.** Files are read with torch's ``weights_only`` unpickler: tensors, plain data, and Zoobot's pickled
``Schema`` (rebuilt from its questions and answers by this package's own class). Anything else pickled is
refused (:class:`UnsafeCheckpointError`).
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import torch

from zoobot.deprecation import warn_deprecated
from zoobot.encoders import is_random_init
from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.classifier import FinetuneableZoobotClassifier
from zoobot.finetune.encoder_source import zoobot_encoder_name
from zoobot.finetune.regressor import FinetuneableZoobotRegressor
from zoobot.finetune.settings import FinetuneArgumentError, scheduler_format
from zoobot.finetune.tree import FinetuneableZoobotTree
from zoobot.shared.schemas import Schema as ZoobotSchema

if TYPE_CHECKING:
    pass

__all__ = [
    "EXTRAS_KEY",
    "FINETUNE_CLASSES",
    "UnsafeCheckpointError",
    "read_checkpoint",
    "checkpoint_class",
    "translate_state_dict",
    "to_zoobot_format",
    "load_checkpoint",
    "load_finetuned",
]

EXTRAS_KEY = "zoobot_app"
"""Checkpoint key of this package's own settings: ``{'class': ..., 'hyper_parameters': {...}}``."""

FINETUNE_CLASSES: tuple[type[FinetuneableZoobotAbstract], ...] = (
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
)
"""The finetuning task classes."""


class UnsafeCheckpointError(FinetuneArgumentError):
    """A checkpoint that holds pickled Python objects other than tensors, plain data and Zoobot's Schema."""


class _ZoobotPickledObject:
    """Stand-in for the ``Question``/``Answer`` objects inside Zoobot's pickled ``Schema``: plain state only.

    The schema is rebuilt from its ``question_answer_pairs`` and ``dependencies``; these are then dropped.
    """

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        self.__dict__.update(state)


# The only non-data classes a checkpoint may name. Registered once, so Lightning's own loads (e.g.
# trainer.test(ckpt_path='best')) read tree checkpoints too.
_SAFE_GLOBALS: list[Any] = [
    (ZoobotSchema, "zoobot.shared.schemas.Schema"),
    (_ZoobotPickledObject, "zoobot.shared.schemas.Question"),
    (_ZoobotPickledObject, "zoobot.shared.schemas.Answer"),
]
torch.serialization.add_safe_globals(_SAFE_GLOBALS)


_NOT_A_CHECKPOINT = (
    "{path} is not a checkpoint PyTorch can read (it is damaged, cut short or in another format); "
    "save it again, or as safetensors."
)


def _check_checkpoint_path(path: Path) -> None:
    """A missing path or a folder, said so (torch's own error for them reads like a damaged file)."""
    from itertools import islice

    if path.is_dir():
        found = [str(p.relative_to(path)) for p in islice(sorted(path.rglob("*.ckpt")), 5)]
        inside = f" It holds {', '.join(found)}." if found else " It holds no .ckpt file."
        raise FinetuneArgumentError(
            f"{path} is a folder, not a checkpoint file: give the path of one of its .ckpt files.{inside} "
            "(A run folder of this package loads whole with zoobot.runs.load_finetuned_model.)"
        )
    if not path.exists():
        raise FileNotFoundError(
            f"There is no checkpoint file {path} (looked for from {Path.cwd()}). Check the path: the best "
            "checkpoint of a fit is trainer.checkpoint_callback.best_model_path."
        )


def read_checkpoint(path: str | Path | IO[bytes], map_location: Any = "cpu") -> dict[str, Any]:
    """A checkpoint's contents, read without running pickled code.

    Raises:
        FileNotFoundError: there is no file at ``path``.
        UnsafeCheckpointError: it holds other pickled objects (classes or functions that would run on loading).
        FinetuneArgumentError: it is not a checkpoint file (a folder, damaged, another format).
    """
    if isinstance(path, (str, Path)):
        _check_checkpoint_path(Path(path).expanduser())
    torch.serialization.add_safe_globals(_SAFE_GLOBALS)  # again, in case a safe_globals context removed them
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError:
        names = ""
        if isinstance(path, (str, Path)):
            try:
                found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
            except (ValueError, RuntimeError, OSError, EOFError):  # not a checkpoint at all (damaged, another format)
                raise FinetuneArgumentError(_NOT_A_CHECKPOINT.format(path=path)) from None
            allowed = {name for _, name in _SAFE_GLOBALS}
            names = f": {', '.join(n for n in found if n not in allowed)} would run when loaded"
        # Never torch's own text: it advises switching the safety off.
        raise UnsafeCheckpointError(
            f"{path} is not a safe checkpoint (it holds pickled code{names}), so it is not read; save it as "
            "safetensors (the model's weights), or as a checkpoint of this package or of Zoobot, and load that."
        ) from None
    except (RuntimeError, OSError, EOFError) as err:
        raise FinetuneArgumentError(_NOT_A_CHECKPOINT.format(path=path)) from err
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise FinetuneArgumentError(f"{path} is not a Lightning checkpoint (no state_dict).")
    return checkpoint


def _known_classes() -> dict[str, type[FinetuneableZoobotAbstract]]:
    """Every finetuning class imported so far, by name (this package's and users' subclasses)."""
    from zoobot.scratch import ZoobotTree  # imports this module, so not at the top

    found: dict[str, type[FinetuneableZoobotAbstract]] = {}
    pending: list[type[FinetuneableZoobotAbstract]] = [FinetuneableZoobotAbstract, ZoobotTree]
    while pending:
        cls = pending.pop()
        found.setdefault(cls.__name__, cls)
        pending.extend(cls.__subclasses__())
    return found


def _detect_class(checkpoint: Mapping[str, Any]) -> type[FinetuneableZoobotAbstract] | None:
    """The class that wrote a checkpoint: named by this package's extras, else told by Zoobot's hyperparameters."""
    known = _known_classes()
    named = (checkpoint.get(EXTRAS_KEY) or {}).get("class")
    if isinstance(named, str) and named in known:
        return known[named]
    hparams = checkpoint.get("hyper_parameters") or {}
    if "output_dim" in hparams and "question_answer_pairs" in hparams:
        return known["ZoobotTree"]
    if "schema" in hparams:
        return FinetuneableZoobotTree
    if "num_classes" in hparams:
        return FinetuneableZoobotClassifier
    if "unit_interval" in hparams or "loss" in hparams:
        return FinetuneableZoobotRegressor
    return None


def checkpoint_class(
    cls: type[FinetuneableZoobotAbstract], checkpoint: Mapping[str, Any], path: Any = "checkpoint"
) -> type[FinetuneableZoobotAbstract]:
    """The class to rebuild a checkpoint with, when ``cls.load_from_checkpoint`` is called.

    The checkpoint's own class where it is ``cls`` or a subclass (so the base class loads any task), ``cls``
    where ``cls`` subclasses it (a user's subclass).

    Raises:
        FinetuneArgumentError: the checkpoint holds another task, or no finetuning model at all.
    """
    found = _detect_class(checkpoint)
    if found is None:
        if cls is not FinetuneableZoobotAbstract:
            return cls
        raise FinetuneArgumentError(
            f"{path} is not a checkpoint of a finetuning model of this package or of Zoobot 2.x (its "
            "hyperparameters name no task)."
        )
    if issubclass(found, cls):
        return found
    if issubclass(cls, found):
        return cls
    raise FinetuneArgumentError(
        f"{path} holds a {found.__name__}, not a {cls.__name__}: load it with {found.__name__}.load_from_checkpoint "
        "or zoobot.finetune.load_finetuned."
    )


def _published_card(name: Any) -> dict[str, Any] | None:
    """The registry card of a published Zoobot encoder called ``name`` (a Hub name), so it is built without
    downloading: the checkpoint holds its weights."""
    from zoobot.encoders import list_encoders
    from zoobot.finetune.encoder_source import MODEL_ARGS_KEY

    if not isinstance(name, str) or not name.startswith(("hf_hub:", "hf-hub:")):
        return None
    repo = name.split(":", 1)[1]
    for card in list_encoders():
        if card.source.split(":", 1)[-1] == repo:
            return {**card.to_dict(), MODEL_ARGS_KEY: {}}
    return None


def _constructor_kwargs(checkpoint: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor arguments: Zoobot's hyperparameters, this package's extras over them, the caller's over both."""
    kwargs = {
        k: v for k, v in (checkpoint.get("hyper_parameters") or {}).items() if k not in ("_instantiator", "_class_path")
    }
    extras = checkpoint.get(EXTRAS_KEY) or {}
    kwargs.update(extras.get("hyper_parameters") or {})
    if not extras and kwargs.get("encoder_card") is None:
        card = _published_card(kwargs.get("name"))
        if card is not None:
            kwargs["encoder_card"] = card
    if given.get("encoder") is not None:  # an in-memory encoder replaces whatever source was saved
        for key in ("name", "checkpoint_loc", "zoobot_checkpoint_loc", "encoder_card"):
            kwargs.pop(key, None)
    kwargs.update(given)
    return kwargs


def translate_state_dict(model: torch.nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state`` with this package's older head keys (``head.1.weight``: before the heads took Zoobot's names)
    renamed to the model's (``head.linear.weight`` or ``head.1.0.weight``); Zoobot's keys pass unchanged."""
    own = model.state_dict()
    renamed = {}
    for key, value in state.items():
        if key in own or not key.startswith("head.1."):
            renamed[key] = value
            continue
        for new in ("head.linear." + key[len("head.1.") :], "head.1.0." + key[len("head.1.") :]):
            if new in own:
                renamed[new] = value
                break
        else:
            renamed[key] = value
    if renamed.keys() != state.keys():
        warn_deprecated(
            "These weights were written by an older version of this package (head keys 'head.1.*'); "
            "they are renamed to Zoobot's. Save the model again to update the file."
        )
    return renamed


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError, RuntimeError):
        return False


def zoobot_hparams(model: FinetuneableZoobotAbstract) -> dict[str, Any]:
    """The hyperparameters real Zoobot 2.9 rebuilds ``model`` from: what a checkpoint's ``hyper_parameters``
    holds. Everything else this package needs goes under a separate checkpoint key."""
    settings = model.settings
    scheduler = settings.scheduler_kwargs
    timm_kwargs = dict(model.hparams.get("timm_kwargs") or {})
    timm_kwargs.pop("in_chans", None)
    if is_random_init(model.card):  # Zoobot builds it from the name: give it the architecture's arguments
        timm_kwargs = {**model.encoder_model_args, **timm_kwargs}
    if model.card.channels not in (1, 3):
        timm_kwargs["in_chans"] = model.card.channels
    return {
        "name": zoobot_encoder_name(model.card, model._encoder_given),
        "zoobot_checkpoint_loc": None,
        "training_mode": settings.training_mode,
        "layer_decay": settings.layer_decay,
        "weight_decay": model.weight_decay,
        "learning_rate": model.learning_rate,
        "head_dropout_prob": settings.head_dropout_prob,
        "scheduler_kwargs": dict(scheduler) if scheduler and scheduler_format(scheduler) == "timm" else None,
        "timm_kwargs": timm_kwargs,
        "greyscale": model.card.channels == 1,
        "prog_bar": model.prog_bar,
        "visualize_images": False,
        "seed": model.hparams.get("seed"),
        **model.zoobot_task_hparams(),
    }


def to_zoobot_format(model: FinetuneableZoobotAbstract, checkpoint: dict[str, Any]) -> None:
    """Make a checkpoint Lightning is writing one that real Zoobot 2.9 loads.

    ``hyper_parameters`` become :meth:`~FinetuneableZoobotAbstract.zoobot_hparams`; every other saved argument
    (or one whose value differs there) moves under :data:`EXTRAS_KEY`, from where :func:`load_checkpoint` reads it
    back, so the model reloads here exactly as it was.
    """
    full = dict(checkpoint.get("hyper_parameters") or {})
    zoobot = model.zoobot_hparams()
    extras = {k: v for k, v in full.items() if k not in zoobot or not _same(zoobot[k], v)}
    checkpoint["hyper_parameters"] = zoobot
    checkpoint[EXTRAS_KEY] = {"class": type(model).__name__, "hyper_parameters": extras}


def load_checkpoint(
    cls: type[FinetuneableZoobotAbstract],
    path: str | Path | IO[bytes],
    map_location: Any = None,
    strict: bool | None = None,
    **kwargs: Any,
) -> FinetuneableZoobotAbstract:
    """``cls.load_from_checkpoint(path, ...)`` for a checkpoint of this package, of Zoobot 2.9 or of Zoobot 2.0.

    Args:
        cls: the class it was called on (the base class: whichever task the checkpoint holds).
        path: the checkpoint file.
        map_location: as for ``torch.load``; None: where the tensors were saved, or the CPU without a GPU.
        strict: the weights must match the model's keys exactly (default True).
        **kwargs: constructor arguments replacing the saved ones (``encoder=`` for an in-memory encoder).

    Raises:
        UnsafeCheckpointError: the file holds pickled code.
        FinetuneArgumentError: another task's checkpoint, or hyperparameters the class does not accept.
    """
    if map_location is None and not torch.cuda.is_available():
        map_location = "cpu"
    checkpoint = read_checkpoint(path, map_location=map_location)
    target = checkpoint_class(cls, checkpoint, path)
    init_kwargs = _constructor_kwargs(checkpoint, kwargs)
    try:
        model = target(**init_kwargs)
    except TypeError as err:
        raise FinetuneArgumentError(
            f"{path} holds hyperparameters that {target.__name__} does not accept: {err}"
        ) from err
    model.on_load_checkpoint(checkpoint)
    state = translate_state_dict(model, checkpoint["state_dict"])
    model.load_state_dict(state, strict=True if strict is None else strict)
    device = next((t.device for t in state.values() if isinstance(t, torch.Tensor)), None)
    return model.to(device) if device is not None else model


def load_finetuned(checkpoint_path: str | Path, map_location: str = "cpu") -> FinetuneableZoobotAbstract:
    """Reload a finetuned model from a checkpoint, whichever task it was (this package's, Zoobot 2.0 or 2.9's),
    in eval mode. No pickled code runs.

    Raises:
        FinetuneArgumentError: not a checkpoint of a finetuning model (or an unsafe one).
    """
    model = FinetuneableZoobotAbstract.load_from_checkpoint(checkpoint_path, map_location=map_location)
    model.eval()
    return model

"""Warnings for Zoobot 2.x names (and this package's older ones) that are translated to today's.

:class:`ZoobotDeprecationWarning` is shown by default (``import zoobot`` adds the filter unless ``-W`` or
``PYTHONWARNINGS`` chose otherwise): Python hides a plain ``DeprecationWarning`` raised inside a library,
so a Zoobot script would never learn the new name. :func:`warn_deprecated` points the warning at the
caller's line, past this package and the Lightning and torch code that called it (``load_from_checkpoint``).
"""

from __future__ import annotations

import sys
import warnings
from types import FrameType

__all__ = ["ZoobotDeprecationWarning", "warn_deprecated"]

_LIBRARIES = ("zoobot", "lightning", "pytorch_lightning", "torch")


class ZoobotDeprecationWarning(DeprecationWarning):
    """A Zoobot 2.x name or argument (or an older one of this package) that is translated to today's.

    Silence it with ``warnings.filterwarnings("ignore", category=zoobot.ZoobotDeprecationWarning)``.
    """


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside this package, Lightning and torch, for a warning issued
    by the function that called :func:`warn_deprecated`."""
    frame: FrameType | None = sys._getframe(2)  # the frame that called warn_deprecated
    level = 1
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.split(".")[0] not in _LIBRARIES:
            return level
        frame, level = frame.f_back, level + 1
    return 1


def warn_deprecated(message: str) -> None:
    """Warn ``message`` as a :class:`ZoobotDeprecationWarning`, at the user's line that led here."""
    warnings.warn(message, ZoobotDeprecationWarning, stacklevel=_caller_stacklevel() + 1)


ZOOBOT_1_NAMES = {
    "FinetunedZoobotLightningModule": (
        "Zoobot 1.x's FinetunedZoobotLightningModule became FinetuneableZoobotClassifier, "
        "FinetuneableZoobotRegressor and FinetuneableZoobotTree in Zoobot 2.0: "
        "FinetuneableZoobotClassifier(name='hf_hub:mwalmsley/zoobot-encoder-convnext_nano', num_classes=2)."
    ),
    "load_encoder": (
        "Zoobot 1.x's finetune.load_encoder(checkpoint_loc) is finetune.load_pretrained_zoobot(checkpoint_loc) "
        "since Zoobot 2.0; to finetune a published encoder, give its name: "
        "FinetuneableZoobotClassifier(name='hf_hub:mwalmsley/zoobot-encoder-convnext_nano', ...)."
    ),
    "get_plain_pytorch_zoobot_model": (
        "Zoobot 1.x's define_model.get_plain_pytorch_zoobot_model is gone since Zoobot 2.0: the encoders are "
        "timm models. Use zoobot.encoders.load_encoder('convnext_nano') (or any timm name) for an encoder, "
        "and define_model.ZoobotTree to train one on vote counts."
    ),
}
"""Names Zoobot 1.x had and Zoobot 2.0 dropped, with what to use instead."""


def zoobot_1_name(module: str, name: str) -> ImportError:
    """The error for ``from <module> import <name>``: where ``name`` is a Zoobot 1.x name, what replaced it.

    An ``ImportError``, not an ``AttributeError``: Python replaces an ``AttributeError`` raised by a module's
    ``__getattr__`` during ``from ... import`` with its own message, which would lose the hint.
    For a name that is not one of :data:`ZOOBOT_1_NAMES`, the caller raises ``AttributeError`` as usual.
    """
    return ImportError(f"{module} has no {name}. {ZOOBOT_1_NAMES[name]}", name=name, path=None)

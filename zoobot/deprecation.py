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

"""Zoobot: finetune pretrained galaxy-image models on your own labels.

The library never imports a UI toolkit. Heavy modules (torch, lightning, timm) are imported by the
submodules that need them, so ``import zoobot`` stays cheap. Importing it checks that real Zoobot 2.x
(which also installs a package named ``zoobot``) does not share this package's folder
(:func:`zoobot._install.check_install`).
"""

import sys as _sys
import warnings as _warnings
from pathlib import Path as _Path

from zoobot._install import check_install as _check_install
from zoobot.deprecation import ZoobotDeprecationWarning

__all__ = ["ZoobotDeprecationWarning"]

__version__ = "0.1.0"


if not _sys.warnoptions:  # -W or PYTHONWARNINGS given: the user's choice stands
    _warnings.filterwarnings("default", category=ZoobotDeprecationWarning)

_check_install(_Path(__file__).parent)

"""Zoobot: finetune pretrained galaxy-image models on your own labels.

The library never imports a UI toolkit. Heavy modules (torch, lightning, timm) are imported by the
submodules that need them, so ``import zoobot`` stays cheap. Importing it checks that real Zoobot 2.x
(which also installs a package named ``zoobot``) does not share this package's folder
(:func:`zoobot._install.check_install`).
"""

from pathlib import Path as _Path

from zoobot._install import check_install as _check_install

__version__ = "0.1.0"

_check_install(_Path(__file__).parent)

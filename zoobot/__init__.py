"""Zoobot: finetune pretrained galaxy-image models on your own labels.

The library never imports a UI toolkit. Heavy modules (torch, lightning, timm) are imported by the
submodules that need them, so ``import zoobot`` stays cheap.
"""

__version__ = "0.1.0"

"""Zoobot 2.x import path: thin re-export of the tree head's layers in :mod:`zoobot.finetune.heads`."""

from zoobot.finetune.heads import ScaledSigmoid, custom_top_dirichlet

__all__ = ["ScaledSigmoid", "custom_top_dirichlet"]

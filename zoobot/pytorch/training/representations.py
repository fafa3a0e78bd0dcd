"""Zoobot 2.x import path: ``ZoobotEncoder`` and thin re-exports of :mod:`zoobot.representations`."""

from zoobot.finetune.encoder_module import ZoobotEncoder
from zoobot.representations import compute_umap, get_representations, nearest_neighbours

__all__ = ["ZoobotEncoder", "get_representations", "compute_umap", "nearest_neighbours"]

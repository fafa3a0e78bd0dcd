"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.representations`."""

from zoobot.representations import compute_umap, get_representations, nearest_neighbours

__all__ = ["get_representations", "compute_umap", "nearest_neighbours"]

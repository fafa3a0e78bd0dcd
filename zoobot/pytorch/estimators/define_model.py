"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.scratch`."""

from zoobot.scratch import ZoobotTree, get_encoder_dim, get_pytorch_dirichlet_head, get_pytorch_encoder

__all__ = ["ZoobotTree", "get_pytorch_encoder", "get_pytorch_dirichlet_head", "get_encoder_dim"]

"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.scratch`."""

from zoobot.scratch import get_default_callbacks, train_default_zoobot_from_scratch

__all__ = ["get_default_callbacks", "train_default_zoobot_from_scratch"]

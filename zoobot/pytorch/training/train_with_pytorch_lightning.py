"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.scratch`."""

from zoobot.scratch import train_default_zoobot_from_scratch

__all__ = ["train_default_zoobot_from_scratch"]

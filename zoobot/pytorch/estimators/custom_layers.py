"""Zoobot 2.x import path: thin re-export of :class:`zoobot.finetune.heads.PermaDropout`."""

from zoobot.finetune.heads import PermaDropout

__all__ = ["PermaDropout"]

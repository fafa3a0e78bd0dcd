"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.finetune`."""

from zoobot.finetune import (
    FinetuneableZoobotAbstract,
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    get_trainer,
    load_finetuned,
)

__all__ = [
    "FinetuneableZoobotAbstract",
    "FinetuneableZoobotClassifier",
    "FinetuneableZoobotRegressor",
    "FinetuneableZoobotTree",
    "get_trainer",
    "load_finetuned",
]

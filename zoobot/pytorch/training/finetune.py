"""Zoobot 2.x import path: thin re-export of :mod:`zoobot.finetune` (and Zoobot's loss functions).

``dirichlet_loss`` is Zoobot 2.0's ``finetune.dirichlet_loss(y_pred, y, question_index_groups)`` (a scalar).
"""

from zoobot.finetune import (
    FinetuneableZoobotAbstract,
    FinetuneableZoobotClassifier,
    FinetuneableZoobotRegressor,
    FinetuneableZoobotTree,
    LinearHead,
    download_from_name,
    freeze_batchnorm_layers,
    get_trainer,
    load_finetuned,
)
from zoobot.finetune.losses import cross_entropy_loss, dirichlet_loss, l1_loss, mse_loss
from zoobot.finetune.sources import load_pretrained_zoobot

__all__ = [
    "FinetuneableZoobotAbstract",
    "FinetuneableZoobotClassifier",
    "FinetuneableZoobotRegressor",
    "FinetuneableZoobotTree",
    "LinearHead",
    "cross_entropy_loss",
    "dirichlet_loss",
    "download_from_name",
    "freeze_batchnorm_layers",
    "get_trainer",
    "l1_loss",
    "load_finetuned",
    "load_pretrained_zoobot",
    "mse_loss",
]


def __getattr__(name: str) -> object:
    from zoobot.deprecation import zoobot_1_name

    if name in ("FinetunedZoobotLightningModule", "load_encoder"):  # Zoobot 1.x names: say what replaced them
        raise zoobot_1_name(__name__, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""Finetune a pretrained encoder on your own labels: classification, regression, decision trees.

One base LightningModule, :class:`FinetuneableZoobotAbstract`, builds the encoder, head, loss and
metrics through small hooks and has a single shared step for training, validation, test and
prediction. :class:`FinetuneableZoobotClassifier`, :class:`FinetuneableZoobotRegressor` and
:class:`FinetuneableZoobotTree` only say what differs.

Both published Zoobot argument sets work: ``name=`` / ``checkpoint_loc=`` / ``encoder=`` /
``zoobot_checkpoint_loc=`` with ``training_mode``, ``layer_decay``, ``head_dropout_prob``, and the
older ``n_blocks``, ``lr_decay``, ``dropout_prob``, ``cosine_schedule`` (translated, with a
``DeprecationWarning``, by :func:`resolve_finetune_settings`).

Head-only training (``training_mode='head_only'``) freezes the encoder; with a datamodule that has
``cache_features`` (``zoobot.data.CatalogDataModule``) the encoder runs once over the data and the
head then trains on the cached features.

The arguments the three task classes share are declared once, in :class:`FinetuneArgs`.

Modules: :mod:`~zoobot.finetune.settings` (the shared arguments, their translation),
:mod:`~zoobot.finetune.base` (the base task), :mod:`~zoobot.finetune.classifier`,
:mod:`~zoobot.finetune.regressor`, :mod:`~zoobot.finetune.tree` (one per task),
:mod:`~zoobot.finetune.layer_decay` (optimiser parameter groups, the cosine schedule),
:mod:`~zoobot.finetune.trainer` (``get_trainer``), :mod:`~zoobot.finetune.heads` (Zoobot's head modules),
:mod:`~zoobot.finetune.encoder_source` (building the encoder), :mod:`~zoobot.finetune.checkpoints` (checkpoints in
Zoobot's format both ways, ``load_finetuned``, Hub downloads).
"""

from zoobot.finetune.base import FinetuneableZoobotAbstract, Stage
from zoobot.finetune.checkpoints import (
    EXTRAS_KEY,
    FINETUNE_CLASSES,
    UnsafeCheckpointError,
    load_finetuned,
    read_checkpoint,
)
from zoobot.finetune.classifier import FinetuneableZoobotClassifier
from zoobot.finetune.encoder_module import ZoobotEncoder
from zoobot.finetune.heads import LinearHead, freeze_batchnorm_layers, get_pytorch_dirichlet_head
from zoobot.finetune.layer_decay import cosine_schedule, cosine_with_warmup, count_blocks, encoder_param_groups
from zoobot.finetune.regressor import FinetuneableZoobotRegressor
from zoobot.finetune.settings import (
    SCHEDULER_KEYS,
    SHARED_ARGUMENTS,
    FinetuneArgs,
    FinetuneArgumentError,
    TrainingMode,
)
from zoobot.finetune.sources import download_finetuned, download_from_name, encoder_from_checkpoint
from zoobot.finetune.trainer import get_trainer
from zoobot.finetune.translation import FinetuneSettings, resolve_finetune_settings
from zoobot.finetune.tree import FinetuneableZoobotTree, as_schema

__all__ = [
    "EXTRAS_KEY",
    "FINETUNE_CLASSES",
    "SCHEDULER_KEYS",
    "SHARED_ARGUMENTS",
    "FinetuneArgs",
    "FinetuneArgumentError",
    "FinetuneSettings",
    "FinetuneableZoobotAbstract",
    "FinetuneableZoobotClassifier",
    "FinetuneableZoobotRegressor",
    "FinetuneableZoobotTree",
    "LinearHead",
    "Stage",
    "TrainingMode",
    "UnsafeCheckpointError",
    "ZoobotEncoder",
    "as_schema",
    "cosine_schedule",
    "cosine_with_warmup",
    "count_blocks",
    "download_finetuned",
    "download_from_name",
    "encoder_from_checkpoint",
    "encoder_param_groups",
    "freeze_batchnorm_layers",
    "get_pytorch_dirichlet_head",
    "get_trainer",
    "load_finetuned",
    "read_checkpoint",
    "resolve_finetune_settings",
]

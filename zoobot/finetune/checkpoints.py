"""Reloading a finetuned model from its Lightning checkpoint, whichever task it was trained for."""

from __future__ import annotations

from pathlib import Path

from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.classifier import FinetuneableZoobotClassifier
from zoobot.finetune.regressor import FinetuneableZoobotRegressor
from zoobot.finetune.settings import FinetuneArgumentError
from zoobot.finetune.tree import FinetuneableZoobotTree
from zoobot.safe_load import load_checkpoint_file

__all__ = ["FINETUNE_CLASSES", "load_finetuned"]

FINETUNE_CLASSES: tuple[type[FinetuneableZoobotAbstract], ...] = (
    FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree)
"""The finetuning task classes."""


def load_finetuned(checkpoint_path: str | Path, map_location: str = "cpu") -> FinetuneableZoobotAbstract:
    """Reload a finetuned model from a Lightning checkpoint, whichever task it was (no pickled code runs).

    Raises:
        UnsafeCheckpointError: the file holds pickled code, or is not a checkpoint.
        FinetuneArgumentError: the checkpoint was not written by a finetuning class of this package.
    """
    checkpoint = load_checkpoint_file(checkpoint_path)  # UnsafeCheckpointError for pickled code
    hparams = checkpoint.get("hyper_parameters", {})
    if "schema" in hparams:
        cls: type[FinetuneableZoobotAbstract] = FinetuneableZoobotTree
    elif "num_classes" in hparams:
        cls = FinetuneableZoobotClassifier
    elif "unit_interval" in hparams:
        cls = FinetuneableZoobotRegressor
    else:
        raise FinetuneArgumentError(
            f"{checkpoint_path} is not a checkpoint of a FinetuneableZoobot model (no task hyperparameters)."
        )
    model = cls.load_from_checkpoint(checkpoint_path, map_location=map_location, weights_only=True)
    model.eval()
    return model

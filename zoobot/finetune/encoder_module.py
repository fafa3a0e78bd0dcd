"""Zoobot's ``ZoobotEncoder``: a bare encoder as a LightningModule, for representations with ``predict``.

As in Zoobot, ``ZoobotEncoder(encoder)`` wraps any encoder and ``ZoobotEncoder.load_from_name(name)`` loads one
(here through :func:`zoobot.encoders.load_encoder`, so any encoder source works and the encoder's card says how to
prepare its images). Unlike Zoobot 2.9's, it predicts on this package's batches and galaxy-datasets' dict batches
(Zoobot 2.9's failed on its own dict batches), and names its outputs ``feat_0``, ``feat_1``, ... as Zoobot's
prediction files do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import lightning as L
import numpy as np
import pandas as pd
import torch
from torch import nn

from zoobot.encoders import EncoderCard, card_for_module, load_encoder

__all__ = ["ZoobotEncoder"]


class ZoobotEncoder(L.LightningModule):
    """An encoder as a LightningModule: ``forward`` gives its features ``(B, feature_dim)``.

    Args:
        encoder: the encoder module (e.g. ``model.encoder`` of a finetuned model, or a timm model with
            ``num_classes=0``).
        card: how to prepare its images; None: worked out from the module (pixels in [0, 1], not normalised).
    """

    def __init__(self, encoder: nn.Module, card: EncoderCard | None = None) -> None:
        super().__init__()
        self.encoder = encoder
        self.card = card if card is not None else card_for_module(encoder)

    def forward(self, x: torch.Tensor | Sequence[torch.Tensor]) -> torch.Tensor:
        """Images ``(B, C, H, W)`` (or a list holding them, as Zoobot accepted) -> features ``(B, feature_dim)``."""
        if isinstance(x, (list, tuple)) and len(x) == 1:
            x = x[0]
        return self.encoder(x)

    def predict_step(self, batch: Any, batch_idx: int, dataloader_idx: int = 0) -> torch.Tensor:
        """Features of a batch: a dict with ``'image'`` (this package's, galaxy-datasets'), a tuple, or images."""
        if isinstance(batch, Mapping):
            batch = batch["image"]
        elif isinstance(batch, (list, tuple)):
            batch = batch[0]
        return self(batch)

    def default_output_names(self) -> list[str]:
        """``feat_0``, ``feat_1``, ...: Zoobot's names for representation columns."""
        return [f"feat_{i}" for i in range(self.card.feature_dim)]

    def prediction_columns(
        self, predictions: np.ndarray, names: Sequence[str] | None = None, id_str: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """Features ``(N, feature_dim)`` as columns named ``names`` (default ``feat_<i>``), then ``id_str`` (when
        given), as Zoobot writes representations."""
        from zoobot.prediction_table import zoobot_table

        cols = list(names) if names else self.default_output_names()
        if len(cols) != predictions.shape[1]:
            raise ValueError(f"Got {len(cols)} names for {predictions.shape[1]} features; give one name per feature.")
        return zoobot_table({col: predictions[:, k] for k, col in enumerate(cols)}, id_str)

    @classmethod
    def load_from_name(cls, name: str) -> ZoobotEncoder:
        """An encoder by name: ``'hf_hub:mwalmsley/zoobot-encoder-convnext_nano'``, a registered name, a folder, ...

        Read from the local Hugging Face cache when offline; see :func:`zoobot.encoders.load_encoder`.
        """
        encoder, card = load_encoder(name)
        return cls(encoder, card)

"""Finetuning to predict one or more continuous values per galaxy (mean squared or absolute error)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
import torchmetrics as tm
from torch import nn

from zoobot.finetune.base import FinetuneableZoobotAbstract
from zoobot.finetune.heads import LinearHead
from zoobot.finetune.settings import FinetuneArgumentError

__all__ = ["FinetuneableZoobotRegressor"]


_LOSS_NAMES = {
    "mse": "mse",
    "mean_squared_error": "mse",
    "mae": "mae",
    "mean_absolute_error": "mae",
    "l1": "mae",
    "l1_loss": "mae",
}
"""Loss names Zoobot accepts -> this package's two."""


class _R2Score(tm.R2Score):
    """R^2 that is NaN, not an error, with fewer than two galaxies (a tiny catalog's one-galaxy validation split)."""

    def compute(self) -> torch.Tensor:
        if int(self.total) < 2:
            return torch.tensor(float("nan"))
        return super().compute()


class FinetuneableZoobotRegressor(FinetuneableZoobotAbstract):
    """Finetune to predict one or more continuous values per galaxy.

    ``forward`` returns ``(B,)`` for one target, as Zoobot's does, and ``(B, n_targets)`` for several;
    ``predict_step`` always returns ``(B, n_targets)``.

    Args:
        loss: ``'mse'`` (mean squared error) or ``'mae'`` (mean absolute error); Zoobot's other spellings
            (``'mean_squared_error'``, ``'mean_absolute_error'``, ``'l1'``, ``'l1_loss'``) work too.
        unit_interval: squash outputs into (0, 1) with a sigmoid (for fractions), in the head as Zoobot does.
        label_col: the target column.
        label_cols: several target columns (one output each).
        **kwargs: the shared arguments, see :class:`~zoobot.finetune.settings.FinetuneArgs`.
    """

    ZOOBOT_METRICS = {"rmse": "rmse"}

    def __init__(
        self,
        loss: Literal["mse", "mae"] = "mse",
        unit_interval: bool = False,
        label_col: str = "label",
        label_cols: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if loss not in _LOSS_NAMES:
            raise FinetuneArgumentError(f"loss must be 'mse' or 'mae', got {loss!r}.")
        self.loss_name = _LOSS_NAMES[loss]
        self.unit_interval = unit_interval
        self.label_cols = list(label_cols) if label_cols else [label_col]
        super().__init__(**kwargs)

    def output_dim(self) -> int:
        return len(self.label_cols)

    def build_head(self) -> nn.Module:
        return LinearHead(
            self.encoder_dim,
            self.output_dim(),
            head_dropout_prob=self.settings.head_dropout_prob,
            activation=torch.sigmoid if self.unit_interval else None,
        )

    def zoobot_task_hparams(self) -> dict[str, Any]:
        return {"label_col": self.label_cols[0], "loss": self.loss_name, "unit_interval": self.unit_interval}

    @staticmethod
    def _as_2d(outputs: torch.Tensor) -> torch.Tensor:
        """``(B,)`` head outputs (one target) as ``(B, 1)``."""
        return outputs.reshape(len(outputs), -1) if outputs.ndim else outputs.reshape(1, 1)

    def default_output_names(self) -> list[str]:
        return list(self.label_cols)

    def build_metrics(self) -> tm.MetricCollection:
        n = len(self.label_cols)
        return tm.MetricCollection(
            {
                "rmse": tm.MeanSquaredError(squared=False, num_outputs=n),
                "mae": tm.MeanAbsoluteError(num_outputs=n),
                "r2": _R2Score(multioutput="uniform_average") if n > 1 else _R2Score(),
            }
        )

    def targets_from_labels(self, labels: torch.Tensor) -> torch.Tensor:
        return labels.reshape(labels.shape[0], -1).float()

    def compute_loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        predictions = self._as_2d(outputs)
        if self.loss_name == "mse":
            return F.mse_loss(predictions, targets)
        return F.l1_loss(predictions, targets)

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: torch.Tensor) -> None:
        predictions = self._as_2d(outputs)
        if predictions.shape[1] == 1:
            predictions, targets = predictions[:, 0], targets[:, 0]
        metrics.update(predictions, targets)

    def outputs_to_predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predicted values ``(B, n_targets)``."""
        return self._as_2d(outputs)

    def prediction_columns(
        self, predictions: np.ndarray, names: Sequence[str] | None = None, id_str: Sequence[str] | None = None
    ) -> pd.DataFrame:
        """One column per target, under the target's name (``names`` replace them), then ``id_str``
        (when given), as Zoobot writes them."""
        from zoobot.prediction_table import zoobot_table

        cols = list(names) if names else list(self.label_cols)
        self._check_names(cols, len(self.label_cols))
        return zoobot_table({c: predictions[:, k] for k, c in enumerate(cols)}, id_str)

"""The loss and task metrics of each stage, logged under this package's names and Zoobot's.

:class:`StageMetricsModule` is the part of the finetuning base class that keeps one copy of the task
metrics per stage (train, val, test), updates it batch by batch and logs it once per epoch: as
``<stage>_<metric>`` and, for the names in ``ZOOBOT_METRICS``, as ``finetuning/<stage>_<suffix>``
(what Zoobot's users plot).
"""

from __future__ import annotations

from typing import Any, cast

import lightning as L
import torch
import torchmetrics as tm
from torch import nn

__all__ = ["StageMetricsModule"]


class StageMetricsModule(L.LightningModule):
    """A LightningModule that logs each stage's loss and task metrics (base of the finetuning classes)."""

    ZOOBOT_METRICS: dict[str, str] = {}
    """This package's metric names -> the suffix Zoobot logs them under (``finetuning/<stage>_<suffix>``)."""
    prog_bar: bool
    """Show the loss in Lightning's progress bar."""

    def init_stage_metrics(self, metrics: tm.MetricCollection | None) -> None:
        """One copy of ``metrics`` per stage, prefixed ``<stage>_`` (none when ``metrics`` is None)."""
        self.metrics = nn.ModuleDict(
            {}
            if metrics is None
            else {f"{stage}_metrics": metrics.clone(prefix=f"{stage}_") for stage in ("train", "val", "test")}
        )
        self._stages_updated: set[str] = set()

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: Any) -> None:
        """Update the task metrics with one batch (a hook for subclasses)."""

    def zoobot_loss_names(self, stage: str) -> list[str]:
        """The names Zoobot logs the loss of ``stage`` under, besides this package's ``<stage>_loss``."""
        return [f"finetuning/{stage}_loss"]

    def log_stage(self, stage: str, loss: torch.Tensor, outputs: torch.Tensor, targets: Any, batch_size: int) -> None:
        """Log one batch's loss (epoch mean) and update the stage's metrics with it."""
        # This package's name, and Zoobot's (what its get_trainer monitors and its users plot).
        self.log(
            f"{stage}_loss",
            loss,
            on_step=False,
            on_epoch=True,
            prog_bar=self.prog_bar,
            sync_dist=True,
            batch_size=batch_size,
        )
        for name in self.zoobot_loss_names(stage):
            self.log(name, loss, on_step=False, on_epoch=True, sync_dist=True, batch_size=batch_size)
        if f"{stage}_metrics" in self.metrics:
            self.update_metrics(self._stage_metrics(stage), outputs.detach(), targets)
            self._stages_updated.add(stage)

    def _stage_metrics(self, stage: str) -> tm.MetricCollection:
        return cast(tm.MetricCollection, self.metrics[f"{stage}_metrics"])

    def _log_epoch_metrics(self, stage: str) -> None:
        if f"{stage}_metrics" not in self.metrics:
            return
        metrics = self._stage_metrics(stage)
        if stage in self._stages_updated:
            values = {k: v for k, v in metrics.compute().items() if v.numel() == 1}
            self.log_dict(values, prog_bar=False)
            for name, suffix in self.ZOOBOT_METRICS.items():
                if f"{stage}_{name}" in values:
                    self.log(f"finetuning/{stage}_{suffix}", values[f"{stage}_{name}"])
            self._stages_updated.discard(stage)
        metrics.reset()

    def on_train_epoch_end(self) -> None:
        self._log_epoch_metrics("train")

    def on_validation_epoch_end(self) -> None:
        self._log_epoch_metrics("val")

    def on_test_epoch_end(self) -> None:
        self._log_epoch_metrics("test")

"""The loss and task metrics of each stage, logged under this package's names and Zoobot's.

:class:`StageMetricsModule` is the part of the finetuning base class that keeps one copy of the task
metrics per stage (train, val, test) and logs, once per epoch, the stage's mean loss and its metrics: as
``<stage>_<metric>`` and, for the names in ``ZOOBOT_METRICS``, as ``finetuning/<stage>_<suffix>``
(what Zoobot's users plot).

Each batch only adds to running sums: the loss is summed (weighted by the batch size) and logged once,
at the end of the stage's last batch, and the metrics are updated with several batches at once. A
``self.log`` call costs Lightning about half a millisecond and a metric update about one, which on a
head-only run over cached features was more than the head's own step (``benchmarks/run.py``).
"""

from __future__ import annotations

import math
from typing import Any, cast

import lightning as L
import torch
import torchmetrics as tm
from torch import nn

__all__ = ["StageMetricsModule"]

METRIC_ROWS = 4096
"""Batches wait for a metric update until they hold this many rows (or the epoch ends)."""


class StageMetricsModule(L.LightningModule):
    """A LightningModule that logs each stage's loss and task metrics (base of the finetuning classes)."""

    ZOOBOT_METRICS: dict[str, str] = {}
    """This package's metric names -> the suffix Zoobot logs them under (``finetuning/<stage>_<suffix>``)."""
    HELD_OUT_METRICS: tuple[str, ...] = ()
    """Metrics of the task's collection kept for the held-out stages (val, test) and not computed on training."""
    prog_bar: bool
    """Show the loss in Lightning's progress bar."""

    def init_stage_metrics(self, metrics: tm.MetricCollection | None) -> None:
        """One copy of ``metrics`` per stage, prefixed ``<stage>_`` (none when ``metrics`` is None), without
        :attr:`HELD_OUT_METRICS` for training."""
        stages: dict[str, tm.MetricCollection] = {}
        for stage in ("train", "val", "test") if metrics is not None else ():
            copy = cast(tm.MetricCollection, metrics).clone(prefix=f"{stage}_")
            if stage == "train" and self.HELD_OUT_METRICS:
                # A new collection of the kept metrics (deleting from one with compute groups breaks them).
                kept: dict[str, tm.Metric | tm.MetricCollection] = {
                    k: m for k, m in copy.items(keep_base=True) if k not in self.HELD_OUT_METRICS
                }
                copy = tm.MetricCollection(kept, prefix=f"{stage}_", compute_groups=False)
            stages[f"{stage}_metrics"] = copy
        self.metrics = nn.ModuleDict(stages)
        self._stages_updated: set[str] = set()
        # stage -> (loss summed over galaxies with their weights, the weights summed, galaxies)
        self._loss_sums: dict[str, tuple[torch.Tensor, torch.Tensor | float, int]] = {}
        self._waiting: dict[str, list[tuple[torch.Tensor, Any]]] = {}  # stage -> batches for the metrics
        self._batches_seen: dict[str, int] = {}

    def update_metrics(self, metrics: tm.MetricCollection, outputs: torch.Tensor, targets: Any) -> None:
        """Update the task metrics with a batch, or several concatenated (a hook for subclasses)."""

    def zoobot_loss_names(self, stage: str) -> list[str]:
        """The names Zoobot logs the loss of ``stage`` under, besides this package's ``<stage>_loss``."""
        return [f"finetuning/{stage}_loss"]

    def log_stage(
        self,
        stage: str,
        loss: torch.Tensor,
        outputs: torch.Tensor,
        targets: Any,
        batch_size: int,
        weight: torch.Tensor | float | None = None,
    ) -> None:
        """Add one batch's loss and outputs to the stage's epoch (its mean loss and metrics are logged once).

        ``weight``: what the batch's mean ``loss`` was divided by, where that is not ``batch_size`` (a class-
        weighted cross-entropy divides by its galaxies' weights): the epoch's loss is then the same weighted
        mean over every galaxy, however the galaxies were batched.
        """
        total, weights, rows = self._loss_sums.get(stage, (torch.zeros((), device=loss.device), 0.0, 0))
        weight = batch_size if weight is None else weight
        self._loss_sums[stage] = (total + loss.detach().float() * weight, weights + weight, rows + batch_size)
        if f"{stage}_metrics" in self.metrics:
            waiting = self._waiting.setdefault(stage, [])
            waiting.append((outputs.detach(), targets))
            if sum(len(o) for o, _ in waiting) >= METRIC_ROWS:
                self._update_waiting_metrics(stage)
        self._batches_seen[stage] = self._batches_seen.get(stage, 0) + 1
        if self._is_last_batch(stage):
            self._log_loss(stage)

    def _is_last_batch(self, stage: str) -> bool:
        """Whether the stage's batch just seen is its last this epoch; True where that is not known (no
        trainer, a loader without a length, several loaders) so the loss is then logged every batch."""
        seen = self._batches_seen[stage]
        trainer = self._trainer
        if trainer is None:
            return True
        if stage == "train":
            final_step = 0 <= trainer.max_steps <= trainer.global_step + 1
            return final_step or not math.isfinite(trainer.num_training_batches) or seen >= trainer.num_training_batches
        if stage == "val":
            totals = trainer.num_sanity_val_batches if trainer.sanity_checking else trainer.num_val_batches
        else:
            totals = trainer.num_test_batches
        return len(totals) != 1 or not math.isfinite(totals[0]) or seen >= totals[0]

    def _log_loss(self, stage: str) -> None:
        if stage not in self._loss_sums:
            return
        total, weights, rows = self._loss_sums.pop(stage)
        mean = total / weights
        # This package's name, and Zoobot's (what its get_trainer monitors and its users plot).
        for name in (f"{stage}_loss", *self.zoobot_loss_names(stage)):
            self.log(
                name,
                mean,
                on_step=False,
                on_epoch=True,
                prog_bar=self.prog_bar and name == f"{stage}_loss",
                sync_dist=True,
                batch_size=rows,
            )

    def _update_waiting_metrics(self, stage: str) -> None:
        waiting = self._waiting.pop(stage, [])
        if not waiting:
            return
        if all(isinstance(t, torch.Tensor) for _, t in waiting):
            batches = [(torch.cat([o for o, _ in waiting]), torch.cat([t for _, t in waiting]))]
        else:
            batches = waiting
        for outputs, targets in batches:
            self.update_metrics(self._stage_metrics(stage), outputs, targets)
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

    def _start_stage_epoch(self, stage: str) -> None:
        self._batches_seen[stage] = 0
        self._loss_sums.pop(stage, None)
        self._waiting.pop(stage, None)

    def _end_stage_epoch(self, stage: str) -> None:
        self._loss_sums.pop(stage, None)  # an epoch cut short (stopped mid-way) logs no partial loss
        if f"{stage}_metrics" in self.metrics:
            self._update_waiting_metrics(stage)
        self._log_epoch_metrics(stage)

    def on_train_epoch_start(self) -> None:
        self._start_stage_epoch("train")

    def on_validation_epoch_start(self) -> None:
        self._start_stage_epoch("val")

    def on_test_epoch_start(self) -> None:
        self._start_stage_epoch("test")

    def on_train_epoch_end(self) -> None:
        self._end_stage_epoch("train")

    def on_validation_epoch_end(self) -> None:
        self._end_stage_epoch("val")

    def on_test_epoch_end(self) -> None:
        self._end_stage_epoch("test")

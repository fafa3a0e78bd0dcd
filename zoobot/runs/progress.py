"""Progress of a training run as it happens: :class:`RunProgress`, a Lightning callback that writes
``progress.json`` and ``metrics.csv`` for pollers (the app) and honours a stop request.

This module imports Lightning; ``zoobot.runs`` loads it only when a run starts.
"""

from __future__ import annotations

import threading
import time

import lightning as L
import numpy as np
import torch

from zoobot.runs.folder import FEATURES_STAGE, RunFolder


def device_name(trainer: L.Trainer) -> str:
    """A human name for the device a trainer runs on: the GPU's name, or 'CPU'."""
    root = trainer.strategy.root_device
    if root.type == "cuda":
        return torch.cuda.get_device_name(root)
    if root.type == "mps":
        return "Apple GPU (MPS)"
    return "CPU"


class RunProgress(L.Callback):
    """Writes the run's progress for pollers (the app) and honours a stop request.

    ``progress.json`` gets the epoch, the step, the steps in all, the time so far and left, and the
    device, at most twice a second; ``metrics.csv`` gets a row per finished epoch.

    Args:
        folder: the run's folder.
        stop_event: when set, training stops at the end of the current batch.
    """

    def __init__(self, folder: RunFolder, stop_event: threading.Event | None = None) -> None:
        self.folder = folder
        self.stop_event = stop_event
        self.start = time.monotonic()
        self.first_step: tuple[float, int] | None = None  # (time, step) when the first batch ended
        self.last_write = 0.0
        self.rows: list[dict[str, float]] = []
        self.epoch_ended: int | None = None  # an epoch whose metrics.csv row is not written yet
        self.device = "CPU"
        self.features_start: float | None = None

    def _stop_requested(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()

    def _total_steps(self, trainer: L.Trainer) -> int:
        per_epoch = trainer.num_training_batches
        per_epoch = int(per_epoch) if np.isfinite(per_epoch) else 0
        return per_epoch * (trainer.max_epochs or 0)

    def _write(self, trainer: L.Trainer, stage: str) -> None:
        total = self._total_steps(trainer)
        done = trainer.global_step
        now = time.monotonic()
        elapsed = now - self.start
        # The rate is measured from the end of the first batch: start-up (loader workers, the
        # first batch, caching features) takes a while once and made early estimates far too long.
        eta = None
        if self.first_step is not None and total and done > self.first_step[1]:
            since, first = self.first_step
            eta = (now - since) / (done - first) * (total - done)
        self.folder.write_progress(
            status="running",
            stage=stage,
            epoch=trainer.current_epoch,
            max_epochs=trainer.max_epochs,
            step=done,
            total_steps=total,
            elapsed_s=elapsed,
            eta_s=eta,
            device=self.device,
        )

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the clock and look up the device (fixed for the run)."""
        self.start = time.monotonic()
        self.device = device_name(trainer)
        self._write(trainer, "training")

    def on_features(self, done: int, total: int) -> None:
        """A head-only run's feature pass (before its first epoch): its own progress and time left, at most twice a
        second; stop requests are honoured once training starts."""
        now = time.monotonic()
        if self.features_start is None:
            self.features_start = now
        if now - self.last_write < 0.5 and done < total:
            return
        self.last_write = now
        rate = (now - self.features_start) / done if done else None
        self.folder.write_progress(
            status="running",
            stage=FEATURES_STAGE,
            step=done,
            total_steps=total,
            elapsed_s=now - self.start,
            eta_s=rate * (total - done) if rate is not None else None,
            device=self.device,
        )

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: object, batch: object, batch_idx: int
    ) -> None:
        """Stop if asked; write progress at most every half second."""
        if self._stop_requested():
            trainer.should_stop = True
        if self.first_step is None:
            self.first_step = (time.monotonic(), trainer.global_step)
        if time.monotonic() - self.last_write > 0.5:
            self.last_write = time.monotonic()
            self._write(trainer, "training")

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Note the epoch whose metrics row is due; stop if asked."""
        # Lightning calls this before the model's own on_train_epoch_end, where the epoch's
        # train metrics (accuracy, ...) are logged: the row is written once those are in,
        # when the next epoch starts or training ends.
        if not trainer.sanity_checking and trainer.is_global_zero:
            self.epoch_ended = trainer.current_epoch
        if self._stop_requested():
            trainer.should_stop = True

    def _write_epoch_row(self, trainer: L.Trainer) -> None:
        if self.epoch_ended is None:
            return
        row: dict[str, float] = {"epoch": self.epoch_ended}
        for name, value in trainer.callback_metrics.items():
            if name.endswith("_step") or value.numel() != 1:
                continue
            row[name.removesuffix("_epoch")] = float(value)
        self.rows.append(row)
        self.epoch_ended = None
        self.folder.write_metrics(self.rows)
        self._write(trainer, "training")

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the row of the epoch that just ended, now its metrics are all logged."""
        self._write_epoch_row(trainer)

    def on_train_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write the last epoch's row."""
        self._write_epoch_row(trainer)

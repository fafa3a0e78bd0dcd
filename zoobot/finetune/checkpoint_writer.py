"""Checkpoint files written behind training, and only the ones that are still wanted when written.

``ModelCheckpoint`` writes the whole model at every ``val_loss`` improvement and deletes the previous
best file. Done in the training thread, that took about 1 s of the demo encoder's 6 s head-only
benchmark (17 writes of 20 MB); done in a background thread at once, the writes still took half of
the head's 20 epochs on 2 cores (``benchmarks/run.py``, 2026-12-03), because serialising 20 MB
competes with training for the CPU. So :class:`DelayedCheckpointIO` takes a point-in-time copy of
the tensors in the training thread and writes it :data:`WRITE_DELAY_S` later in one background
thread, unless the file was removed in the meantime (a better epoch came): a head whose epochs take
milliseconds then writes its best checkpoint once, while a run whose epochs take minutes writes
every improvement 2 s after it happens. Writes and removals run in the order asked, so a removal
never overtakes the write of the same file. Loading a checkpoint and the trainer's teardown at the
end of ``fit`` write everything still waiting first, so ``best_model_path`` is on disk when ``fit``
returns; after teardown, saves are written at once. A failed write or removal is raised at the next
checkpoint call or at teardown.

The copy reuses the memory of the last copy that was written or dropped (one checkpoint's worth is
kept until teardown): copying 20 MB into memory already held took under 1 ms, where allocating it
anew took about 9 ms (the demo encoder, 2 cores), a quarter of a head-only epoch.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from typing import Any

import torch
from lightning.pytorch.plugins import TorchCheckpointIO
from lightning_utilities.core.apply_func import apply_to_collection

__all__ = ["WRITE_DELAY_S", "DelayedCheckpointIO"]

WRITE_DELAY_S = 2.0
"""Seconds a checkpoint waits before it is written (a later removal of the file cancels the write)."""


@dataclasses.dataclass
class _Operation:
    kind: str  # "save" or "remove"
    path: Any
    due: float
    checkpoint: dict[str, Any] | None = None
    storage_options: Any = None


class DelayedCheckpointIO(TorchCheckpointIO):
    """A checkpoint plugin that writes each file ``delay_s`` after it is asked, in one background thread,
    and never writes a file removed before then (see the module's description)."""

    def __init__(self, delay_s: float = WRITE_DELAY_S) -> None:
        super().__init__()
        self.delay_s = delay_s
        self.error: BaseException | None = None
        self._waiting: list[_Operation] = []
        self._running: _Operation | None = None
        self._worker: threading.Thread | None = None
        self._flush = False
        self._condition = threading.Condition()
        self._spare: list[torch.Tensor] = []  # the tensors of the last copy written or dropped, to copy into

    def raise_error(self) -> None:
        if self.error is not None:
            error, self.error = self.error, None
            raise error

    def _submit(self, operation: _Operation) -> None:
        self.raise_error()
        with self._condition:
            self._waiting.append(operation)
            if self._worker is None:
                # Not a daemon: a checkpoint still waiting when the script ends is written before it exits.
                self._worker = threading.Thread(target=self._work, name="zoobot-checkpoint")
                self._worker.start()
            self._condition.notify_all()

    def _next(self) -> _Operation | None:
        with self._condition:
            while True:
                if not self._waiting:
                    self._worker = None
                    self._condition.notify_all()
                    return None
                wait = self._waiting[0].due - time.monotonic()
                if self._flush or wait <= 0:
                    self._running = self._waiting.pop(0)
                    return self._running
                self._condition.wait(timeout=wait)

    def _work(self) -> None:
        while (operation := self._next()) is not None:
            try:
                if operation.kind == "save":
                    assert operation.checkpoint is not None
                    TorchCheckpointIO.save_checkpoint(
                        self, operation.checkpoint, operation.path, operation.storage_options
                    )
                else:
                    TorchCheckpointIO.remove_checkpoint(self, operation.path)
            except BaseException as err:
                self.error = err
            finally:
                with self._condition:
                    self._running = None
                    self._keep_spare(operation)
                    self._condition.notify_all()

    def _keep_spare(self, operation: _Operation) -> None:
        """Keep a finished or dropped save's tensors for the next copy (call holding the lock)."""
        if operation.kind == "save" and operation.checkpoint is not None and self.delay_s > 0:
            tensors: list[torch.Tensor] = []
            apply_to_collection(operation.checkpoint, torch.Tensor, tensors.append)
            self._spare = tensors
        operation.checkpoint = None

    def _snapshot(self, checkpoint: dict[str, Any]) -> dict[str, Any]:
        """A point-in-time copy of the checkpoint's tensors, into the spare tensors where they fit."""
        with self._condition:
            spare, self._spare = self._spare, []
        free: dict[tuple, list[torch.Tensor]] = {}
        for tensor in spare:
            free.setdefault(_layout(tensor), []).append(tensor)

        def copy(tensor: torch.Tensor) -> torch.Tensor:
            fitting = free.get(_layout(tensor))
            if fitting:
                return fitting.pop().copy_(tensor.detach())
            return tensor.detach().clone()

        return apply_to_collection(checkpoint, torch.Tensor, copy)

    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        snapshot = self._snapshot(checkpoint)
        self._submit(_Operation("save", path, time.monotonic() + self.delay_s, snapshot, storage_options))

    def remove_checkpoint(self, path: Any) -> None:
        with self._condition:  # a save still waiting is dropped: the file is not wanted any more
            kept = []
            for op in self._waiting:
                if op.kind == "save" and str(op.path) == str(path):
                    self._keep_spare(op)
                else:
                    kept.append(op)
            self._waiting = kept
        self._submit(_Operation("remove", path, time.monotonic()))

    def wait(self) -> None:
        """Write (and remove) everything asked so far, now."""
        with self._condition:
            self._flush = True
            self._condition.notify_all()
            while self._waiting or self._running is not None:
                self._condition.wait()
            self._flush = False
        self.raise_error()

    def load_checkpoint(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        self.wait()
        return TorchCheckpointIO.load_checkpoint(self, *args, **kwargs)

    def teardown(self) -> None:
        self.delay_s = 0.0  # after fit, a save (``trainer.save_checkpoint``) is written at once
        try:
            self.wait()
        finally:
            with self._condition:
                self._spare = []  # memory held for copies is given back, even after a failed write


def _layout(tensor: torch.Tensor) -> tuple:
    """What a tensor copied into must share with it: shape, strides, dtype and device."""
    return (tensor.shape, tensor.stride(), tensor.dtype, tensor.device)

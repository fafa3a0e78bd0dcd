"""The Lightning Trainer for finetuning (Zoobot's ``get_trainer``): early stopping and the best checkpoint on
the validation loss, CSV logs, the learning rate per epoch.

Checkpoints are written in one background thread (:func:`_background_checkpoint_io`), and Lightning
messages that tell someone finetuning nothing they can act on are left out (:data:`_LIGHTNING_NOISE`).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch

from zoobot import defaults

__all__ = ["get_trainer"]


def _background_checkpoint_io() -> Any:
    """A checkpoint plugin that writes (and removes) checkpoint files in one background thread.

    ``ModelCheckpoint`` writes the whole model at every ``val_loss`` improvement and deletes the
    previous best file. Done in the training thread, that took about 1 s of the demo encoder's 6 s
    head-only benchmark (17 writes of 20 MB). Here the training thread only takes a point-in-time
    copy of the tensors; one worker writes and removes files in the order asked, so a removal never
    overtakes the write of the same file (Lightning's experimental ``AsyncCheckpointIO`` removes at
    once). Loading waits for pending writes, and the trainer's teardown at the end of ``fit`` waits
    for all of them, so ``best_model_path`` is on disk when ``fit`` returns. A failed write or
    removal is raised at the next checkpoint call or at teardown.
    """
    from concurrent.futures import ThreadPoolExecutor

    from lightning.pytorch.plugins import TorchCheckpointIO
    from lightning_utilities.core.apply_func import apply_to_collection

    class BackgroundCheckpointIO(TorchCheckpointIO):
        def __init__(self) -> None:
            super().__init__()
            self.executor: ThreadPoolExecutor | None = None
            self.error: BaseException | None = None

        def raise_error(self) -> None:
            if self.error is not None:
                error, self.error = self.error, None
                raise error

        def submit(self, work: Any, *args: Any) -> None:
            self.raise_error()
            if self.executor is None:
                self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="zoobot-checkpoint")

            def run() -> None:
                try:
                    work(*args)
                except BaseException as err:
                    self.error = err

            self.executor.submit(run)

        def wait(self) -> None:
            if self.executor is not None:
                self.executor.submit(lambda: None).result()
            self.raise_error()

        def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
            snapshot = apply_to_collection(checkpoint, torch.Tensor, lambda t: t.detach().clone())
            self.submit(TorchCheckpointIO.save_checkpoint, self, snapshot, path, storage_options)

        def remove_checkpoint(self, path: Any) -> None:
            self.submit(TorchCheckpointIO.remove_checkpoint, self, path)

        def load_checkpoint(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            self.wait()
            return TorchCheckpointIO.load_checkpoint(self, *args, **kwargs)

        def teardown(self) -> None:
            if self.executor is not None:
                self.executor.shutdown(wait=True)
                self.executor = None
            self.raise_error()

    return BackgroundCheckpointIO()


# Lightning messages that tell someone finetuning with this library nothing they can act on: a
# deprecation inside Lightning itself, the logging interval of short epochs (metrics are logged per
# epoch), the frozen encoder and its norm layers kept in eval mode on purpose, and an advertisement.
_LIGHTNING_NOISE = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r"Found \d+ module\(s\) in eval mode at the start of training",
)


def _not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("\N{ELECTRIC LIGHT BULB} Tip:")


def _quiet_lightning() -> None:
    """Silences :data:`_LIGHTNING_NOISE` and Lightning's tips; its other messages still show."""
    for message in _LIGHTNING_NOISE:
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if _not_a_tip not in logger.filters:
            logger.addFilter(_not_a_tip)


def get_trainer(
    save_dir: str | Path,
    file_template: str = "{epoch}",
    save_top_k: int = 1,
    max_epochs: int = 100,
    patience: int = defaults.PATIENCE,
    devices: int | str | list[int] = "auto",
    accelerator: str = "auto",
    logger: bool | Any = None,
    precision: str | None = None,
    num_nodes: int = 1,
    strategy: str | None = None,
    callbacks: Sequence[L.Callback] = (),
    enable_progress_bar: bool = True,
    log_every_n_steps: int = 10,
    deterministic: bool = False,
    **trainer_kwargs: Any,
) -> L.Trainer:
    """A Lightning Trainer for finetuning, as Zoobot's ``get_trainer``: best checkpoints and early stopping on the
    validation loss, the learning rate logged each epoch.

    The best checkpoints (weights only, in Zoobot's format) go to ``save_dir/checkpoints/<file_template>.ckpt``,
    e.g. ``0.ckpt`` (see ``trainer.checkpoint_callback.best_model_path``); metrics to ``save_dir/csv_logs``.
    The validation loss is logged as ``val_loss`` and, as Zoobot names it, ``finetuning/val_loss``.

    Args:
        save_dir: folder for checkpoints and logs.
        file_template: checkpoint file name template, e.g. ``'{epoch}'``.
        save_top_k: how many best checkpoints to keep.
        max_epochs: most epochs to train.
        patience: epochs without ``val_loss`` improvement before stopping (``zoobot.defaults.PATIENCE``).
        devices: devices per node (``'auto'``, a count or a list); more than one trains with DDP.
        accelerator: ``'auto'``, ``'cpu'``, ``'gpu'``.
        logger: None or True for a CSV logger in ``save_dir/csv_logs`` (Zoobot's None meant Lightning's default
            logger), False for none (and no learning-rate log), or a Lightning logger (e.g. ``WandbLogger``).
        precision: None for the machine's (:mod:`zoobot.machine`: bf16 or fp16 mixed on a GPU, 32-bit on a
            CPU); else a Lightning precision string.
        num_nodes: machines (DDP across nodes when more than 1).
        strategy: Lightning strategy; None for DDP with several devices or nodes, else automatic.
        callbacks: extra callbacks.
        enable_progress_bar: show the progress bar.
        log_every_n_steps: how often to log within an epoch.
        deterministic: use deterministic algorithms.
        **trainer_kwargs: any other ``lightning.Trainer`` argument, as with Zoobot (they win over the above).
    """
    from lightning.pytorch.callbacks import EarlyStopping, LearningRateMonitor, ModelCheckpoint
    from lightning.pytorch.loggers import CSVLogger

    _quiet_lightning()
    save_dir = Path(save_dir)
    on_gpu = accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())
    if precision is None:  # the machine's: bf16 mixed where the GPU has it, else fp16 mixed; 32-bit on a CPU
        from zoobot.machine import machine_settings

        precision = machine_settings("gpu").precision if on_gpu else "32-true"
    several = (isinstance(devices, int) and devices > 1) or (isinstance(devices, list) and len(devices) > 1)
    if strategy is None:
        strategy = "ddp" if several or num_nodes > 1 else "auto"
    checkpoint = ModelCheckpoint(
        dirpath=save_dir / "checkpoints",
        filename=file_template,
        monitor="val_loss",
        mode="min",
        save_top_k=save_top_k,
        save_last=False,
        every_n_epochs=1,
        auto_insert_metric_name=False,
        save_weights_only=True,
    )
    early_stopping = EarlyStopping(monitor="val_loss", mode="min", patience=patience)
    if logger is None or logger is True:
        logger = CSVLogger(save_dir=str(save_dir), name="csv_logs")
    monitors = [LearningRateMonitor(logging_interval="epoch")] if logger is not False else []
    arguments: dict[str, Any] = dict(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        callbacks=[checkpoint, early_stopping, *monitors, *callbacks],
        plugins=[_background_checkpoint_io()],
        logger=logger,
        enable_progress_bar=enable_progress_bar,
        log_every_n_steps=log_every_n_steps,
        deterministic=deterministic,
        default_root_dir=str(save_dir),
    )
    arguments.update(trainer_kwargs)
    return L.Trainer(**arguments)

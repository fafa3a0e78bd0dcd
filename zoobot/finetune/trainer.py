"""The Lightning Trainer for finetuning (Zoobot's ``get_trainer``): early stopping and the best checkpoint on
the validation loss, CSV logs, the learning rate per epoch.

Checkpoints are written in one background thread, a little later and only while still wanted
(:class:`zoobot.finetune.checkpoint_writer.DelayedCheckpointIO`), and Lightning messages that tell someone
finetuning nothing they can act on are left out (:data:`_LIGHTNING_NOISE`), as is the logger's version
number (``v_num``) from the progress bar.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ProgressBar, RichProgressBar, TQDMProgressBar

from zoobot import defaults
from zoobot.finetune.checkpoint_writer import DelayedCheckpointIO

__all__ = ["get_trainer"]


# Lightning messages that tell someone finetuning with this library nothing they can act on: a
# deprecation inside Lightning itself, the logging interval of short epochs (metrics are logged per
# epoch), the frozen encoder and its norm layers kept in eval mode on purpose, and an advertisement.
_LIGHTNING_NOISE = (
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",
    r"The number of training batches \(\d+\) is smaller than the logging interval",
    r"Found \d+ module\(s\) in eval mode at the start of training",
    # The finetuning classes move batches themselves (their id_str lists stay as they are); a data module's
    # own hook would still win, with Lightning's other message.
    r"You have overridden `transfer_batch_to_device` in `LightningModule` but have passed in a",
)


def _not_a_tip(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("\N{ELECTRIC LIGHT BULB} Tip:")


def quiet_lightning() -> None:
    """Silences :data:`_LIGHTNING_NOISE` and Lightning's tips; its other messages still show."""
    for message in _LIGHTNING_NOISE:
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if _not_a_tip not in logger.filters:
            logger.addFilter(_not_a_tip)


class _WithoutVersion:
    """A progress bar that leaves out ``v_num``: the logger's version number, which says nothing about the run
    to someone finetuning (Lightning's documented way: override ``get_metrics``)."""

    def get_metrics(self, trainer: Any, pl_module: Any) -> dict[str, Any]:
        items = dict(super().get_metrics(trainer, pl_module))  # type: ignore[misc]
        items.pop("v_num", None)
        return items


class _TQDMBar(_WithoutVersion, TQDMProgressBar):
    pass


class _RichBar(_WithoutVersion, RichProgressBar):
    pass


def _progress_bar() -> ProgressBar:
    """The progress bar Lightning would show (Rich where it is installed), without ``v_num``."""
    from lightning.pytorch.callbacks.progress.rich_progress import _RICH_AVAILABLE

    return _RichBar() if _RICH_AVAILABLE else _TQDMBar()


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

    quiet_lightning()
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
    monitors: list[L.Callback] = [LearningRateMonitor(logging_interval="epoch")] if logger is not False else []
    if enable_progress_bar and not any(isinstance(c, ProgressBar) for c in callbacks):
        monitors.append(_progress_bar())
    arguments: dict[str, Any] = dict(
        max_epochs=max_epochs,
        accelerator=accelerator,
        devices=devices,
        num_nodes=num_nodes,
        strategy=strategy,
        precision=precision,
        callbacks=[checkpoint, early_stopping, *monitors, *callbacks],
        plugins=[DelayedCheckpointIO()],
        logger=logger,
        enable_progress_bar=enable_progress_bar,
        log_every_n_steps=log_every_n_steps,
        deterministic=deterministic,
        default_root_dir=str(save_dir),
    )
    arguments.update(trainer_kwargs)
    return L.Trainer(**arguments)

"""Optimiser parameter groups with layer-wise learning-rate decay, and the cosine schedule with warmup.

Full finetuning trains the head at the full learning rate and each encoder layer below the top a
factor ``layer_decay`` slower than the one above it (timm's ``param_groups_layer_decay``); the older
``n_blocks`` argument trains only the top blocks. An optional schedule warms the learning rate up
linearly and then lowers it along a cosine, once per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["encoder_param_groups", "count_blocks", "cosine_with_warmup", "cosine_schedule"]


def encoder_param_groups(
    encoder: nn.Module,
    lr: float,
    weight_decay: float,
    layer_decay: float,
    n_blocks: int | None = None,
) -> list[dict[str, Any]]:
    """Optimiser parameter groups for an encoder with layer-wise learning-rate decay.

    Blocks are timm's coarse parameter groups (``encoder.group_matcher(coarse=True)``: the stem,
    then each stage, ...). With ``n_blocks``, only the top ``n_blocks`` blocks are trained and the
    rest are frozen (``requires_grad=False``). The learning rate of each (fine) layer is
    ``lr * layer_decay ** depth`` below the top (timm's ``param_groups_layer_decay``); 1-D
    parameters (norms, biases) get no weight decay.

    Args:
        encoder: a timm encoder.
        lr: learning rate of the top layer.
        weight_decay: AdamW weight decay.
        layer_decay: per-layer learning-rate factor (1.0 for none).
        n_blocks: how many top blocks to train; None for all.

    Returns:
        Param-group dicts with ``params``, ``lr``, ``weight_decay``. Empty when nothing is trained.
    """
    from timm.models import group_parameters
    from timm.optim import param_groups_layer_decay

    if n_blocks is not None:
        if not hasattr(encoder, "group_matcher"):
            raise ValueError(
                f"Cannot choose blocks to train in a {type(encoder).__name__}: it has no timm "
                f"group_matcher. Train the whole encoder or only the head instead."
            )
        blocks = group_parameters(encoder, encoder.group_matcher(coarse=True))  # type: ignore[operator]
        block_ids = sorted(blocks)
        if n_blocks < 0 or n_blocks > len(block_ids):
            raise ValueError(
                f"n_blocks={n_blocks} but this encoder has {len(block_ids)} blocks; choose 0 to {len(block_ids)}."
            )
        trainable = {name for block in block_ids[len(block_ids) - n_blocks :] for name in blocks[block]}
        for name, param in encoder.named_parameters():
            param.requires_grad = name in trainable
        if n_blocks == 0:
            return []
    groups = param_groups_layer_decay(encoder, weight_decay=weight_decay, layer_decay=layer_decay)
    return [
        {"params": g["params"], "lr": lr * g["lr_scale"], "weight_decay": g["weight_decay"]}
        for g in groups
        if g["params"]
    ]


def count_blocks(encoder: nn.Module) -> int:
    """How many blocks (timm coarse parameter groups) ``encoder`` has, for choosing ``n_blocks``."""
    from timm.models import group_parameters

    return len(group_parameters(encoder, encoder.group_matcher(coarse=True)))  # type: ignore[operator]


def cosine_with_warmup(epoch: int, warmup_epochs: int, max_epochs: int, min_lr_factor: float) -> float:
    """Learning-rate factor: linear warmup to 1 over ``warmup_epochs``, then cosine down to ``min_lr_factor``."""
    if epoch < warmup_epochs:
        return (epoch + 1) / (warmup_epochs + 1)
    span = max(max_epochs - warmup_epochs, 1)
    progress = min((epoch - warmup_epochs) / span, 1.0)
    return min_lr_factor + (1 - min_lr_factor) * 0.5 * (1 + math.cos(math.pi * progress))


def cosine_schedule(
    optimizer: torch.optim.Optimizer, scheduler_kwargs: Mapping[str, Any], trainer_max_epochs: int | None = None
) -> torch.optim.lr_scheduler.LambdaLR:
    """The learning-rate schedule ``scheduler_kwargs`` describes (see :data:`zoobot.finetune.SCHEDULER_KEYS`).

    Args:
        optimizer: the optimiser whose learning rates the schedule scales.
        scheduler_kwargs: ``warmup_epochs`` (default 0), ``max_epochs`` (default: the trainer's, else
            100) and ``min_lr_factor`` (default 0.01).
        trainer_max_epochs: the trainer's ``max_epochs``, when there is a trainer.

    Returns:
        A ``LambdaLR`` to step once per epoch, following :func:`cosine_with_warmup`.
    """
    max_epochs = scheduler_kwargs.get("max_epochs") or trainer_max_epochs or 100
    warmup = int(scheduler_kwargs.get("warmup_epochs", 0))
    floor = float(scheduler_kwargs.get("min_lr_factor", 0.01))
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda epoch: cosine_with_warmup(epoch, warmup, int(max_epochs), floor)
    )

"""Layers swapped into the encoders this library builds: same results, faster on a CPU."""

from __future__ import annotations

import torch
from torch import nn


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` that pools CPU batches in channels-last memory order; the same result.

    PyTorch's CPU max-pooling kernel for the default (NCHW) layout is scalar and branchy: on
    galaxy images the demo ResNet's stem pooling took 16 ms a batch of 64 (11 ms on random
    tensors), a fifth of the forward pass. The channels-last kernel is vectorised and does not
    depend on the data: 5 ms, the two layout conversions included. On other devices, or for
    inputs already channels-last, this is ``nn.MaxPool2d``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "cpu" and x.dim() == 4 and not self.return_indices and x.is_contiguous():
            return super().forward(x.contiguous(memory_format=torch.channels_last)).contiguous()
        return super().forward(x)


def use_fast_max_pooling(encoder: nn.Module) -> nn.Module:
    """Swap every ``nn.MaxPool2d`` of ``encoder`` for :class:`MaxPool2d` (no weights change)."""
    for parent in list(encoder.modules()):
        for child_name, child in parent.named_children():
            if type(child) is nn.MaxPool2d:
                fast = MaxPool2d(
                    child.kernel_size,
                    child.stride,
                    child.padding,
                    child.dilation,
                    child.return_indices,
                    child.ceil_mode,
                )
                setattr(parent, child_name, fast)
    return encoder

"""What this machine offers to train on, for callers that should not import torch themselves (the app)."""

from __future__ import annotations


def gpu_count() -> int:
    """How many CUDA GPUs PyTorch can use here (0 on a machine without one). Imports torch."""
    import torch

    return torch.cuda.device_count()

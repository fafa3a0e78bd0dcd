"""Image transforms: a galaxy image as ``uint8`` pixels -> the normalised ``float32`` input of an encoder.

Size, channels, mean and standard deviation come from the encoder's card (``zoobot.encoders.EncoderCard``);
training adds Zoobot's augmentations (rotation, flips, a zooming crop).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import numpy as np
import torch
from torchvision.transforms import v2

__all__ = ["CROP_RATIO_BOUNDS", "CROP_SCALE_BOUNDS", "Size", "Transform", "CardLike", "height_width", "get_transforms"]

Size = int | tuple[int, int] | tuple[int, int, int]
Transform = Callable[[torch.Tensor], torch.Tensor]


class CardLike(Protocol):
    """What the data pipeline reads from an encoder card (``zoobot.encoders.EncoderCard``)."""

    # Read-only (properties): a frozen dataclass such as EncoderCard satisfies them.
    @property
    def input_size(self) -> Size: ...

    @property
    def channels(self) -> int: ...

    @property
    def mean(self) -> Sequence[float]: ...

    @property
    def std(self) -> Sequence[float]: ...


def height_width(input_size: Size) -> tuple[int, int]:
    """The ``(height, width)`` an ``input_size`` means: an int is a square side; ``(H, W)``; ``(C, H, W)``.

    Raises:
        ValueError: not one of those forms, or a side below 1.
    """
    if isinstance(input_size, (int, np.integer)):
        hw = (int(input_size), int(input_size))
    elif len(input_size) == 2:
        hw = (int(input_size[0]), int(input_size[1]))
    elif len(input_size) == 3:
        hw = (int(input_size[1]), int(input_size[2]))
    else:
        raise ValueError(f"input_size must be an int, (H, W) or (C, H, W); got {input_size!r}.")
    if min(hw) < 1:
        raise ValueError(f"input_size must be positive, got {input_size!r}.")
    return hw


def _per_channel(values: Sequence[float], channels: int, name: str) -> list[float]:
    values = [float(v) for v in values]
    if len(values) == 1:
        return values * channels
    if len(values) != channels:
        raise ValueError(f"{name} {values} needs one value per channel ({channels}) or a single value.")
    return values


CROP_SCALE_BOUNDS = (0.7, 0.8)
"""Zoobot's training crop: 70-80% of the image's area."""
CROP_RATIO_BOUNDS = (0.9, 1.1)
"""Zoobot's training crop: aspect ratio 0.9-1.1."""


def _bounds(bounds: Sequence[float], name: str, top: float = float("inf")) -> tuple[float, float]:
    low, high = (float(b) for b in bounds)
    if not 0 < low <= high <= top:
        limit = f" <= {top:g}" if top != float("inf") else ""
        raise ValueError(f"{name} must be (low, high) with 0 < low <= high{limit}, got {tuple(bounds)}.")
    return low, high


def get_transforms(
    input_size: Size,
    channels: int = 3,
    mean: Sequence[float] = (0.0,),
    std: Sequence[float] = (1.0,),
    augment: bool = False,
    crop_scale_bounds: tuple[float, float] = CROP_SCALE_BOUNDS,
    crop_ratio_bounds: tuple[float, float] = CROP_RATIO_BOUNDS,
) -> Transform:
    """Transforms from a ``uint8`` ``(C, H, W)`` tensor (or a PIL image) to the encoder's normalised ``float32`` input.

    Training (``augment=True``) follows Zoobot: random rotation by any angle, horizontal and vertical
    flips, and a random resized crop (by default 70-80% of the area, aspect 0.9-1.1) which also zooms.
    Evaluation resizes the whole image, deterministically.

    Args:
        input_size: output side (int), ``(H, W)`` or ``(C, H, W)``.
        channels: image channels (1 or 3); ``mean``/``std`` of length 1 are broadcast.
        mean: per-channel mean, applied after scaling pixels to [0, 1].
        std: per-channel standard deviation.
        augment: random training augmentations if True.
        crop_scale_bounds: the training crop's share of the image's area, ``(low, high)`` (galaxy-datasets' name).
        crop_ratio_bounds: the training crop's aspect ratio, ``(low, high)``.

    Returns:
        A callable ``(C, H, W) uint8 tensor or PIL image -> (C, H', W') float32 tensor``.
    """
    hw = height_width(input_size)
    mean = _per_channel(mean, channels, "mean")
    std = _per_channel(std, channels, "std")
    if augment:
        geometry: list[Any] = [
            v2.RandomRotation(180, interpolation=v2.InterpolationMode.BILINEAR),
            v2.RandomHorizontalFlip(),
            v2.RandomVerticalFlip(),
            v2.RandomResizedCrop(
                hw,
                scale=_bounds(crop_scale_bounds, "crop_scale_bounds", 1.0),
                ratio=_bounds(crop_ratio_bounds, "crop_ratio_bounds"),
                antialias=True,
            ),
        ]
    else:
        geometry = [v2.Resize(hw, antialias=True)]
    # PILToTensor lets the same transform take a PIL image (as Zoobot's data modules give); tensors pass through.
    return v2.Compose([v2.PILToTensor(), *geometry, v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)])

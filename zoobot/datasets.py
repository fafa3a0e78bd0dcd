"""Datasets over a catalog: one item per row, an image (or precomputed features) with its labels.

Items are dicts (see ``docs/architecture.md``): ``'image'`` float32 ``(C, H, W)`` scaled to [0, 1] then
normalised with the encoder's mean/std (or ``'features'`` ``(D,)``), ``'id_str'``, and (absent when
predicting) one 0-d float32 tensor per label column, as galaxy-datasets (Zoobot 2.9) yields, plus
``'label'`` ``(len(label_cols),)``, every label column together (unless a label column is itself called
``'label'``). :func:`split_catalog` shuffles a catalog into train, val and test parts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from zoobot import defaults
from zoobot.batches import RESERVED_KEYS
from zoobot.catalog.reading import check_file_locs_resolved
from zoobot.images import load_image
from zoobot.transforms import Size, Transform, get_transforms, height_width

__all__ = ["GalaxyDataset", "FeatureDataset", "split_catalog", "labels_array"]


def labels_array(catalog: pd.DataFrame, label_cols: Sequence[str]) -> np.ndarray:
    """The label columns as float32 ``(rows, len(label_cols))``, NaN where a row has no label.

    Raises:
        ValueError: a label column is missing, holds something other than numbers, or is named like a
            batch key (``'image'``, ``'features'``, ``'id_str'``).
    """
    reserved = [c for c in label_cols if c in RESERVED_KEYS]
    if reserved:
        raise ValueError(
            f"Label column(s) {reserved} cannot be used: batches use {list(RESERVED_KEYS)} for "
            "images, features and identifiers. Rename the column(s) in the catalog."
        )
    missing = [c for c in label_cols if c not in catalog.columns]
    if missing:
        raise ValueError(f"The catalog has no label column(s) {missing}; check label_cols.")
    try:
        # A copy: pandas may hand back a read-only view, which torch.from_numpy warns about.
        return catalog[list(label_cols)].to_numpy(dtype=np.float32, na_value=np.nan, copy=True)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"Label columns {list(label_cols)} must hold numbers (NaN for no label): {err}. "
            "Run zoobot.catalog.validate_catalog to find the rows."
        ) from err


def _label_items(labels: np.ndarray, label_cols: Sequence[str]) -> dict[str, torch.Tensor]:
    """One row's labels ``(n,)``: a 0-d tensor per label column, and ``'label'``, all of them ``(n,)`` (no
    label columns named: only ``'label'``); rows ``(B, n)`` give each a leading batch dimension."""
    row = torch.from_numpy(labels)
    items = {col: row[..., k] for k, col in enumerate(label_cols)}
    if "label" not in items or len(label_cols) == 1:
        items["label"] = row
    return items


class GalaxyDataset(Dataset):
    """One item per catalog row: ``{'image', 'id_str'}`` and, with ``label_cols``, one key per label
    column plus ``'label'`` (all of them, ``(n,)``).

    Args:
        catalog: rows with ``id_str`` and absolute ``file_loc`` (see ``catalog.resolve_file_locs``).
        label_cols: label columns; None for prediction (no ``'label'`` key).
        transform: ``uint8 (C, H, W) -> float32`` callable; default: :func:`get_transforms` (eval).
        input_size: side (or ``(H, W)``, ``(C, H, W)``) for the default transform and JPEG draft decoding.
        channels: 1 (greyscale) or 3 (colour).
        pil_images: hand ``transform`` each image as a PIL image (mode ``'RGB'`` or ``'L'``, fully
            decoded), as galaxy-datasets does for Zoobot's transforms, instead of a ``uint8 (C, H, W)``
            tensor; a PIL image or ``uint8`` tensor it returns is scaled to float32 [0, 1].
    """

    def __init__(
        self,
        catalog: pd.DataFrame,
        label_cols: Sequence[str] | None = None,
        transform: Transform | None = None,
        input_size: Size = 224,
        channels: int = 3,
        pil_images: bool = False,
    ) -> None:
        for col in ("id_str", "file_loc"):
            if col not in catalog.columns:
                raise ValueError(f"The catalog has no '{col}' column; every row needs an id_str and a file_loc.")
        check_file_locs_resolved(catalog)  # a catalog read with pd.read_csv: say so now, not in a worker
        # Plain lists and arrays: cheap to pickle to worker processes, no pandas per item.
        self.id_strs = [str(v) for v in catalog["id_str"]]
        self.file_locs = [str(v) for v in catalog["file_loc"]]
        self.label_cols = list(label_cols) if label_cols else None
        self.labels = labels_array(catalog, self.label_cols) if self.label_cols else None
        self.channels = channels
        self.pil_images = pil_images
        self.draft_size = max(height_width(input_size))
        self.transform = transform or get_transforms(input_size, channels)

    def __len__(self) -> int:
        return len(self.id_strs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        if self.pil_images:
            from PIL import Image

            pixels = load_image(self.file_locs[index], channels=self.channels)
            pil: Any = Image.fromarray(pixels[..., 0] if self.channels == 1 else pixels)
            image = _float_image(self.transform(pil))
        else:
            pixels = load_image(self.file_locs[index], channels=self.channels, size=self.draft_size)
            image = self.transform(torch.from_numpy(pixels).permute(2, 0, 1).contiguous())
        item: dict[str, Any] = {"image": image, "id_str": self.id_strs[index]}
        if self.labels is not None:
            item.update(_label_items(self.labels[index], self.label_cols or []))
        return item


def _float_image(image: Any) -> torch.Tensor:
    """A transform's output as a float tensor: PIL images and ``uint8`` tensors are scaled to [0, 1]."""
    if not isinstance(image, torch.Tensor):
        from torchvision.transforms.v2 import functional

        image = functional.pil_to_tensor(image) if hasattr(image, "getbands") else torch.as_tensor(image)
    return image.float() / 255.0 if image.dtype == torch.uint8 else image


class FeatureDataset(Dataset):
    """Precomputed encoder features: items ``{'features': (D,), 'id_str'}`` and, with labels, one key per
    label column plus ``'label'`` ``(n_labels,)``, as :class:`GalaxyDataset`."""

    def __init__(
        self,
        features: torch.Tensor,
        labels: np.ndarray | None,
        id_strs: Sequence[str],
        label_cols: Sequence[str] | None = None,
    ) -> None:
        self.features = features
        self.labels = labels
        self.id_strs = list(id_strs)
        self.label_cols = list(label_cols) if label_cols else []

    def __len__(self) -> int:
        return len(self.id_strs)

    def __getitem__(self, index: int) -> dict[str, Any]:
        item: dict[str, Any] = {"features": self.features[index], "id_str": self.id_strs[index]}
        if self.labels is not None:
            item.update(_label_items(self.labels[index], self.label_cols))
        return item

    def batch(self, indices: Sequence[int]) -> dict[str, Any]:
        """The items at ``indices`` as one batch, as collating them one by one would give (``features``
        ``(B, D)``, ``id_str`` a list, each label ``(B,)``, ``label`` ``(B, n)``), read in one go."""
        rows = list(indices)
        batch: dict[str, Any] = {
            "features": self.features[torch.as_tensor(rows, dtype=torch.long)],
            "id_str": [self.id_strs[i] for i in rows],
        }
        if self.labels is not None:
            batch.update(_label_items(self.labels[rows], self.label_cols))
        return batch


def split_catalog(
    catalog: pd.DataFrame,
    train_fraction: float = defaults.TRAIN_FRACTION,
    val_fraction: float = defaults.VAL_FRACTION,
    test_fraction: float = defaults.TEST_FRACTION,
    seed: int = defaults.SEED,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Shuffle (seeded) and split a catalog into disjoint train, val and test parts.

    Fractions (default 0.7, 0.15, 0.15: ``zoobot.defaults``) must be >= 0, sum to 1, with a positive
    train fraction. A positive val/test fraction gets at least one row when the catalog has enough rows.
    """
    fractions = (train_fraction, val_fraction, test_fraction)
    if min(fractions) < 0 or train_fraction <= 0 or not math.isclose(sum(fractions), 1.0, abs_tol=1e-6):
        raise ValueError(
            f"train/val/test fractions {fractions} must be >= 0, with train > 0, and add up to 1 "
            f"(e.g. {defaults.TRAIN_FRACTION}, {defaults.VAL_FRACTION}, {defaults.TEST_FRACTION})."
        )
    n = len(catalog)
    order = np.random.default_rng(seed).permutation(n)

    def count(fraction: float) -> int:
        return max(1, round(n * fraction)) if fraction > 0 and n >= 3 else round(n * fraction)

    n_val, n_test = count(val_fraction), count(test_fraction)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(f"The catalog has only {n} labelled rows: too few to split into train, val and test.")
    parts = np.split(order, [n_train, n_train + n_val])
    return tuple(catalog.iloc[np.sort(p)].reset_index(drop=True) for p in parts)

"""One batch format for the finetuning models, whatever data module made the batch.

Three kinds of batch reach a model's steps:

- this project's :class:`zoobot.data.CatalogDataModule`: dicts with ``'image'`` (or ``'features'``
  after ``cache_features``), ``'id_str'``, one key per label column (as galaxy-datasets) and
  ``'label'``, every label column together ``(B, len(label_cols))`` (unless a label column is itself
  called ``'label'``: then that key is that column);
- galaxy-datasets' ``CatalogDataModule`` (Zoobot 2.9): dicts ``{'id_str', 'image', <label_col>: (B,), ...}``
  (a tree: one key per answer column);
- galaxy-datasets' ``GalaxyDataModule`` (Zoobot 2.0): ``(images, labels)`` tuples, ``labels`` ``(B,)``
  for one column or ``(B, n_answers)`` for a tree, and bare image tensors (or ``[images]``) when predicting.

:func:`supervised_batch` turns any of them into ``{'image' or 'features', 'label'}``, the labels as
float32 ``(B, len(label_cols))`` in the order of ``label_cols``: from the per-column keys when the
batch has them all, else from ``'label'`` (a tuple's labels, or a batch built by hand).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

__all__ = ["RESERVED_KEYS", "supervised_batch"]

# Keys a batch uses for other things than labels: no label column may be called so.
RESERVED_KEYS = ("image", "features", "id_str")


def _as_columns(values: Any, batch_size: int) -> torch.Tensor:
    return torch.as_tensor(values).reshape(batch_size, -1).to(torch.float32)


def supervised_batch(batch: Any, label_cols: Sequence[str], with_labels: bool = True) -> dict[str, Any]:
    """The model's inputs and labels from a batch of any supported data module.

    Args:
        batch: a dict batch (this project's, or galaxy-datasets' ``CatalogDataModule``), an
            ``(images, labels)`` tuple (``GalaxyDataModule``), or images alone (a tensor, or a list
            holding one tensor) when predicting.
        label_cols: the model's label columns (a classifier's or regressor's ``label_col(s)``, a
            tree's answer columns), in the order the model's outputs follow.
        with_labels: False when predicting: only the inputs are read.

    Returns:
        ``{'image': (B, C, H, W)}`` or ``{'features': (B, D)}``, plus ``'label'``: float32
        ``(B, len(label_cols))`` when ``with_labels``.

    Raises:
        ValueError: the batch has no images or features, or lacks labels for ``label_cols``.
    """
    if isinstance(batch, torch.Tensor):
        batch = {"image": batch}
    elif isinstance(batch, (list, tuple)):
        if len(batch) == 1 or (len(batch) == 2 and not with_labels):
            batch = {"image": batch[0]}
        elif len(batch) == 2:
            batch = {"image": batch[0], "label": batch[1]}
        else:
            raise ValueError(f"A tuple batch must be (images, labels) or (images,); got {len(batch)} items.")
    if not isinstance(batch, Mapping):
        raise ValueError(
            f"Unsupported batch of type {type(batch).__name__}: expected a dict, an (images, "
            "labels) tuple or an image tensor."
        )
    key = "features" if "features" in batch else "image"
    if key not in batch:
        raise ValueError(f"The batch has no 'image' (or 'features') key; its keys are {sorted(batch)}.")
    out: dict[str, Any] = {key: batch[key]}
    if not with_labels:
        return out
    size = len(batch[key])
    if all(col in batch for col in label_cols):
        labels = torch.cat([_as_columns(batch[col], size) for col in label_cols], dim=1)
    elif "label" in batch:
        labels = _as_columns(batch["label"], size)
    else:
        missing = [col for col in label_cols if col not in batch]
        raise ValueError(
            f"The batch has no labels for {missing} (its keys are {sorted(batch)}). Give the "
            "data module the model's label columns (label_cols / label_col, or the tree's answers)."
        )
    if labels.shape[1] != len(label_cols):
        raise ValueError(
            f"The batch's labels have {labels.shape[1]} columns but the model has {len(label_cols)} "
            f"label columns ({list(label_cols)})."
        )
    out["label"] = labels
    return out

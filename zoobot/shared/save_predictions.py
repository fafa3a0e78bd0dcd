"""Zoobot 2.x ``zoobot.shared.save_predictions``: prediction arrays to Zoobot's HDF5 and CSV files.

Same names, arguments and files as Zoobot 2.0 / 2.9:

- :func:`predictions_to_hdf5`: datasets ``predictions`` (the array as given, usually float32
  ``(galaxy, answer, n_samples)``, gzip), ``id_str`` and ``label_cols`` (UTF-8 strings), read back by
  :func:`zoobot.shared.load_predictions.load_hdf5s`;
- :func:`predictions_to_csv`: ``id_str`` then ``<label>_pred`` per label column, a number per cell
  with one sample, a JSON list (``"[0.3, 0.31]"``) with several.

Differences: a wrong file extension raises ``ValueError`` (Zoobot asserts).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["predictions_to_hdf5", "predictions_to_csv", "prediction_to_row", "get_default_label_cols"]

logger = logging.getLogger(__name__)


def _check_suffix(save_loc: str | Path, suffix: str) -> None:
    if not str(save_loc).endswith(suffix):
        raise ValueError(f"save_loc {save_loc} must end in {suffix}.")


def predictions_to_hdf5(
    predictions: Any,
    id_str: Sequence[str],
    label_cols: Sequence[str] | None,
    save_loc: str | Path,
    compression: str | None = "gzip",
) -> None:
    """Write predictions in Zoobot's HDF5 layout.

    Args:
        predictions: array ``(galaxy, answer, n_samples)`` (written as given).
        id_str: one identifier per galaxy.
        label_cols: one name per answer; None gives ``feat_0, feat_1, ...``.
        save_loc: path ending in ``.hdf5``.
        compression: h5py compression of the ``predictions`` dataset.
    """
    import h5py

    _check_suffix(save_loc, ".hdf5")
    predictions = np.asarray(predictions)
    if label_cols is None:
        label_cols = get_default_label_cols(predictions)
    if len(id_str) != len(predictions):
        raise ValueError(f"Got {len(id_str)} id_str for {len(predictions)} galaxies' predictions.")
    logger.info("Saving predictions to %s", save_loc)
    text = h5py.string_dtype(encoding="utf-8")
    with h5py.File(save_loc, "w") as f:
        f.create_dataset(name="predictions", data=predictions, compression=compression)
        f.create_dataset(name="id_str", data=[str(i) for i in id_str], dtype=text)
        f.create_dataset(name="label_cols", data=[str(c) for c in label_cols], dtype=text)


def predictions_to_csv(
    predictions: Any, id_str: Sequence[str], label_cols: Sequence[str] | None, save_loc: str | Path
) -> None:
    """Write predictions as Zoobot 2.0's CSV: ``id_str``, then ``<label>_pred`` per label column.

    Args:
        predictions: array ``(galaxy, answer[, n_samples])``.
        id_str: one identifier per galaxy.
        label_cols: one name per answer; None gives ``feat_0, feat_1, ...``.
        save_loc: path ending in ``.csv``.
    """
    _check_suffix(save_loc, ".csv")
    predictions = np.asarray(predictions)
    if label_cols is None:
        label_cols = get_default_label_cols(predictions)
    rows = [prediction_to_row(predictions[n], id_str[n], label_cols=label_cols) for n in range(len(predictions))]
    pd.DataFrame(rows).to_csv(save_loc, index=False)


def prediction_to_row(prediction: Any, id_str: str, label_cols: Sequence[str]) -> dict[str, Any]:
    """One galaxy's predictions as a CSV row: ``{'id_str': ..., '<label>_pred': value or JSON list}``.

    Args:
        prediction: ``(answer,)`` or ``(answer, n_samples)``.
        id_str: the galaxy's identifier.
        label_cols: one name per answer.
    """
    row: dict[str, Any] = {"id_str": id_str}
    prediction = np.asarray(prediction)
    for n, answer in enumerate(label_cols):
        samples = np.asarray(prediction[n]).astype(float)
        if samples.ndim == 0:
            row[answer + "_pred"] = float(samples)
        elif len(samples) == 1:
            row[answer + "_pred"] = float(samples.squeeze())
        else:
            row[answer + "_pred"] = json.dumps([float(v) for v in samples])
    return row


def get_default_label_cols(predictions: Any) -> list[str]:
    """``feat_0, feat_1, ...``: one name per column of ``predictions`` (with a warning, as Zoobot)."""
    logger.warning("No label_cols passed - using default names e.g. feat_0, feat_1...")
    return [f"feat_{n}" for n in range(np.asarray(predictions).shape[1])]

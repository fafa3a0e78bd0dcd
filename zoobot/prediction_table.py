"""The layout of a predictions table: Zoobot's columns, ``id_str``, then this project's extras.

Every predictions table (``predict_on_catalog``, ``zoobot predict``, a run's ``predictions.csv``, the
app's downloads) starts as Zoobot 2.9's ``predict`` writes it: the model's outputs under their label
names (classifier: one probability column per class; regressor: the target's name; tree: the Dirichlet
concentrations under the bare answer names), then ``id_str``. This project's extras follow, each named
for what it is (``predicted_class``; a tree's ``<answer>_fraction``, ``<answer>_90pc-lower`` /
``-upper``, ``<answer>_proportion-asked``). A run's table then adds the row's ``split``, ``file_loc``
and the catalog's own values, prefixed ``catalog_`` (inputs, not predictions).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["ID_COLUMN", "CATALOG_PREFIX", "zoobot_table", "zoobot_columns", "default_class_columns", "class_name_array"]

ID_COLUMN = "id_str"
CATALOG_PREFIX = "catalog_"


def zoobot_table(
    block: Mapping[str, Any], id_str: Sequence[str] | None, extras: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """A predictions table: ``block`` (Zoobot's columns), ``id_str`` (when given), then ``extras``.

    Raises:
        ValueError: two columns would share a name (e.g. a class called ``predicted_class`` or ``id_str``).
    """
    names = [*block, *([ID_COLUMN] if id_str is not None else []), *(extras or {})]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated or ID_COLUMN in block:
        raise ValueError(
            f"Prediction column name(s) {repeated or [ID_COLUMN]} would appear twice in the predictions "
            f"table; give other names (label_cols) for the model's outputs."
        )
    columns: dict[str, Any] = dict(block)
    if id_str is not None:
        n_rows = len(next(iter(block.values()))) if block else 0
        if len(id_str) != n_rows:
            raise ValueError(f"Got {len(id_str)} id_str for {n_rows} predictions.")
        columns[ID_COLUMN] = [str(i) for i in id_str]
    columns.update(extras or {})
    # One construction, not a column at a time: a tree's table has hundreds of columns.
    return pd.DataFrame(columns)


def zoobot_columns(table: pd.DataFrame) -> list[str]:
    """The Zoobot columns of a predictions table: those before ``id_str``."""
    if ID_COLUMN not in table.columns:
        raise ValueError(f"The predictions table has no {ID_COLUMN} column; its columns are {list(table.columns)}.")
    return [str(c) for c in table.columns[: table.columns.get_loc(ID_COLUMN)]]


def default_class_columns(num_classes: int, label_col: str, class_names: Sequence[Any] | None = None) -> list[str]:
    """A probability column name per class: the class's name where one is known, else ``<label_col>_<k>``.

    A "name" that is only the class number (a catalog with 0/1 labels and no names) counts as unknown,
    so ``ring_0``, ``ring_1`` rather than bare ``0``, ``1``.
    """
    known = [str(n) for n in class_names] if class_names is not None and len(class_names) == num_classes else []
    if not known:
        known = [str(k) for k in range(num_classes)]
    return [name if name != str(k) else f"{label_col}_{k}" for k, name in enumerate(known)]


def class_name_array(names: Sequence[str], indices: np.ndarray) -> np.ndarray:
    """``names[indices]`` as an object array of str (a text column, not numpy's fixed-width strings)."""
    return np.asarray(list(names), dtype=object)[np.asarray(indices, dtype=int)]

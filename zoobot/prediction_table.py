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

__all__ = [
    "ID_COLUMN",
    "CATALOG_PREFIX",
    "zoobot_table",
    "zoobot_columns",
    "default_class_columns",
    "class_name_array",
    "model_class_names",
    "model_label_cols",
    "add_catalog_columns",
]

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


def model_class_names(model: Any) -> list[str] | None:
    """The name per class index a single-label classifier writes in ``predicted_class`` (None for other models):
    the names it knows (``class_names``, which a run sets from the catalog), else ``<label_col>_<k>``."""
    if not hasattr(model, "num_classes") or getattr(model, "multilabel", False):
        return None
    return default_class_columns(model.num_classes, model.label_cols[0], getattr(model, "class_names", None))


def model_label_cols(model: Any) -> list[str]:
    """The catalog columns a finetuned model learned: a tree's answer columns, else its ``label_cols``."""
    schema = getattr(model, "schema", None)
    return list(schema.label_cols) if schema is not None else list(model.label_cols)


def add_catalog_columns(
    predictions: pd.DataFrame,
    catalog: pd.DataFrame,
    label_cols: Sequence[str],
    class_names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The predictions, then each row's ``file_loc`` and the catalog's labels as ``catalog_<column>``.

    The catalog's values are inputs (what the volunteers or the catalog said), not predictions; the
    prefix keeps them apart from the model's columns of the same name (a tree's answer columns hold
    the predicted concentrations, the catalog's the vote counts). A run's ``predictions.csv``, ``zoobot
    predict`` and the app all write them this way. Rows are matched by ``id_str``; label columns the
    catalog does not have are left out.

    Args:
        predictions: a predictions table (Zoobot's columns, ``id_str``, extras).
        catalog: the catalog predicted (``id_str``, ``file_loc`` and perhaps the labels).
        label_cols: the model's label columns.
        class_names: a classifier's name per class index (:func:`model_class_names`): its labels are
            written as those names, the names ``predicted_class`` uses.
    """
    ids = catalog[ID_COLUMN].astype(str).to_numpy()
    inputs = pd.DataFrame({ID_COLUMN: ids})
    if "file_loc" in catalog.columns and "file_loc" not in predictions.columns:
        inputs["file_loc"] = catalog["file_loc"].to_numpy()
    names = list(class_names) if class_names is not None else None

    def class_name(value: Any) -> Any:
        return names[int(value)] if names and pd.notna(value) and 0 <= int(value) < len(names) else None

    for col in label_cols:
        if col in catalog.columns:
            values = catalog[col] if names is None else catalog[col].map(class_name)
            inputs[CATALOG_PREFIX + col] = values.to_numpy()
    inputs = inputs.drop_duplicates(ID_COLUMN)
    table = predictions.drop(columns=[c for c in inputs.columns if c != ID_COLUMN and c in predictions.columns])
    table = table.assign(**{ID_COLUMN: table[ID_COLUMN].astype(str)})
    return table.merge(inputs, on=ID_COLUMN, how="left")

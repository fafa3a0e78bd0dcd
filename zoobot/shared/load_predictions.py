"""Zoobot 2.x ``zoobot.shared.load_predictions``: read prediction files, write vote-fraction summaries.

Same names, arguments and results as Zoobot 2.9 (a superset of 2.0):

- :func:`load_hdf5s`: Zoobot's HDF5 prediction files (written by Zoobot 2.0, by
  :func:`zoobot.shared.save_predictions.predictions_to_hdf5` or by this project's ``predict`` with a
  ``.hdf5`` file name) -> ``(galaxy_id_df [id_str, hdf5_loc], predictions, label_cols)``;
- :func:`single_forward_pass_hdf5s_to_df`: the same as one table ``[<label_cols>..., id_str, hdf5_loc]``;
- :func:`prediction_hdf5_to_summary_parquet`, :func:`prediction_csv_to_summary_parquet`,
  :func:`concentrations_to_summary_parquet`: a tree model's concentrations to Zoobot's ``_friendly``
  (vote fractions, NaN where fewer than half the volunteers would be asked) and ``_advanced``
  (fractions, 90% intervals, proportion asked) tables, written as ``<save_loc>_friendly.parquet`` (and
  ``.csv``) and ``<save_loc>_advanced.parquet``, and returned.

Differences from Zoobot: errors are ``ValueError`` with a message (Zoobot asserts); 2.0's
``prediction_hdf5_to_summary_parquet`` returned None, here it returns the two tables as 2.9 does.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from zoobot.tree_summary import ASKED_SUFFIX, FRACTION_SUFFIX, summary_columns

__all__ = [
    "load_hdf5s",
    "single_forward_pass_hdf5s_to_df",
    "prediction_hdf5_to_summary_parquet",
    "prediction_csv_to_summary_parquet",
    "concentrations_to_summary_parquet",
    "convert_halfprecision_cols",
]

logger = logging.getLogger(__name__)


def load_hdf5s(hdf5_locs: str | Path | Sequence[str | Path]) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Load Zoobot HDF5 prediction files, concatenated in the order given.

    Args:
        hdf5_locs: a list of ``.hdf5`` paths (a single path is accepted, with a warning, as Zoobot).

    Returns:
        ``(galaxy_id_df, predictions, label_cols)``: a table with ``id_str`` and ``hdf5_loc`` (the
        file's base name) per galaxy; the predictions, e.g. ``(galaxy, answer, n_samples)``; the
        answer names (an array of str).

    Raises:
        ValueError: a file is missing, not Zoobot's layout, or its label_cols differ from the first's.
    """
    import h5py

    if isinstance(hdf5_locs, (str, Path)):
        logger.warning(
            "Passed a single hdf5 loc to load_hdf5s - assuming this is a single file to load, not list of files to load"
        )
        hdf5_locs = [hdf5_locs]
    predictions, id_strs, sources = [], [], []
    template_label_cols = None
    for loc in hdf5_locs:
        if not os.path.exists(loc):
            raise ValueError(f"HDF5 file {loc} does not exist.")
        with h5py.File(loc, "r") as f:
            missing = [name for name in ("predictions", "id_str", "label_cols") if name not in f]
            if missing:
                raise ValueError(f"{loc} is not a Zoobot prediction file: it has no {missing} dataset(s).")
            these_predictions = f["predictions"][:]
            these_ids = f["id_str"].asstr()[:]
            label_cols = f["label_cols"].asstr()[:]
        if len(these_predictions) != len(these_ids):
            raise ValueError(f"{loc} holds {len(these_predictions)} predictions but {len(these_ids)} id_str.")
        if template_label_cols is None:
            template_label_cols = label_cols
        elif len(label_cols) != len(template_label_cols) or any(label_cols != template_label_cols):
            raise ValueError(
                f"Label columns {list(label_cols)} of hdf5 {loc} do not match first label columns "
                f"{list(template_label_cols)}"
            )
        predictions.append(these_predictions)
        id_strs += list(these_ids)
        sources += [os.path.basename(loc)] * len(these_predictions)
    if template_label_cols is None:
        raise ValueError("No HDF5 files given: pass a list of .hdf5 paths.")
    galaxy_id_df = pd.DataFrame({"id_str": id_strs, "hdf5_loc": sources})
    return galaxy_id_df, np.concatenate(predictions, axis=0), template_label_cols


def single_forward_pass_hdf5s_to_df(
    hdf5_locs: str | Path | Sequence[str | Path], drop_extra_dims: bool = False, subset_frac: float | None = None
) -> pd.DataFrame:
    """Predictions with one sample per galaxy as a table: ``<label_cols>..., id_str, hdf5_loc``.

    Args:
        hdf5_locs: ``.hdf5`` paths (see :func:`load_hdf5s`).
        drop_extra_dims: with several samples per galaxy, keep the first (else the call fails, as in Zoobot).
        subset_frac: keep a random fraction of the rows (``random_state=42``).
    """
    galaxy_id_df, predictions, label_cols = load_hdf5s(hdf5_locs)
    predictions = predictions.squeeze()
    if predictions.ndim > 2:
        if drop_extra_dims:
            predictions = predictions[:, :, 0]
            logger.warning("Dropped extra dimensions")
        else:
            logger.critical(
                "Predictions are of shape %s, greater than rank 2. I suggest using load_hdf5s "
                "directly to work with np.arrays, not with DataFrame - see docstring",
                predictions.shape,
            )
    prediction_df = pd.DataFrame(data=predictions, columns=label_cols)
    if subset_frac is not None:
        logger.warning("Selecting a random subset: %s", subset_frac)
        prediction_df = prediction_df.sample(frac=subset_frac, random_state=42)
    prediction_df["id_str"] = galaxy_id_df["id_str"]
    prediction_df["hdf5_loc"] = galaxy_id_df["hdf5_loc"]
    return convert_halfprecision_cols(prediction_df)


def prediction_hdf5_to_summary_parquet(
    hdf5_loc: str | Path, save_loc: str | Path, schema: Any, debug: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A tree model's HDF5 predictions to Zoobot's friendly and advanced summary tables (see the module).

    Args:
        hdf5_loc: one ``.hdf5`` file of concentrations.
        save_loc: ``.parquet`` path the table names derive from.
        schema: the decision tree the concentrations follow.
        debug: only the first 100,000 galaxies, written as ``<save_loc>_debug...``.
    """
    galaxy_id_df, concentrations, _ = load_hdf5s(str(hdf5_loc))
    if debug:
        logger.warning("Using debug mode of 100k only")
        concentrations = concentrations[:100000]
        galaxy_id_df = galaxy_id_df[:100000]
        save_loc = str(save_loc).replace(".parquet", "_debug.parquet")
    return concentrations_to_summary_parquet(save_loc, schema, galaxy_id_df, concentrations, schema.label_cols)


def prediction_csv_to_summary_parquet(
    prediction_df: pd.DataFrame, save_loc: str | Path, schema: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A tree model's predictions table (concentrations under the answer names, e.g. a ``predict`` CSV
    read with pandas) to Zoobot's summary tables; each starts with ``prediction_df``'s own columns."""
    missing = [c for c in schema.label_cols if c not in prediction_df.columns]
    if missing:
        raise ValueError(
            f"The predictions have no column(s) {missing}; they need one concentration column per "
            "answer of the schema, named as in schema.label_cols."
        )
    concentrations = prediction_df[schema.label_cols].values
    return concentrations_to_summary_parquet(save_loc, schema, prediction_df, concentrations, schema.label_cols)


def concentrations_to_summary_parquet(
    save_loc: str | Path, schema: Any, galaxy_id_df: pd.DataFrame, concentrations: Any, label_cols: Sequence[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Write and return Zoobot's friendly and advanced summary tables of concentrations.

    Args:
        save_loc: ``.parquet`` path; the tables go to ``..._friendly.parquet`` (and ``.csv``) and
            ``..._advanced.parquet``.
        schema: the decision tree.
        galaxy_id_df: one row per galaxy (e.g. ``id_str``, ``hdf5_loc``), put first in both tables.
        concentrations: ``(galaxy, answer, ...)``.
        label_cols: the answers' column names.
    """
    save_loc = str(save_loc)
    if not save_loc.endswith(".parquet"):
        raise ValueError(f"save_loc {save_loc} must end in .parquet.")
    if len(galaxy_id_df) != len(concentrations):
        raise ValueError(f"galaxy_id_df has {len(galaxy_id_df)} rows for {len(concentrations)} galaxies.")
    summary = summary_columns(concentrations, schema, label_cols)
    fraction_cols = [c + FRACTION_SUFFIX for c in label_cols]
    asked = summary[[c + ASKED_SUFFIX for c in label_cols]].to_numpy()
    masked = summary[fraction_cols].where(asked >= 0.5)
    ids = galaxy_id_df.reset_index(drop=True)

    friendly_df = convert_halfprecision_cols(pd.concat([ids, masked], axis=1))
    friendly_loc = save_loc.replace(".parquet", "_friendly.parquet")
    friendly_df.to_parquet(friendly_loc, index=False)
    friendly_df.to_csv(friendly_loc.replace(".parquet", ".csv"), index=False)

    advanced_df = convert_halfprecision_cols(pd.concat([ids, summary], axis=1))
    advanced_df.to_parquet(save_loc.replace(".parquet", "_advanced.parquet"), index=False)
    return friendly_df, advanced_df


def convert_halfprecision_cols(df: pd.DataFrame) -> pd.DataFrame:
    """Turn float16 columns (which parquet cannot store) into float32, in place; returns ``df``."""
    half_floats = df.select_dtypes(include="float16")
    df[half_floats.columns] = half_floats.astype("float32")
    return df

"""A catalog's columns as the user names them: the column holding each galaxy's image file and the one
with its identifier, picked on the Data tab when the catalog has no ``file_loc`` (e.g. ``filename``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

ID_NAMES = ("id", "objid", "name", "galaxy_id", "iauname", "dr8_id")
"""Column names taken for an identifier when a catalog has no ``id_str``."""
Columns = dict[str, str | None] | None
"""The user's picks: ``{'file_loc': column, 'id_str': column or None}``."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".fits", ".fit", ".fits.gz", ".fit.gz")


class ColumnsError(ValueError):
    """A picked column the catalog does not have."""


class ColumnsNeeded(ColumnsError):
    """A catalog without ``file_loc``: the user picks the column holding the image paths (and the ids).

    Attributes:
        columns: The catalog's columns.
        image_guess: The column whose values look like image files, if one does.
        id_guess: A column that looks like an identifier, if one does.
    """

    def __init__(self, columns: list[str], image_guess: str | None, id_guess: str | None) -> None:
        if image_guess:
            text = (
                "The catalog has no file_loc column. Pick the column that holds each galaxy's image file "
                f"('{image_guess}' looks like it) below, and the one with its identifier, then click Use these columns."
            )
        else:
            text = (
                "The catalog has no file_loc column, and no column looks like image file names (e.g. "
                "images/galaxy_001.png). Add a file_loc column, or pick the column with each galaxy's image file below."
            )
        super().__init__(text)
        self.columns, self.image_guess, self.id_guess = columns, image_guess, id_guess


def _guess_columns(catalog: pd.DataFrame) -> tuple[str | None, str | None]:
    """The column whose values end like image files, and an identifier-like column (``id``, ``objid``, ...)."""
    image = next(
        (
            c
            for c in catalog.columns
            if not pd.api.types.is_numeric_dtype(catalog[c])
            and catalog[c].dropna().astype(str).str.lower().str.endswith(IMAGE_SUFFIXES).mean() > 0.5
        ),
        None,
    )
    ids = [c for c in catalog.columns if c != image and str(c).lower() in ID_NAMES]
    return image, (ids[0] if ids else None)


def map_columns(catalog: pd.DataFrame, columns: Columns) -> pd.DataFrame:
    """The catalog with the user's columns as ``file_loc`` and ``id_str`` (their own columns kept as they are).

    Args:
        catalog: The catalog as read.
        columns: ``{'file_loc': column, 'id_str': column or None}``; with no identifier column and no
            ``id_str``, galaxies are named by their image file's name.

    Raises:
        ColumnsNeeded: No ``file_loc`` and no column picked for it.
        ColumnsError: A picked column is not in the catalog.
    """
    columns = columns or {}
    image_col, id_col = columns.get("file_loc"), columns.get("id_str")
    if "file_loc" not in catalog.columns and not image_col:
        raise ColumnsNeeded([str(c) for c in catalog.columns], *_guess_columns(catalog))
    for col in (image_col, id_col):
        if col and col not in catalog.columns:
            raise ColumnsError(f"The catalog has no column '{col}'; pick one of its columns.")
    if image_col and image_col != "file_loc":
        catalog = catalog.assign(file_loc=catalog[image_col].astype("string").astype(object))
    if id_col and id_col != "id_str":
        catalog = catalog.assign(id_str=catalog[id_col].astype(str))
    elif "id_str" not in catalog.columns:
        catalog = catalog.assign(id_str=[Path(str(loc)).name.split(".")[0] for loc in catalog["file_loc"]])
    return catalog

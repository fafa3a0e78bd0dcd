"""Reading a catalog file (CSV or Parquet) and resolving its relative ``file_loc`` paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from zoobot.catalog.report import CatalogError


def read_catalog(path: str | Path) -> pd.DataFrame:
    """Read a catalog from CSV (optionally gzipped) or Parquet; ``id_str`` is read as text.

    Raises:
        CatalogError: the file is missing or not CSV/Parquet.
    """
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"Catalog file {path} does not exist; check the path.")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        try:
            df = pd.read_csv(path, dtype={"id_str": str})
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise CatalogError(f"Could not read {path} as CSV: {err}. Save it as comma-separated text "
                               "with a header row.") from err
    elif name.endswith((".parquet", ".pq")):
        try:
            df = pd.read_parquet(path)
        except (OSError, ValueError) as err:
            raise CatalogError(f"Could not read {path} as Parquet: {err}.") from err
        if "id_str" in df.columns:
            df["id_str"] = df["id_str"].map(lambda v: v if pd.isna(v) else str(v))
    else:
        raise CatalogError(f"Catalog {path} is not a .csv or .parquet file; save the table in one of "
                           "those formats.")
    return df


def resolve_file_locs(catalog: pd.DataFrame, base_dir: str | Path) -> pd.DataFrame:
    """Copy of ``catalog`` whose relative ``file_loc`` paths are made absolute against ``base_dir``
    (normally the catalog file's folder). Absolute paths and blanks are left as they are.

    Raises:
        CatalogError: the catalog has no ``file_loc`` column.
    """
    if "file_loc" not in catalog.columns:
        raise CatalogError("The catalog has no 'file_loc' column; add one with each galaxy's image path.")
    base = Path(base_dir).expanduser().resolve()

    def resolve(loc: Any) -> Any:
        if pd.isna(loc) or str(loc).strip() == "":
            return loc
        p = Path(str(loc)).expanduser()
        return str(p if p.is_absolute() else base / p)

    out = catalog.copy()
    out["file_loc"] = out["file_loc"].map(resolve)
    return out

"""Reading a catalog file (CSV or Parquet) and resolving its relative ``file_loc`` paths."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from zoobot.catalog.report import CatalogError


def read_catalog(path: str | Path, max_rows: int | None = None, resolve_paths: bool = True) -> pd.DataFrame:
    """Read a catalog from CSV (optionally gzipped) or Parquet, as the app and the ``zoobot`` command do.

    ``id_str`` is read as text (leading zeros kept), and relative ``file_loc`` paths are made absolute
    against the catalog file's folder, so the table can go straight to ``CatalogDataModule``,
    ``predict_on_catalog`` or ``get_representations`` from any working directory::

        catalog = read_catalog("my_survey/catalog.csv")  # file_loc like images/0001.png

    Args:
        path: The catalog file.
        max_rows: Refuse a catalog with more rows than this (counted before the table is read in full).
        resolve_paths: Resolve relative ``file_loc`` against the catalog's folder (default). False keeps
            them as written (e.g. to resolve them against another folder with :func:`resolve_file_locs`).

    Raises:
        CatalogError: the file is missing, not CSV/Parquet, or has more than ``max_rows`` rows.
    """
    path = Path(path)
    if not _is_file(path):
        raise CatalogError(f"Catalog file {path} does not exist; check the path.")
    name = path.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        try:
            df = pd.read_csv(path, dtype={"id_str": str}, nrows=None if max_rows is None else max_rows + 1)
        except pd.errors.EmptyDataError as err:
            raise CatalogError(
                f"{path.name} is empty; save the table as comma-separated text with a header row."
            ) from err
        except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as err:
            raise CatalogError(
                f"Could not read {path.name} as CSV: {_csv_problem(err)}. Save it as "
                "comma-separated text (UTF-8) with a header row."
            ) from err
        _check_rows(path, len(df), max_rows)
    elif name.endswith((".parquet", ".pq")):
        try:
            import pyarrow.parquet as pq

            _check_rows(path, pq.ParquetFile(path).metadata.num_rows, max_rows)
            df = pd.read_parquet(path)
        except CatalogError:
            raise
        except (OSError, ValueError, TypeError) as err:
            raise CatalogError(
                f"Could not read {path.name} as Parquet: the file is damaged or is not a Parquet "
                "table. Save it again, or save it as CSV."
            ) from err
        if "id_str" in df.columns:
            df["id_str"] = df["id_str"].map(lambda v: v if pd.isna(v) else str(v))
    else:
        raise CatalogError(
            f"Catalog {path.name} is not a .csv or .parquet file; save the table in one of those formats."
        )
    if resolve_paths and "file_loc" in df.columns:
        df = resolve_file_locs(df, base_dir=path.parent)
    return df


def _is_file(path: Path) -> bool:
    try:
        return path.is_file()
    except (OSError, ValueError):  # a name too long, or with a NUL in it
        return False


def _check_rows(path: Path, n_rows: int, max_rows: int | None) -> None:
    if max_rows is not None and n_rows > max_rows:
        raise CatalogError(
            f"{path.name} has more than {max_rows:,} rows; at most {max_rows:,} are allowed here. "
            "Split the catalog, or run the app on your own computer for larger ones."
        )


def _csv_problem(err: BaseException) -> str:
    """What is wrong with a CSV file, in words (pandas' own message names its parser's internals)."""
    if isinstance(err, UnicodeDecodeError):
        return "it is not UTF-8 text"
    line = re.search(r"line (\d+)", str(err))
    if isinstance(err, pd.errors.ParserError) and line:
        return f"line {line.group(1)} has a different number of cells than the header"
    return "it is not a comma-separated table"


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
        return str(p if p.is_absolute() else os.path.normpath(base / p))

    out = catalog.copy()
    out["file_loc"] = out["file_loc"].map(resolve)
    return out


_CHECKED_RELATIVE = 20


def check_file_locs_resolved(catalog: pd.DataFrame) -> None:
    """Refuse, in one line, a catalog whose relative ``file_loc`` paths do not exist from here.

    Such a catalog was read with ``pd.read_csv`` (its paths are relative to the catalog's folder, not
    to the working directory). Only the first few relative paths are looked at, so this is cheap;
    absolute paths are left to :func:`~zoobot.catalog.validate_catalog`.

    Raises:
        CatalogError: naming :func:`read_catalog`, which resolves the paths.
    """
    if "file_loc" not in catalog.columns:
        return
    relative = [
        str(loc)
        for loc in catalog["file_loc"]
        if isinstance(loc, str) and loc.strip() and not Path(loc).expanduser().is_absolute()
    ]
    missing = [loc for loc in relative[:_CHECKED_RELATIVE] if not _is_file(Path(loc).expanduser())]
    if missing:
        raise CatalogError(
            f"file_loc {missing[0]!r} is a relative path that does not exist from {Path.cwd()}; read the "
            "catalog with zoobot.catalog.read_catalog('path/to/catalog.csv'), which resolves file_loc "
            "against the catalog's folder (or make the paths absolute)."
        )

"""Fixes for catalog problems: :data:`FIXES`, :func:`apply_fix`, and :func:`class_numbers` (what the
``number_classes`` fix writes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from zoobot.catalog.report import CatalogProblem

#: Fix ids :func:`apply_fix` knows, and what they do in plain words.
FIXES: dict[str, str] = {
    "fill_zero": "write 0 votes where the vote count is blank",
    "drop_rows": "remove the affected rows from the catalog",
    "drop_duplicates": "keep only the first row of each repeated id_str",
    "round_votes": "round vote counts to whole numbers",
    "number_classes": "number the classes 0, 1, 2, … (names alphabetically, numbers in order; the old values are "
    "kept in a new column)",
}


def class_numbers(values: pd.Series) -> dict[str, int]:
    """Class name -> class number for a column of class names: alphabetical, from 0 (a column of numbers
    is numbered in numerical order: ``{'0': 0, '1': 1, '999999': 2}``).

    This is what the ``number_classes`` fix writes, e.g. ``{'none': 0, 'strong': 1, 'weak': 2}``.
    """
    present = values.dropna()
    names = sorted(present.astype(str).unique())
    if pd.api.types.is_numeric_dtype(present):
        names = [str(v) for v in sorted(present.unique())]
    return {name: i for i, name in enumerate(names)}


def _names_column(catalog: pd.DataFrame, col: str) -> str:
    """A new column name to keep ``col``'s class names in: ``<col>_name`` (``_name_2``, ... if taken)."""
    name, i = f"{col}_name", 2
    while name in catalog.columns:
        name, i = f"{col}_name_{i}", i + 1
    return name


def apply_fix(catalog: pd.DataFrame, problem: CatalogProblem, fix: str | None = None) -> pd.DataFrame:
    """Return a fixed copy of ``catalog`` (renumbered 0..n-1 when rows are dropped).

    Args:
        catalog: the catalog the problem was found in (same index).
        problem: a problem from :func:`validate_catalog`'s report.
        fix: one of ``problem.fixes``; defaults to the suggested one.

    Raises:
        ValueError: the problem offers no such fix.
    """
    fix = fix or problem.fix
    if fix is None or fix not in problem.fixes:
        offered = ", ".join(problem.fixes) or "none"
        raise ValueError(
            f"Problem '{problem.code}' cannot be fixed with {fix!r} (offered: {offered}); edit the catalog by hand."
        )
    out = catalog.copy()
    rows = [r for r in problem.rows if r in out.index]
    # Dropping renumbers the rows (0..n-1), so a later report's rows match the catalog once saved and reread.
    if fix == "drop_rows":
        return out.drop(index=rows).reset_index(drop=True)
    if fix == "drop_duplicates":
        return out[~out["id_str"].astype(str).duplicated(keep="first")].reset_index(drop=True)
    cols = list(problem.columns)
    if fix == "fill_zero":
        out[cols] = out[cols].fillna(0)
        return out
    if fix == "number_classes":
        col = cols[0]
        numbering = class_numbers(out[col])
        out.insert(out.columns.get_loc(col) + 1, _names_column(out, col), out[col])
        out[col] = out[col].map(lambda v: numbering[str(v)] if pd.notna(v) else np.nan)
        return out
    if fix == "round_votes":
        out[cols] = out[cols].apply(pd.to_numeric, errors="coerce").round()
        return out
    raise ValueError(f"Unknown fix {fix!r}; known fixes: {', '.join(FIXES)}.")

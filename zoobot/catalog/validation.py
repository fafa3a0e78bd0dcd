"""Checking a catalog before training or prediction: :func:`validate_catalog`.

Every problem is reported in plain words with the rows affected and, where one exists, a fix that
:func:`~zoobot.catalog.apply_fix` applies. Problems that would silently corrupt training (NaN or
negative vote counts, one-class labels, missing images) are errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pandas as pd

from zoobot.catalog.labels import (
    MAX_CLASSES,
    _check_classes,
    _check_regression,
    _check_votes,
)
from zoobot.catalog.report import _N_EXAMPLES, CatalogError, CatalogProblem, CatalogReport, _rows_text
from zoobot.images import MAX_IMAGE_PIXELS, ImageReadError, ImageTooLargeError, check_image

if TYPE_CHECKING:
    from zoobot.schemas import Schema

Task = Literal["classification", "regression", "tree"]


def _blank(loc: Any) -> bool:
    """Whether a ``file_loc`` cell is empty (NaN, None, blank text)."""
    try:
        if pd.isna(loc):
            return True
    except (TypeError, ValueError):  # a list or array in the cell: not blank, and not a path either
        return False
    return str(loc).strip() == ""


def _exists(path: Path) -> bool:
    """Whether a file is there (a name too long, or with a NUL in it, is not)."""
    try:
        return path.is_file()
    except (OSError, ValueError):
        return False


def _check_images(catalog: pd.DataFrame, base_dir: Path | None, report: CatalogReport, max_pixels: int) -> None:
    missing_rows: list[Any] = []
    unreadable_rows: list[Any] = []
    too_large: list[Any] = []
    too_large_example = ""
    for index, loc in zip(catalog.index, catalog["file_loc"], strict=True):
        if _blank(loc):
            missing_rows.append(index)
            if len(report.missing_examples) < _N_EXAMPLES:
                report.missing_examples.append("(blank file_loc)")
            continue
        path = Path(str(loc)).expanduser()
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        key = str(path)
        try:
            # Decoded as training will decode it (a file cut short is found now), one at a time, at a
            # reduced size where the format allows: memory stays flat.
            check_image(path, max_pixels=max_pixels)
            status = None
        except ImageTooLargeError:
            status = "too_large"
        except ImageReadError:
            status = "missing" if not _exists(path) else "unreadable"
        if status == "missing":
            missing_rows.append(index)
            if len(report.missing_examples) < _N_EXAMPLES:
                report.missing_examples.append(key)
        elif status in ("unreadable", "too_large"):
            unreadable_rows.append(index)
            if len(report.unreadable_examples) < _N_EXAMPLES:
                report.unreadable_examples.append(key)
            if status == "too_large":
                too_large.append(index)
                too_large_example = too_large_example or key
    report.n_images_missing = len(missing_rows)
    report.n_images_unreadable = len(unreadable_rows)
    report.n_images_found = len(catalog) - len(missing_rows) - len(unreadable_rows)
    if missing_rows:
        report.problems.append(
            CatalogProblem(
                "missing_images",
                "error",
                f"{_rows_text(missing_rows, catalog)} point to image files that do not exist, e.g. "
                f"{report.missing_examples[0]}. Check the image folder (relative paths are read from the "
                "catalog's folder), or remove those rows.",
                tuple(missing_rows),
                ("file_loc",),
                ("drop_rows",),
            )
        )
    unreadable_only = [r for r in unreadable_rows if r not in set(too_large)]
    if unreadable_only:
        example = (
            next(e for e in report.unreadable_examples if e != too_large_example)
            if len(report.unreadable_examples) > 1 or not too_large
            else report.unreadable_examples[0]
        )
        report.problems.append(
            CatalogProblem(
                "unreadable_images",
                "error",
                f"{_rows_text(unreadable_only, catalog)} point to files that are not readable JPEG, PNG or "
                f"FITS images (or are cut short), e.g. {example}. Re-export them, or remove those rows.",
                tuple(unreadable_only),
                ("file_loc",),
                ("drop_rows",),
            )
        )
    if too_large:
        report.problems.append(
            CatalogProblem(
                "images_too_large",
                "error",
                f"{_rows_text(too_large, catalog)} point to images with more than {max_pixels:,} pixels, e.g. "
                f"{too_large_example}. Cut them out smaller (a galaxy cutout is usually a few hundred pixels "
                "across), or remove those rows.",
                tuple(too_large),
                ("file_loc",),
                ("drop_rows",),
            )
        )


def validate_catalog(
    catalog: pd.DataFrame,
    label_cols: Sequence[str] | None = None,
    task: Task | None = None,
    schema: Schema | None = None,
    base_dir: str | Path | None = None,
    check_images: bool = True,
    raise_on_error: bool = True,
    max_pixels: int = MAX_IMAGE_PIXELS,
    max_classes: int = MAX_CLASSES,
) -> CatalogReport:
    """Check a catalog before training or prediction.

    Args:
        catalog: one row per galaxy with ``id_str``, ``file_loc`` and (for training) label columns.
        label_cols: label columns; defaults to ``schema.label_cols`` when a schema is given.
        task: ``'classification'``, ``'regression'`` or ``'tree'`` (the default when a schema is given);
            None checks only columns, ids and images.
        schema: decision tree whose vote columns must be present (tree task).
        base_dir: folder relative ``file_loc`` paths are read from (the catalog's folder).
        check_images: decode every image as training will (one at a time, at a reduced size where the
            format allows; memory stays flat for large catalogs).
        raise_on_error: raise :class:`CatalogError` if any problem is an error.
        max_pixels: images with more pixels than this are reported (``images_too_large``), not decoded.
        max_classes: most classes a classification column may have (its largest class number + 1; never
            more than its labelled rows either).

    Returns:
        The :class:`CatalogReport`.

    Raises:
        CatalogError: with ``.report``, when ``raise_on_error`` and there are errors.
    """
    if schema is not None:
        label_cols = list(label_cols) if label_cols is not None else list(schema.label_cols)
        task = task or "tree"
    label_cols = list(label_cols or [])
    if task not in (None, "classification", "regression", "tree"):
        raise ValueError(f"task must be 'classification', 'regression' or 'tree', got {task!r}.")
    if not catalog.index.is_unique:
        raise CatalogError(
            "The catalog's row index has repeated labels; call catalog.reset_index(drop=True) "
            "first so problems can point at single rows."
        )
    report = CatalogReport(n_rows=len(catalog))
    if len(catalog) == 0:
        report.problems.append(CatalogProblem("empty_catalog", "error", "The catalog has no rows."))
    missing = [c for c in ("id_str", "file_loc", *label_cols) if c not in catalog.columns]
    if missing:
        hint = ""
        if schema is not None and any(c in label_cols for c in missing):
            hint = " The chosen decision tree needs one vote-count column per answer."
        report.problems.append(
            CatalogProblem(
                "missing_columns",
                "error",
                f"The catalog has no column named {', '.join(repr(c) for c in missing)}. Rename or add it." + hint,
                (),
                tuple(missing),
            )
        )
    if "id_str" in catalog.columns:
        dup = catalog["id_str"].astype(str).duplicated(keep="first")
        if dup.any():
            rows = list(catalog.index[dup])
            report.problems.append(
                CatalogProblem(
                    "duplicate_ids",
                    "error",
                    f"{_rows_text(rows, catalog)} {'repeats' if len(rows) == 1 else 'repeat'} an id_str used by an "
                    "earlier row; each galaxy needs "
                    "its own id_str. Remove the repeats or give them new ids.",
                    tuple(rows),
                    ("id_str",),
                    ("drop_duplicates",),
                )
            )
    if check_images and "file_loc" in catalog.columns and len(catalog):
        _check_images(catalog, Path(base_dir).expanduser() if base_dir is not None else None, report, max_pixels)
    present = [c for c in label_cols if c in catalog.columns]
    if present and len(catalog) and len(present) == len(label_cols):
        if task == "tree":
            _check_votes(catalog, present, report)
        elif task == "classification":
            _check_classes(catalog, present, report, max_classes)
        elif task == "regression":
            _check_regression(catalog, present, report)
        else:
            report.n_labelled = int(catalog[present].notna().all(axis=1).sum())
    report.problems = [_without_emptying_fix(problem, len(catalog)) for problem in report.problems]
    if raise_on_error and report.errors:
        lines = "\n".join(f"- {p.message}" for p in report.errors)
        raise CatalogError(f"The catalog has {len(report.errors)} problem(s) to fix before training:\n{lines}", report)
    return report


def _without_emptying_fix(problem: CatalogProblem, n_rows: int) -> CatalogProblem:
    """Never offer to drop rows when every row is affected: that fix would leave an empty catalog."""
    if "drop_rows" not in problem.fixes or len(problem.rows) < n_rows:
        return problem
    return dataclasses.replace(
        problem,
        fixes=tuple(f for f in problem.fixes if f != "drop_rows"),
        message=problem.message + " Every row is affected, so removing them would leave nothing to "
        "train on: correct the catalog (or upload the images, e.g. as a .zip) instead.",
    )

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

import numpy as np
import pandas as pd

from zoobot.catalog.fixes import class_numbers
from zoobot.catalog.report import _N_EXAMPLES, CatalogError, CatalogProblem, CatalogReport
from zoobot.images import MAX_IMAGE_PIXELS, ImageReadError, ImageTooLargeError, check_image

if TYPE_CHECKING:
    from zoobot.schemas import Schema

Task = Literal["classification", "regression", "tree"]

MAX_LISTED_CLASSES = 8  # class names quoted at most in a message offering to number them

# Below this many labelled galaxies a 70/10/20 split leaves one or two to validate and test on: a warning.
FEW_LABELLED = 20

MAX_CLASSES = 1000
"""Default cap on the classes of one label column (the model has one output per class, numbered from 0
to the largest class number, so a stray 999999 would ask for a million)."""


def _rows_text(rows: Sequence[Any], catalog: pd.DataFrame) -> str:
    """'3 rows (e.g. id_str gal_1, gal_7)' style text."""
    n = len(rows)
    noun = "row" if n == 1 else "rows"
    examples = rows[:3]
    if "id_str" in catalog.columns:
        shown = ", ".join(str(catalog.at[r, "id_str"]) for r in examples)
        return f"{n} {noun} (e.g. id_str {shown})"
    return f"{n} {noun} (e.g. rows {', '.join(str(r) for r in examples)})"


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


def _numeric(catalog: pd.DataFrame, col: str) -> tuple[pd.Series, list[Any]]:
    """The column as floats, and the rows whose non-blank values are not numbers."""
    values = pd.to_numeric(catalog[col], errors="coerce").astype(float)
    bad = values.isna() & catalog[col].notna()
    return values, list(catalog.index[bad])


def _check_votes(catalog: pd.DataFrame, label_cols: list[str], report: CatalogReport) -> None:
    cols = tuple(label_cols)
    numeric = {}
    for col in label_cols:
        values, bad = _numeric(catalog, col)
        if bad:
            report.problems.append(
                CatalogProblem(
                    "non_numeric_votes",
                    "error",
                    f"Vote column '{col}' has text in {_rows_text(bad, catalog)}; vote counts must be whole "
                    "numbers. Fix those cells or remove the rows.",
                    tuple(bad),
                    (col,),
                    ("drop_rows",),
                )
            )
        numeric[col] = values.where(~catalog.index.isin(bad), 0.0)
    votes = pd.DataFrame(numeric, index=catalog.index)
    nan_rows = list(votes.index[votes.isna().any(axis=1)])
    if nan_rows:
        nan_cols = tuple(c for c in cols if votes[c].isna().any())
        report.problems.append(
            CatalogProblem(
                "nan_votes",
                "error",
                f"{_rows_text(nan_rows, catalog)} have blank (NaN) vote counts in {', '.join(nan_cols)}. A "
                "blank would silently corrupt the vote totals the loss uses. If blank means nobody gave that "
                "answer (or the question was never asked), fill it with 0; otherwise drop those rows.",
                tuple(nan_rows),
                nan_cols,
                ("fill_zero", "drop_rows"),
            )
        )
    filled = votes.fillna(0.0)
    negative = list(filled.index[(filled < 0).any(axis=1)])
    if negative:
        report.problems.append(
            CatalogProblem(
                "negative_votes",
                "error",
                f"{_rows_text(negative, catalog)} have negative vote counts; a count of votes cannot be "
                "below 0. Correct them or drop those rows.",
                tuple(negative),
                cols,
                ("drop_rows",),
            )
        )
    infinite = list(filled.index[np.isinf(filled).any(axis=1)])
    fractional = list(filled.index[(np.isfinite(filled) & (filled != np.round(filled))).any(axis=1)])
    if infinite:
        report.problems.append(
            CatalogProblem(
                "infinite_votes",
                "error",
                f"{_rows_text(infinite, catalog)} have infinite vote counts. Correct them or drop those rows.",
                tuple(infinite),
                cols,
                ("drop_rows",),
            )
        )
    if fractional:
        looks_like_fractions = bool((filled.abs() <= 1).all().all())
        hint = (
            " All values are between 0 and 1, so these look like vote fractions: the tree task "
            "needs the number of votes per answer (e.g. the '_total-votes' scaled columns)."
            if looks_like_fractions
            else " Round them to whole numbers if that is what they mean."
        )
        report.problems.append(
            CatalogProblem(
                "fractional_votes",
                "error",
                f"{_rows_text(fractional, catalog)} have vote counts that are not whole numbers.{hint}",
                tuple(fractional),
                cols,
                ("round_votes", "drop_rows"),
            )
        )
    labelled = ~votes.isna().any(axis=1)
    report.n_labelled = int(labelled.sum())
    no_votes = list(filled.index[labelled & (filled.sum(axis=1) == 0)])
    if no_votes:
        report.problems.append(
            CatalogProblem(
                "no_votes",
                "warning",
                f"{_rows_text(no_votes, catalog)} have 0 votes for every answer, so they teach the model "
                "nothing. They will still get predictions.",
                tuple(no_votes),
                cols,
                ("drop_rows",),
            )
        )
    report.label_distribution = {
        col: {"total_votes": float(filled[col].sum()), "mean_votes": float(filled[col].mean())} for col in label_cols
    }


def _text_cells_problem(
    catalog: pd.DataFrame,
    col: str,
    rows: list[Any],
    code: str,
    what: str,
    advice: str,
    fixes: tuple[str, ...] = ("drop_rows",),
) -> CatalogProblem:
    """An error for label cells holding text, quoting a few of the texts."""
    examples = ", ".join(repr(v) for v in catalog.loc[rows, col].unique()[:3])
    return CatalogProblem(
        code,
        "error",
        f"{what} '{col}' holds text ({examples}) in {_rows_text(rows, catalog)}{advice}",
        tuple(rows),
        (col,),
        fixes,
    )


def _check_classes(catalog: pd.DataFrame, label_cols: list[str], report: CatalogReport, max_classes: int) -> None:
    labelled_mask = pd.Series(True, index=catalog.index)
    for col in label_cols:
        values, text_rows = _numeric(catalog, col)
        if text_rows:
            # A column of class names (no numbers at all) can be numbered in one click.
            all_names = len(text_rows) == int(catalog[col].notna().sum())
            advice = ". Classes must be whole numbers 0, 1, 2, ...: map each class name to a number first"
            if all_names:
                numbering = list(class_numbers(catalog[col]).items())
                listed = ", ".join(f"{n} = '{name}'" for name, n in numbering[:MAX_LISTED_CLASSES])
                more = "…" if len(numbering) > MAX_LISTED_CLASSES else ""
                advice += (
                    f", or use the fix that numbers them alphabetically (one click in the app, "
                    f"apply_fix in Python): {listed}{more}"
                )
            advice += "."
            # Dropping rows is no answer to a column of names: it would drop every labelled galaxy.
            report.problems.append(
                _text_cells_problem(
                    catalog,
                    col,
                    text_rows,
                    "non_integer_labels",
                    "Class column",
                    advice,
                    fixes=("number_classes",) if all_names else ("drop_rows",),
                )
            )
            values = values.where(~catalog.index.isin(text_rows), np.nan)
        finite = values.dropna()
        not_int = list(finite.index[(finite != np.round(finite)) | (finite < 0) | ~np.isfinite(finite)])
        if not_int:
            report.problems.append(
                CatalogProblem(
                    "non_integer_labels",
                    "error",
                    f"Class column '{col}' has values that are not whole numbers >= 0 in "
                    f"{_rows_text(not_int, catalog)}. Classes must be 0, 1, 2, ...; for a continuous target "
                    "choose the regression task instead.",
                    tuple(not_int),
                    (col,),
                    ("drop_rows",),
                )
            )
        good = finite.drop(index=not_int)
        # The model gets one output per class number from 0 to the largest: check that before counting.
        outputs = int(good.max()) + 1 if len(good) else 0
        if outputs > max(max_classes, 2) or outputs > max(len(good), 2):
            largest = good.index[good == good.max()].tolist()
            over_limit = "" if outputs <= max_classes else f" and the limit of {max_classes:,}"
            report.problems.append(
                CatalogProblem(
                    "too_many_classes",
                    "error",
                    f"Class column '{col}' has class numbers up to {int(good.max()):,} (e.g. in "
                    f"{_rows_text(largest, catalog)}), so the model would need {outputs:,} outputs: more than its "
                    f"{len(good)} labelled rows{over_limit}. "
                    "Classes must be numbered 0, 1, 2, ...: use the fix that numbers them in order (the old values "
                    "are kept as class names), or correct the stray values.",
                    tuple(largest),
                    (col,),
                    ("number_classes", "drop_rows"),
                )
            )
            labelled_mask &= values.notna() & ~catalog.index.isin(not_int)
            continue
        counts = good.astype(int).value_counts().sort_index()
        report.label_distribution[col] = {int(k): int(v) for k, v in counts.items()}
        if len(counts) == 1:
            report.problems.append(
                CatalogProblem(
                    "single_class",
                    "error",
                    f"Class column '{col}' has only one class ({int(counts.index[0])}) among its labelled "
                    "rows, so there is nothing to tell apart. Add examples of the other class(es).",
                    (),
                    (col,),
                )
            )
        labelled_mask &= values.notna() & ~catalog.index.isin(not_int)
    _finish_labels(catalog, labelled_mask, label_cols, report)


def _check_regression(catalog: pd.DataFrame, label_cols: list[str], report: CatalogReport) -> None:
    labelled_mask = pd.Series(True, index=catalog.index)
    for col in label_cols:
        values, text_rows = _numeric(catalog, col)
        if text_rows:
            report.problems.append(
                _text_cells_problem(
                    catalog,
                    col,
                    text_rows,
                    "non_numeric_targets",
                    "Target column",
                    "; regression targets must be numbers. Fix those cells or drop the rows.",
                )
            )
        infinite = list(values.index[np.isinf(values)])
        if infinite:
            report.problems.append(
                CatalogProblem(
                    "infinite_targets",
                    "error",
                    f"Target column '{col}' is infinite in {_rows_text(infinite, catalog)}. Fix or drop them.",
                    tuple(infinite),
                    (col,),
                    ("drop_rows",),
                )
            )
        finite = values[np.isfinite(values)]
        report.label_distribution[col] = (
            {
                "min": float(finite.min()),
                "max": float(finite.max()),
                "mean": float(finite.mean()),
                "std": float(finite.std(ddof=0)),
            }
            if len(finite)
            else {}
        )
        if len(finite) > 1 and finite.nunique() == 1:
            report.problems.append(
                CatalogProblem(
                    "constant_target",
                    "error",
                    f"Target column '{col}' has the same value ({finite.iloc[0]}) in every labelled row, so "
                    "there is nothing to learn. Check the column.",
                    (),
                    (col,),
                )
            )
        labelled_mask &= np.isfinite(values)
    _finish_labels(catalog, labelled_mask, label_cols, report)


def _finish_labels(catalog: pd.DataFrame, labelled: pd.Series, label_cols: list[str], report: CatalogReport) -> None:
    report.n_labelled = int(labelled.sum())
    blank = [i for i in catalog.index[~labelled] if all(pd.isna(catalog.at[i, c]) for c in label_cols)]
    if blank:
        report.problems.append(
            CatalogProblem(
                "unlabelled_rows",
                "warning",
                f"{_rows_text(blank, catalog)} have no label. They are not trained on but will get predictions.",
                tuple(blank),
                tuple(label_cols),
            )
        )
    # When an error about these columns already says why no label is usable, do not repeat it.
    explained = any(p.severity == "error" and set(p.columns) & set(label_cols) for p in report.problems)
    if report.n_labelled == 0 and not explained:
        report.problems.append(
            CatalogProblem(
                "no_labels",
                "error",
                f"No row has a usable label in {', '.join(label_cols)}; add labels before training.",
                (),
                tuple(label_cols),
            )
        )
    elif 0 < report.n_labelled < FEW_LABELLED:
        report.problems.append(
            CatalogProblem(
                "few_labels",
                "warning",
                f"Only {report.n_labelled} row{'s have' if report.n_labelled > 1 else ' has'} a usable label in "
                f"{', '.join(label_cols)}. They are split to train, check and test the model, so with so few the "
                f"model learns little and its scores are unreliable: label at least {FEW_LABELLED}, ideally "
                "hundreds.",
                (),
                tuple(label_cols),
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

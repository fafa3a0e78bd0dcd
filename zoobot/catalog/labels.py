"""Checking a catalog's labels for a task: vote counts for a tree, class numbers for classification,
numbers for regression (called by :func:`zoobot.catalog.validate_catalog`).

Each check adds :class:`~zoobot.catalog.CatalogProblem` entries to the report, in plain words with the rows
affected and, where one exists, the fix that :func:`~zoobot.catalog.apply_fix` applies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from zoobot.catalog.fixes import class_numbers
from zoobot.catalog.report import CatalogProblem, CatalogReport, _rows_text

MAX_LISTED_CLASSES = 8  # class names quoted at most in a message offering to number them

# Below this many labelled galaxies a 70/10/20 split leaves one or two to validate and test on: a warning.
FEW_LABELLED = 20

MAX_CLASSES = 1000
"""Default cap on the classes of one label column (the model has one output per class, numbered from 0
to the largest class number, so a stray 999999 would ask for a million)."""


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

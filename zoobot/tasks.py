"""What a catalog can be trained for: the three tasks, and proposing one from a catalog's columns.

A run's task is ``'classification'`` (class numbers), ``'regression'`` (measured values) or
``'tree'`` (Galaxy Zoo vote counts over a decision tree). :func:`propose_task` looks at a catalog's
columns and suggests the task and target columns, which the app offers as its first guess.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Task = Literal["classification", "regression", "tree"]
TASKS: tuple[str, ...] = ("classification", "regression", "tree")
MAX_CLASSES_FOR_PROPOSAL = 20


def column_suits(values: pd.Series, task: Task, clear_only: bool = False) -> bool:
    """Whether a column looks like a target for ``task`` (``'classification'`` or ``'regression'``).

    Class numbers are whole numbers with 2 to ``MAX_CLASSES_FOR_PROPOSAL`` values; they suit
    classification, as do (unless ``clear_only``) that many class names, which a one-click fix
    numbers. Regression takes any other numeric column with at least 2 values; with
    ``clear_only`` (no task chosen yet), only decimal columns with more values than that.
    """
    values = values.dropna()
    n_values = values.nunique()
    numeric = pd.api.types.is_numeric_dtype(values)
    few = 2 <= n_values <= MAX_CLASSES_FOR_PROPOSAL
    whole_classes = numeric and few and bool(np.all(np.mod(values, 1) == 0))
    if task == "classification":
        return whole_classes or (few and not numeric and not clear_only)
    if task == "regression":
        if clear_only:
            return pd.api.types.is_float_dtype(values) and n_values > MAX_CLASSES_FOR_PROPOSAL
        return numeric and n_values >= 2 and not whole_classes
    return False


def propose_task(catalog: pd.DataFrame, task: Task | None = None) -> tuple[Task, list[str], str | None]:
    """Suggest a task and target columns from a catalog's columns.

    Columns of a named Galaxy Zoo tree suggest a tree task with that schema; otherwise an
    integer-like column with few values suggests classification, and a float column regression.

    Args:
        catalog: the catalog.
        task: suggest columns for this task only (e.g. after the user picked it); default: any task.

    Returns:
        ``(task, label_cols, schema_name)``; ``schema_name`` is None unless the task is a tree.

    Raises:
        ConfigError: if no column looks like a target (for ``task``, when given).
    """
    # Imported here: zoobot.runs.config imports Task and TASKS from this module.
    from zoobot.runs.config import ConfigError
    from zoobot.trees import detect_schema, get_schema

    if task in (None, "tree"):
        schema_name = detect_schema(list(catalog.columns))
        if schema_name is not None:
            return "tree", list(get_schema(schema_name).label_cols), schema_name
    reserved = {"id_str", "file_loc"}
    candidates = [c for c in catalog.columns if c not in reserved and not str(c).startswith("true_")]
    # Class numbers before class names (a stable sort keeps the catalog's order otherwise).
    by_kind = sorted(candidates, key=lambda c: not pd.api.types.is_numeric_dtype(catalog[c].dropna()))
    for candidate_task in ("classification", "regression"):
        if task in (None, candidate_task):
            for column in by_kind:
                if column_suits(catalog[column], candidate_task, clear_only=task is None):
                    return candidate_task, [column], None
    wanted = {
        None: "add a column of class numbers (0, 1, ...) for classification, of measured values for "
        "regression, or Galaxy Zoo vote counts",
        "classification": "classification needs a column of class numbers (0, 1, 2, ...) with at least two "
        "different classes among the labelled rows",
        "regression": "regression needs a column of measured values (decimal numbers)",
        "tree": "a vote-count tree needs the vote-count columns of a Galaxy Zoo tree (or choose your own "
        "tree on the Schema tab)",
    }[task]
    task_words = {None: "any task", "tree": "a vote-count tree"}.get(task, task)
    raise ConfigError(f"No column looks like a label for {task_words}: {wanted}.")

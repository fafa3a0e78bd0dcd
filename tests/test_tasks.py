"""Proposing a task and target columns from a catalog's columns."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoobot.runs import ConfigError
from zoobot.tasks import column_suits, propose_task


def test_propose_task_from_columns():
    rng = np.random.default_rng(0)
    base = pd.DataFrame({"id_str": [str(i) for i in range(50)], "file_loc": ["x.png"] * 50})
    classes = base.assign(true_size=rng.random(50), merger=rng.integers(0, 2, 50))
    assert propose_task(classes) == ("classification", ["merger"], None)
    values = base.assign(mass=rng.normal(10, 1, 50))
    assert propose_task(values) == ("regression", ["mass"], None)
    with pytest.raises(ConfigError, match="No column looks like a label"):
        propose_task(base.assign(comment=["nice"] * 50))


def test_propose_task_for_a_chosen_task():
    rng = np.random.default_rng(0)
    both = pd.DataFrame(
        {
            "id_str": [str(i) for i in range(50)],
            "file_loc": ["x.png"] * 50,
            "merger": rng.integers(0, 2, 50),
            "mass": rng.normal(10, 1, 50),
        }
    )
    assert propose_task(both, "regression") == ("regression", ["mass"], None)
    assert propose_task(both, "classification") == ("classification", ["merger"], None)
    with pytest.raises(ConfigError, match="for a vote-count tree: a vote-count tree needs"):
        propose_task(both, "tree")
    with pytest.raises(ConfigError, match="regression needs a column of measured values"):
        propose_task(both.drop(columns="mass"), "regression")
    # Once the task is chosen: class names, and a decimal column with only a few values, qualify.
    names = both.drop(columns="merger").assign(bar=["none", "weak", "strong"] * 16 + ["none", "weak"])
    assert propose_task(names, "classification") == ("classification", ["bar"], None)
    few = both.drop(columns="mass").assign(z=[0.1, 0.2] * 25)
    assert propose_task(few, "regression") == ("regression", ["z"], None)
    with pytest.raises(ConfigError):
        propose_task(few.drop(columns="merger"))  # no task chosen: 2 values is not clearly a measurement


@pytest.mark.parametrize(
    "values, classification, regression, clear_regression",
    [
        ([0, 1, 2] * 10, True, False, False),  # class numbers
        (["none", "weak", "strong"] * 10, True, False, False),  # class names (numbered by a fix)
        (list(np.linspace(0, 1, 30)), False, True, True),  # a measured value
        ([0.1, 0.2] * 15, False, True, False),  # decimals, few values
        (list(range(30)), False, True, False),  # whole numbers, many values
        ([3.0] * 30, False, False, False),  # one value: nothing to learn
    ],
)
def test_which_columns_suit_which_task(values, classification, regression, clear_regression):
    column = pd.Series(values)
    assert column_suits(column, "classification") is classification
    assert column_suits(column, "regression") is regression
    assert column_suits(column, "regression", clear_only=True) is clear_regression
    clear_classification = classification and not isinstance(values[0], str)
    assert column_suits(column, "classification", clear_only=True) is clear_classification


def test_propose_task_detects_a_named_tree():
    from zoobot.trees import get_schema

    schema = get_schema("decals_dr5")
    votes = pd.DataFrame(np.ones((5, len(schema.label_cols)), dtype=int), columns=schema.label_cols)
    votes.insert(0, "id_str", [str(i) for i in range(5)])
    task, label_cols, schema_name = propose_task(votes)
    assert (task, schema_name) == ("tree", "decals_dr5")
    assert label_cols == list(schema.label_cols)

"""The run config: validation messages, YAML round trip, task proposal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoobot.config import ConfigError, RunConfig, column_suits, propose_task, rerun_command


def make_config(**overrides) -> RunConfig:
    values = dict(task="classification", catalog="catalog.csv", label_cols=["ring"], run_dir="runs/a")
    values.update(overrides)
    return RunConfig(**values)


def test_yaml_round_trip_keeps_every_setting(tmp_path):
    config = make_config(encoder="hf_hub:mwalmsley/zoobot-encoder-convnext_nano",
                         training_mode="full", max_epochs=3, learning_rate=1e-4, image_size=96)
    path = tmp_path / "config.yaml"
    config.to_yaml(path)
    assert RunConfig.from_yaml(path) == config
    assert RunConfig.from_yaml(path.read_text()) == config
    assert rerun_command(path) == (f"zoobot finetune --config {path} "
                                   f"--run-dir {tmp_path.parent / (tmp_path.name + '-rerun')}")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"task": "segmentation"}, "task must be one of"),
        ({"training_mode": "partial"}, "training_mode must be"),
        ({"label_cols": []}, "No target column"),
        ({"task": "tree"}, "needs a schema"),
        ({"max_epochs": 0}, "max_epochs must be at least 1"),
        ({"learning_rate": 3.0}, "learning_rate 3.0 is outside"),
        ({"train_fraction": 0.5}, "add up to"),
        ({"val_fraction": 0.0, "train_fraction": 0.85}, "must be above 0"),
        ({"image_size": 4}, "too small"),
    ],
)
def test_invalid_settings_are_refused_in_plain_words(overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**overrides).validate()


def test_unknown_and_missing_settings_are_named():
    with pytest.raises(ConfigError, match="Unknown setting.*epochs"):
        RunConfig.from_dict({**make_config().to_dict(), "epochs": 3})
    with pytest.raises(ConfigError, match="missing: run_dir"):
        RunConfig.from_dict({"task": "regression", "catalog": "c.csv", "label_cols": ["x"]})


def test_bad_yaml_and_missing_file_are_explained(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        RunConfig.from_yaml("task: [unclosed\nlabel_cols: x")
    with pytest.raises(ConfigError, match="does not exist"):
        RunConfig.from_yaml(tmp_path / "nope.yaml")


def test_a_single_label_col_string_is_accepted():
    values = {**make_config().to_dict(), "label_cols": "ring"}
    assert RunConfig.from_dict(values).label_cols == ["ring"]


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
    both = pd.DataFrame({"id_str": [str(i) for i in range(50)], "file_loc": ["x.png"] * 50,
                         "merger": rng.integers(0, 2, 50), "mass": rng.normal(10, 1, 50)})
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


@pytest.mark.parametrize("values, classification, regression, clear_regression", [
    ([0, 1, 2] * 10, True, False, False),                       # class numbers
    (["none", "weak", "strong"] * 10, True, False, False),      # class names (numbered by a fix)
    (list(np.linspace(0, 1, 30)), False, True, True),           # a measured value
    ([0.1, 0.2] * 15, False, True, False),                      # decimals, few values
    (list(range(30)), False, True, False),                      # whole numbers, many values
    ([3.0] * 30, False, False, False),                          # one value: nothing to learn
])
def test_which_columns_suit_which_task(values, classification, regression, clear_regression):
    column = pd.Series(values)
    assert column_suits(column, "classification") is classification
    assert column_suits(column, "regression") is regression
    assert column_suits(column, "regression", clear_only=True) is clear_regression
    assert column_suits(column, "classification", clear_only=True) is (classification and not isinstance(values[0], str))


def test_unit_interval_must_be_a_yes_no_or_left_out():
    with pytest.raises(ConfigError, match="unit_interval must be true, false or left out"):
        make_config(task="regression", unit_interval="false").validate()


def test_propose_task_detects_a_named_tree():
    from zoobot.trees import get_schema

    schema = get_schema("decals_dr5")
    votes = pd.DataFrame(np.ones((5, len(schema.label_cols)), dtype=int), columns=schema.label_cols)
    votes.insert(0, "id_str", [str(i) for i in range(5)])
    task, label_cols, schema_name = propose_task(votes)
    assert (task, schema_name) == ("tree", "decals_dr5")
    assert label_cols == list(schema.label_cols)

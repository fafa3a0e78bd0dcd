"""The run config: validation messages, YAML round trip."""

from __future__ import annotations

import pytest

from zoobot.runs import ConfigError, RunConfig, rerun_command


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


def test_unit_interval_must_be_a_yes_no_or_left_out():
    with pytest.raises(ConfigError, match="unit_interval must be true, false or left out"):
        make_config(task="regression", unit_interval="false").validate()


def test_the_old_import_path_gives_the_same_objects():
    import zoobot.config
    import zoobot.runs
    import zoobot.tasks

    for name in ("RunConfig", "ConfigError", "RunResult", "run_finetune", "rerun_command", "build_model",
                 "resolve_schema", "load_run_catalog", "evaluate_run_predictions", "export_model", "load_run_model",
                 "TRAINING_MODES"):
        assert getattr(zoobot.config, name) is getattr(zoobot.runs, name), name
    for name in ("Task", "TASKS", "column_suits", "propose_task", "MAX_CLASSES_FOR_PROPOSAL"):
        assert getattr(zoobot.config, name) is getattr(zoobot.tasks, name), name
    assert zoobot.config.device_name is zoobot.runs.device_name

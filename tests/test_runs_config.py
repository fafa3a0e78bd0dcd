"""The run config: validation messages, YAML round trip, defaults from zoobot.defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from zoobot.runs import ConfigError, RunConfig, rerun_command


def make_config(**overrides) -> RunConfig:
    values = dict(task="classification", catalog="catalog.csv", label_cols=["ring"], run_dir="runs/a")
    values.update(overrides)
    return RunConfig(**values)


def test_yaml_round_trip_keeps_every_setting(tmp_path):
    config = make_config(
        encoder="hf_hub:mwalmsley/zoobot-encoder-convnext_nano",
        training_mode="full",
        max_epochs=3,
        learning_rate=1e-4,
        image_size=96,
    )
    path = tmp_path / "config.yaml"
    config.to_yaml(path)
    # In the file, paths are relative to its folder; read back they point where they did.
    assert RunConfig.from_yaml(path).to_dict() == {
        **config.to_dict(),
        "catalog": str(Path.cwd() / "catalog.csv"),
        "run_dir": str(Path.cwd() / "runs" / "a"),
    }
    assert RunConfig.from_yaml(config.to_yaml()) == config
    assert rerun_command(path) == (
        f"zoobot finetune --config {path} --run-dir {tmp_path.parent / (tmp_path.name + '-rerun')}"
    )


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


def test_a_tree_config_takes_its_answer_columns_from_the_named_schema():
    from zoobot.trees import get_schema

    config = RunConfig.from_yaml("task: tree\ncatalog: c.csv\nrun_dir: runs/tree\nschema: decals_dr5\n")
    assert config.label_cols == list(get_schema("decals_dr5").label_cols) and len(config.label_cols) == 34
    with pytest.raises(ConfigError, match="missing: label_cols"):  # a classifier still names its column
        RunConfig.from_dict({"task": "classification", "catalog": "c.csv", "run_dir": "r"})


def test_unit_interval_must_be_a_yes_no_or_left_out():
    with pytest.raises(ConfigError, match="unit_interval must be true, false or left out"):
        make_config(task="regression", unit_interval="false").validate()


def test_defaults_come_from_zoobot_defaults():
    from zoobot import defaults

    config = make_config()
    for name in (
        "max_epochs",
        "batch_size",
        "weight_decay",
        "layer_decay",
        "patience",
        "train_fraction",
        "val_fraction",
        "test_fraction",
        "seed",
    ):
        assert getattr(config, name) == defaults.default(name), name
    assert config.training_mode == defaults.RUN_TRAINING_MODE == "head_only"
    assert config.patience == 10
    assert (config.train_fraction, config.val_fraction, config.test_fraction) == (0.7, 0.15, 0.15)


def test_a_learning_rate_left_out_is_the_training_modes_default():
    assert make_config().learning_rate is None
    assert make_config().effective_learning_rate == 1e-3  # head only, as before
    assert make_config(training_mode="full").effective_learning_rate == 1e-4
    assert make_config(training_mode="full", learning_rate=3e-4).effective_learning_rate == 3e-4
    make_config(learning_rate=None).validate()  # left out is valid


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"max_epochs": 5000},
            r"max_epochs 5000 is outside its range \(a whole number from 1 to 1000\): "
            r"max_epochs must be at most 1000\.",
        ),
        ({"batch_size": 0}, r"batch_size 0 is outside its range \(a whole number from 1 to 1024\)"),
        (
            {"learning_rate": 0.0},
            r"learning_rate must be above 0; try 1e-3 for head-only or 1e-4 for full finetuning\.",
        ),
        ({"layer_decay": 1.5}, r"layer_decay must be at most 1"),
        ({"weight_decay": -0.1}, r"weight_decay must be at least 0"),
        ({"patience": 0}, r"patience 0 is outside its range"),
        ({"seed": -1}, r"seed must be at least 0"),
        ({"test_fraction": -0.1, "train_fraction": 0.95}, r"test_fraction must be at least 0"),
        ({"image_size": 4096}, r"image_size must be at most 1024"),
        ({"max_epochs": 2.5}, r"max_epochs 2.5 is not a whole number; it must be a whole number from 1 to 1000"),
        ({"max_epochs": "ten"}, r"max_epochs is 'ten', not a number"),
    ],
)
def test_out_of_range_settings_name_the_setting_and_its_range(overrides, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**overrides).validate()


def test_the_old_import_path_gives_the_same_objects():
    import zoobot.config
    import zoobot.runs
    import zoobot.tasks

    for name in (
        "RunConfig",
        "ConfigError",
        "RunResult",
        "run_finetune",
        "rerun_command",
        "build_model",
        "resolve_schema",
        "load_run_catalog",
        "evaluate_run_predictions",
        "export_model",
        "load_run_model",
        "TRAINING_MODES",
    ):
        assert getattr(zoobot.config, name) is getattr(zoobot.runs, name), name
    for name in ("Task", "TASKS", "column_suits", "propose_task", "MAX_CLASSES_FOR_PROPOSAL"):
        assert getattr(zoobot.config, name) is getattr(zoobot.tasks, name), name
    assert zoobot.config.device_name is zoobot.runs.device_name


def test_a_local_init_from_is_written_relative_to_the_config_and_read_back_from_anywhere(tmp_path, monkeypatch):
    """A warm-started run's config.yaml re-runs from any folder: the previous run's folder is written
    relative to the config's folder, as the catalog is (it was written as given, relative to where the
    first command ran)."""
    (tmp_path / "runs" / "ring").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    config = make_config(run_dir="runs/ring2", init_from="runs/ring")
    path = tmp_path / "runs" / "ring2" / "config.yaml"
    config.to_yaml(path)
    assert "init_from: ../ring\n" in path.read_text()
    monkeypatch.chdir(tmp_path / "runs")  # what RERUN.txt says: from the runs folder
    assert Path(RunConfig.from_yaml("ring2/config.yaml").init_from).resolve() == (tmp_path / "runs" / "ring").resolve()
    monkeypatch.chdir("/")
    assert Path(RunConfig.from_yaml(path).init_from).resolve() == (tmp_path / "runs" / "ring").resolve()


def test_an_init_from_that_is_no_local_path_is_a_hub_name_and_stays_as_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "configs" / "config.yaml"
    make_config(init_from="someone/zoobot-finetuned-ring").to_yaml(path)
    assert "init_from: someone/zoobot-finetuned-ring\n" in path.read_text()
    assert RunConfig.from_yaml(path).init_from == "someone/zoobot-finetuned-ring"

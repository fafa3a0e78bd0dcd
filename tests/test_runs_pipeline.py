"""run_finetune end to end on tiny data: the files a run leaves, stopping, failing, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pandas as pd
import pytest

from zoobot.runs import ConfigError, RunConfig, RunFolder, load_run_model, rerun_command, run_finetune

TINY = dict(encoder="test_convnext", image_size=32, batch_size=8, max_epochs=2, learning_rate=1e-3)


def catalog_path(catalog: pd.DataFrame) -> str:
    return str(Path(catalog["file_loc"].iloc[0]).parent.parent / "catalog.csv")


def tree_schema_dict(tiny_schema_pairs) -> dict:
    pairs, dependencies = tiny_schema_pairs
    return {"question_answer_pairs": pairs, "dependencies": dependencies}


@pytest.mark.parametrize("task", ["classification", "regression", "tree"])
def test_run_writes_everything_the_app_reads(task, make_catalog, tiny_schema_pairs, tmp_path):
    catalog = make_catalog(n=30, size=32, task=task, n_unlabelled=4 if task != "tree" else 0)
    label_cols = {"classification": ["label"], "regression": ["target"]}.get(
        task, [c for c in catalog.columns if c not in ("id_str", "file_loc")]
    )
    config = RunConfig(
        task=task,
        catalog=catalog_path(catalog),
        label_cols=label_cols,
        run_dir=str(tmp_path / "run"),
        training_mode="full",
        schema=tree_schema_dict(tiny_schema_pairs) if task == "tree" else None,
        **TINY,
    )
    result = run_finetune(config, accelerator="cpu")

    run_dir = tmp_path / "run"
    assert result.status == "finished"
    assert RunFolder(run_dir).read_progress()["status"] == "finished"
    assert RunConfig.from_yaml(run_dir / "config.yaml").label_cols == label_cols
    # the normalisation the encoder's images got: none (pixels in [0, 1]), as Zoobot's
    assert RunConfig.from_yaml(run_dir / "config.yaml").normalisation == {"mean": [0.0] * 3, "std": [1.0] * 3}
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1] and metrics["val_loss"].notna().all()
    # every epoch's own train metrics, as Lightning's log has them (not the epoch before's)
    lightning_log = pd.read_csv(run_dir / "csv_logs" / "version_0" / "metrics.csv")
    train_metrics = [c for c in metrics.columns if c.startswith("train_")]
    assert len(train_metrics) > 1 and metrics[train_metrics].notna().all().all()
    for column in train_metrics:
        logged = lightning_log.dropna(subset=[column]).set_index("epoch")[column]
        assert metrics.set_index("epoch")[column].tolist() == pytest.approx(logged.tolist())
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert len(predictions) == len(catalog)
    # Zoobot's columns, id_str, the extras, then the inputs: split, file and the catalog's labels
    inputs = ["split", "file_loc", *(f"catalog_{c}" for c in label_cols)]
    layout = {
        "classification": ["label_0", "label_1", "id_str", "predicted_class"],
        # the interval the run's calibration fitted on the validation split (#18)
        "regression": ["target", "id_str", "target_predictive-90pc-lower", "target_predictive-90pc-upper"],
        "tree": [
            *label_cols,
            "id_str",
            *(c + "_fraction" for c in label_cols),
            *(c + "_90pc-lower" for c in label_cols),
            *(c + "_90pc-upper" for c in label_cols),
            *(c + "_proportion-asked" for c in label_cols),
            # what the volunteers who answered would say (#18): the catalog has their counts
            *(c + "_predictive-90pc-lower" for c in label_cols),
            *(c + "_predictive-90pc-upper" for c in label_cols),
        ],
    }[task]
    assert list(predictions.columns) == layout + inputs
    assert predictions["file_loc"].tolist() == catalog["file_loc"].tolist()
    if task == "classification":
        assert set(predictions["predicted_class"]) <= {"label_0", "label_1"}
        labelled = predictions["catalog_label"].notna()
        assert predictions.loc[labelled, "catalog_label"].tolist() == [
            f"label_{int(v)}" for v in catalog.loc[labelled.to_numpy(), "label"]
        ]
    if task == "tree":
        assert (
            predictions[[f"catalog_{c}" for c in label_cols]].to_numpy().tolist()
            == catalog[label_cols].to_numpy().tolist()
        )
    assert set(predictions["split"]) >= {"train", "val", "test"}
    if task != "tree":
        assert (predictions["split"] == "unlabelled").sum() == 4
    test_metrics = json.loads((run_dir / "test_metrics.json").read_text())
    expected = {"classification": "confusion_matrix", "regression": "rmse", "tree": "vote_fraction_mae"}
    assert expected[task] in test_metrics and test_metrics["split"] == "test"
    assert result.summary == test_metrics["summary"] and "test galaxies; " in result.summary  # beside its baseline
    folder = RunFolder(run_dir)  # the same files, read back the way the app reads them
    assert folder.read_test_metrics() == test_metrics and len(folder.read_predictions()) == len(catalog)
    calibration = folder.read_calibration()  # fitted on the validation split, reported on the test split (#18)
    assert calibration["task"] == task and calibration["n_val"] > 0 and calibration["test"]["after"]
    assert folder.read_metrics()["epoch"].tolist() == [0, 1]
    assert folder.best_checkpoint() == result.best_checkpoint is not None and folder.has_model()
    reloaded = load_run_model(run_dir)
    assert reloaded.card.input_size[1:] == (32, 32)
    if task == "regression":  # targets are fractions in [0, 1]: predictions are squashed into (0, 1)
        assert RunConfig.from_yaml(run_dir / "config.yaml").unit_interval is True
        assert predictions["target"].between(0, 1).all() and reloaded.unit_interval
    if task == "classification":  # the app's download, a zip of model/, loads as it is
        import shutil

        import torch

        archive = shutil.make_archive(str(tmp_path / "finetuned_model"), "zip", run_dir / "model")
        from_zip = load_run_model(archive)
        for name, value in reloaded.state_dict().items():
            assert torch.equal(value, from_zip.state_dict()[name])


def test_class_names_come_from_the_numbered_names_column(make_catalog, tmp_path):
    catalog = make_catalog(n=30, size=32)
    catalog["label_name"] = "unrelated"  # an older column of that name: the fix wrote label_name_2
    catalog["label_name_2"] = catalog["label"].map({0: "smooth", 1: "featured"})
    catalog.to_csv(catalog_path(catalog), index=False)
    config = RunConfig(
        task="classification",
        catalog=catalog_path(catalog),
        label_cols=["label"],
        run_dir=str(tmp_path / "run"),
        **TINY,
    )
    run_finetune(config, accelerator="cpu")
    assert RunConfig.from_yaml(tmp_path / "run" / "config.yaml").class_names == ["smooth", "featured"]
    test_metrics = json.loads((tmp_path / "run" / "test_metrics.json").read_text())
    assert test_metrics["classes"] == ["smooth", "featured"]
    predictions = pd.read_csv(tmp_path / "run" / "predictions.csv")
    assert list(predictions.columns[:4]) == ["smooth", "featured", "id_str", "predicted_class"]
    assert set(predictions["predicted_class"]) <= {"smooth", "featured"}
    assert predictions["catalog_label"].tolist() == catalog["label_name_2"].tolist()
    # the CLI predicts with the run's model in the same columns
    from zoobot.predict import predict_on_catalog

    again = predict_on_catalog(catalog, load_run_model(tmp_path / "run"), accelerator="cpu")
    assert list(again.columns) == list(predictions.columns[:4])


def test_stop_event_ends_early_and_keeps_best_weights(make_catalog, tmp_path):
    catalog = make_catalog(n=24, size=32)
    config = RunConfig(
        task="classification",
        catalog=catalog_path(catalog),
        label_cols=["label"],
        run_dir=str(tmp_path / "run"),
        **{**TINY, "max_epochs": 50},
    )
    stop = threading.Event()
    stop.set()  # asked to stop before the first step ends
    result = run_finetune(config, accelerator="cpu", stop_event=stop)
    assert result.status == "stopped"
    assert len(pd.read_csv(tmp_path / "run" / "metrics.csv")) == 1
    assert (tmp_path / "run" / "predictions.csv").is_file()
    assert RunFolder(tmp_path / "run").read_progress()["status"] == "stopped"


def test_a_learning_rate_left_out_and_the_machine_settings_are_recorded(make_catalog, tmp_path):
    from zoobot.machine import machine_facts

    catalog = make_catalog(n=24, size=32)
    settings = {k: v for k, v in TINY.items() if k not in ("learning_rate", "num_workers")}
    config = RunConfig(
        task="classification",
        catalog=catalog_path(catalog),
        label_cols=["label"],
        run_dir=str(tmp_path / "run"),
        training_mode="full",
        num_workers=0,  # an expert's choice wins over the machine's
        **settings,
    )
    stop = threading.Event()
    stop.set()
    run_finetune(config, accelerator="cpu", stop_event=stop)
    recorded = RunFolder(tmp_path / "run").read_config()
    assert recorded.learning_rate == 1e-4
    assert load_run_model(tmp_path / "run").learning_rate == 1e-4
    assert recorded.machine["settings"]["num_workers"] == 0
    assert recorded.machine["settings"]["torch_threads"] == machine_facts().cpu_cores
    assert recorded.machine["settings"]["precision"] == "32-true"
    assert recorded.machine["facts"]["cpu_cores"] == machine_facts().cpu_cores


def test_failure_is_recorded_with_its_message(make_catalog, tmp_path):
    catalog = make_catalog(n=12, size=32)
    config = RunConfig(
        task="regression",
        catalog=catalog_path(catalog),
        label_cols=["no_such_column"],
        run_dir=str(tmp_path / "run"),
        **TINY,
    )
    with pytest.raises(ValueError, match="no_such_column"):
        run_finetune(config, accelerator="cpu")
    progress = RunFolder(tmp_path / "run").read_progress()
    assert progress["status"] == "failed" and "no_such_column" in progress["error"]
    with pytest.raises(
        ConfigError,
        match=r"(?s)run failed without a finetuned model: .*no_such_column'\. Rename or add it\. Start it again",
    ):
        load_run_model(tmp_path / "run")


def test_a_folder_without_a_model_is_explained(tmp_path):
    with pytest.raises(ConfigError, match="No finetuned model found"):
        load_run_model(tmp_path)
    training = RunFolder(tmp_path / "training")
    training.path.mkdir()
    training.write_progress(status="running", epoch=11, max_epochs=300)
    (training.path / "checkpoints").mkdir()
    (training.path / "checkpoints" / "10.ckpt").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"has not finished \(epoch 11 of 300\).*training/checkpoints/10.ckpt"):
        load_run_model(training.path)
    (tmp_path / "other.zip").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    with pytest.raises(ConfigError, match="not a finetuned model download"):
        load_run_model(tmp_path / "other.zip")


def test_missing_catalog_is_a_config_error(tmp_path):
    config = RunConfig(
        task="classification", catalog=str(tmp_path / "nope.csv"), label_cols=["x"], run_dir=str(tmp_path / "run")
    )
    with pytest.raises(ConfigError, match="does not exist"):
        run_finetune(config)


def test_cli_reruns_an_exported_config_and_predicts(make_catalog, tmp_path):
    catalog = make_catalog(n=24, size=32)
    config = RunConfig(
        task="classification",
        catalog=catalog_path(catalog),
        label_cols=["label"],
        run_dir=str(tmp_path / "run"),
        **TINY,
    )
    config_path = tmp_path / "run" / "config.yaml"  # where the app exports it
    config.to_yaml(config_path)
    command = rerun_command(config_path).split()
    assert command[:2] == ["zoobot", "finetune"]
    assert command[-2:] == ["--run-dir", str(tmp_path / "run-rerun")]
    cli = [sys.executable, "-m", "zoobot.cli"]
    done = subprocess.run([*cli, *command[1:], "--accelerator", "cpu"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Run finished" in done.stdout
    # the score beside its baseline, in words and in the JSON, and the command that re-runs it
    assert "always answering the most common class" in done.stdout and '"majority_accuracy"' in done.stdout
    rerun_dir = tmp_path / "run-rerun"
    assert (
        f"To re-run it (also in {rerun_dir / 'RERUN.txt'}): {rerun_command(rerun_dir / 'config.yaml')}" in done.stdout
    )
    assert not (tmp_path / "run" / "predictions.csv").exists()  # the original run is left alone
    out = tmp_path / "predictions.parquet"
    done = subprocess.run(
        [
            *cli,
            "predict",
            "--model",
            str(tmp_path / "run-rerun"),
            "--catalog",
            catalog_path(catalog),
            "--out",
            str(out),
            "--accelerator",
            "cpu",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    predicted = pd.read_parquet(out)
    assert len(predicted) == 24
    # the run's own columns, less its split: the predictions first, then the inputs as catalog_<column>
    run_columns = pd.read_csv(tmp_path / "run-rerun" / "predictions.csv").columns
    assert list(predicted.columns) == [c for c in run_columns if c != "split"]
    assert predicted.columns[-1] == "catalog_label" and set(predicted["catalog_label"]) <= {"label_0", "label_1"}


def test_cli_explains_bad_config_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: classification\ncatalog: c.csv\nlabel_cols: [x]\nrun_dir: r\nepochs: 3\n")
    done = subprocess.run(
        [sys.executable, "-m", "zoobot.cli", "finetune", "--config", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "Unknown setting(s) in the run config: epochs" in done.stderr
    assert "Traceback" not in done.stderr


def test_class_names_come_from_a_names_or_labels_column_that_names_each_class():
    """The names carried into predicted_class and catalog_<label>: the fix's <label>_name (newest first),
    else a <label>_label such as the demo survey's bar_label, else the numbers."""
    from zoobot.runs.pipeline import _class_names

    bar = pd.DataFrame({"bar": [0, 1, 2, 1], "bar_label": ["none", "weak", "strong", "weak"]})
    assert _class_names(bar, "bar", 3) == ["none", "weak", "strong"]
    fixed = bar.assign(bar_name=["no bar", "weak bar", "strong bar", "weak bar"])
    assert _class_names(fixed, "bar", 3) == ["no bar", "weak bar", "strong bar"]
    inconsistent = bar.assign(bar_label=["none", "weak", "strong", "strong"])
    assert _class_names(inconsistent, "bar", 3) == ["0", "1", "2"]

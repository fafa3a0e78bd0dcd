"""RunFolder: every file of a run folder written and read back, damaged files read without a crash,
writes that never leave half a file."""

from __future__ import annotations

import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from zoobot.runs import ConfigError, RunConfig, RunFolder


def make_config(run_dir) -> RunConfig:
    return RunConfig(
        task="classification",
        catalog=str(run_dir / "catalog.parquet"),
        label_cols=["ring"],
        run_dir=str(run_dir),
        max_epochs=3,
        learning_rate=1e-4,
        class_names=["no ring", "ring"],
    )


def test_file_names_are_the_ones_the_app_and_the_cli_know(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.config_path == tmp_path / "config.yaml"
    assert folder.catalog_path == tmp_path / "catalog.parquet"
    assert folder.progress_path == tmp_path / "progress.json"
    assert folder.metrics_path == tmp_path / "metrics.csv"
    assert folder.predictions_path == tmp_path / "predictions.csv"
    assert folder.test_metrics_path == tmp_path / "test_metrics.json"
    assert folder.checkpoints_dir == tmp_path / "checkpoints"
    assert folder.model_weights_path == tmp_path / "model" / "model.safetensors"
    assert folder.model_config_path == tmp_path / "model" / "config.yaml"
    assert folder.name == tmp_path.name


def test_a_folder_before_its_run_reads_as_empty(tmp_path):
    folder = RunFolder(tmp_path / "not-yet")
    assert folder.read_progress() == {}
    assert folder.read_metrics() is None and folder.metrics_signature() is None
    assert folder.read_predictions() is None and folder.read_test_metrics() is None
    assert folder.read_config_text() is None and folder.read_config_values() == {}
    assert folder.best_checkpoint() is None
    assert not folder.has_config() and not folder.has_model()
    with pytest.raises(ConfigError, match="has no config.yaml"):
        folder.read_config()


def test_config_round_trip(tmp_path):
    folder = RunFolder(tmp_path / "run")
    config = make_config(folder.path)
    assert folder.write_config(config) == folder.config_path
    assert folder.has_config()
    assert folder.read_config() == config
    assert folder.read_config_text() == config.to_yaml(relative_to=folder.path)
    assert folder.read_config_values()["class_names"] == ["no ring", "ring"]


def test_a_run_folder_moved_to_another_machine_still_runs(tmp_path, monkeypatch):
    """config.yaml's paths are relative to the run folder, the catalog copy's file_loc too; RERUN.txt says how."""
    import shutil

    from zoobot.catalog import read_catalog

    home = tmp_path / "home"
    (home / "images").mkdir(parents=True)
    (home / "images" / "a.png").write_bytes(b"png")
    (home / "survey.csv").write_text("id_str,file_loc,ring\na,images/a.png,1\n")
    folder = RunFolder(home / "runs" / "ring")
    folder.write_catalog(read_catalog(home / "survey.csv"))  # absolute file_loc, as the app holds them
    folder.write_config(make_config(folder.path))
    outside = RunConfig(**{**make_config(folder.path).to_dict(), "catalog": str(home / "survey.csv")})
    RunFolder(home / "runs" / "other").write_config(outside)
    assert folder.read_config_values()["catalog"] == "catalog.parquet"
    assert folder.read_config_values()["run_dir"] == "."

    cluster = tmp_path / "cluster"
    shutil.move(home, cluster)
    monkeypatch.chdir(tmp_path)  # any working directory
    moved = RunFolder(cluster / "runs" / "ring")
    config = moved.read_config()
    assert config.run_dir == str(moved.path) and Path(config.catalog) == moved.catalog_path
    assert Path(read_catalog(config.catalog)["file_loc"][0]) == cluster / "images" / "a.png"
    assert Path(RunFolder(cluster / "runs" / "other").read_config().catalog) == cluster / "survey.csv"
    rerun = (moved.path / "RERUN.txt").read_text()
    assert "zoobot finetune --config ring/config.yaml --run-dir ring-rerun" in rerun


def test_a_config_file_written_before_relative_paths_reads_its_catalog_from_the_working_directory(
    tmp_path, monkeypatch, caplog
):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "cat.csv").write_text("id_str,file_loc\n")
    (tmp_path / "runs" / "ring").mkdir(parents=True)  # a previous run, for the warm start
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "ring.yaml").write_text(
        "task: classification\ncatalog: data/cat.csv\nlabel_cols: [ring]\nrun_dir: runs/ring2\ninit_from: runs/ring\n"
    )
    monkeypatch.chdir(tmp_path)
    with caplog.at_level("WARNING"):
        config = RunConfig.from_yaml("configs/ring.yaml")
    assert config.catalog == "data/cat.csv" and "catalog data/cat.csv is relative to the working" in caplog.text
    assert config.init_from == "runs/ring" and "init_from runs/ring is relative to the working" in caplog.text
    assert Path(config.run_dir) == Path("configs/runs/ring2")  # beside the config


def test_progress_merges_and_stamps_each_write(tmp_path):
    folder = RunFolder(tmp_path)
    folder.write_progress(status="running", stage="training", epoch=np.int64(2), eta_s=np.float32(1.5))
    progress = folder.write_progress(stage="testing")
    assert progress == folder.read_progress()
    assert progress["status"] == "running" and progress["stage"] == "testing"
    assert progress["epoch"] == 2 and progress["eta_s"] == 1.5  # numpy numbers written as plain numbers
    assert isinstance(progress["updated"], float)


def test_metrics_round_trip_and_signature(tmp_path):
    folder = RunFolder(tmp_path)
    rows = [{"epoch": 0, "val_loss": 0.5, "train_loss": 0.75}]
    folder.write_metrics(rows)
    first = folder.metrics_signature()
    assert folder.read_metrics().to_dict("records") == rows
    rows.append({"epoch": 1, "val_loss": 0.25, "train_loss": 0.5})
    folder.write_metrics(pd.DataFrame(rows))
    assert folder.read_metrics().to_dict("records") == rows
    assert folder.metrics_signature() != first


def test_predictions_and_test_metrics_round_trip(tmp_path):
    folder = RunFolder(tmp_path)
    predictions = pd.DataFrame(
        {"id_str": ["a", "b"], "split": ["test", "train"], "ring": [1, 0], "pred_class": [1, 1], "prob_1": [0.75, 0.5]}
    )
    assert folder.write_predictions(predictions) == folder.predictions_path
    pd.testing.assert_frame_equal(folder.read_predictions(), predictions)
    metrics = {"split": "test", "accuracy": np.float64(0.5), "n": np.int64(2), "confusion_matrix": np.eye(2)}
    folder.write_test_metrics(metrics)
    assert folder.read_test_metrics() == {
        "split": "test",
        "accuracy": 0.5,
        "n": 2,
        "confusion_matrix": [[1.0, 0.0], [0.0, 1.0]],
    }


def test_the_best_checkpoint_and_the_model(tmp_path):
    folder = RunFolder(tmp_path)
    folder.checkpoints_dir.mkdir()
    (folder.checkpoints_dir / "epoch=3.ckpt").write_bytes(b"weights")
    assert folder.best_checkpoint() == folder.checkpoints_dir / "epoch=3.ckpt"
    folder.model_dir.mkdir()
    assert not folder.has_model()
    folder.model_weights_path.write_bytes(b"weights")
    assert folder.has_model()


@pytest.mark.parametrize("text", ['{"status": "runn', "", "[1, 2]", "not json at all", "\udcff"])
def test_a_damaged_progress_file_reads_as_no_progress(tmp_path, text):
    folder = RunFolder(tmp_path)
    folder.progress_path.write_bytes(text.encode("utf-8", "surrogateescape"))
    assert folder.read_progress() == {}
    assert folder.write_progress(status="running")["status"] == "running"  # and a new write replaces it


@pytest.mark.parametrize("text", ['{"accuracy": 0.', "[0.5]"])
def test_damaged_test_metrics_read_as_none(tmp_path, text):
    folder = RunFolder(tmp_path)
    folder.test_metrics_path.write_text(text)
    assert folder.read_test_metrics() is None


def test_an_empty_metrics_file_reads_as_none(tmp_path):
    folder = RunFolder(tmp_path)
    folder.metrics_path.write_text("")
    assert folder.read_metrics() is None
    folder.metrics_path.write_text("epoch,val_loss\n")
    assert folder.read_metrics() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("task: classification\ncatalog: c.csv\nlabel_cols: [x\n", "not valid YAML"),
        ("task: classification\ncatalog: c.csv\n", "missing: label_cols, run_dir"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("task: classification\ncatalog: c.csv\nlabel_cols: [x]\nrun_dir: r\nmax_epochs: 0\n", "max_epochs must be"),
    ],
)
def test_a_damaged_or_partial_config_is_explained_naming_the_file(tmp_path, text, message):
    folder = RunFolder(tmp_path)
    folder.config_path.write_text(text)
    with pytest.raises(ConfigError, match=message) as refused:
        folder.read_config()
    assert str(folder.config_path) in str(refused.value)
    assert folder.read_config_text() == text  # the text is still there to show
    values = folder.read_config_values()
    assert isinstance(values, dict) and values.get("task") in (None, "classification")


def test_writes_are_atomic_and_leave_no_temporary_files(tmp_path, monkeypatch):
    folder = RunFolder(tmp_path)
    folder.write_test_metrics({"accuracy": 0.5})

    def disk_full(self, target):
        raise OSError("disk full")

    # A write that fails part-way leaves the old file whole and no temporary file behind.
    monkeypatch.setattr("pathlib.Path.replace", disk_full)
    with pytest.raises(OSError, match="disk full"):
        folder.write_test_metrics({"accuracy": 0.9})
    monkeypatch.undo()
    assert folder.read_test_metrics() == {"accuracy": 0.5}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["test_metrics.json"]


def test_a_reader_never_sees_half_a_progress_file(tmp_path):
    folder = RunFolder(tmp_path)
    folder.write_progress(status="running", step=0, padding="x" * 200_000)
    done = threading.Event()
    seen: list[dict] = []
    half_files: list[str] = []

    def poll() -> None:
        while not done.is_set():
            text = folder.progress_path.read_text()
            try:
                seen.append(json.loads(text))
            except json.JSONDecodeError:
                half_files.append(text[:80])

    reader = threading.Thread(target=poll)
    reader.start()
    try:
        for step in range(1, 60):
            folder.write_progress(step=step)
    finally:
        done.set()
        reader.join()
    assert not half_files
    assert seen and all(p["status"] == "running" for p in seen)
    assert folder.read_progress()["step"] == 59


def test_the_downloads_are_made_only_when_the_run_has_something_to_download(tmp_path):
    folder = RunFolder(tmp_path)
    assert folder.write_predictions_parquet() is None and folder.write_model_archive() is None
    predictions = pd.DataFrame({"id_str": ["a", "b"], "pred_ring": [0.123456789, 0.5]})
    folder.write_predictions(predictions)
    parquet = folder.write_predictions_parquet()
    assert parquet == tmp_path / "predictions.parquet"
    assert pd.read_parquet(parquet)["pred_ring"].tolist() == [0.123456789, 0.5]
    assert folder.write_predictions_parquet() == parquet
    folder.model_dir.mkdir()
    folder.model_weights_path.write_bytes(b"weights")
    archive = folder.write_model_archive()
    assert archive == tmp_path / "finetuned_model.zip"
    assert zipfile.ZipFile(archive).namelist() == ["model.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "finetuned_model.zip",
        "model",
        "predictions.csv",
        "predictions.parquet",
    ]  # no temporary left

"""Handler tests of what a new user ran into: a run keeps its own catalog, training refuses a
catalog with must-fix problems, the results say what the numbers mean, a failed latest run is
explained, and the learning rate follows the training mode."""

from __future__ import annotations

import json
import re
import threading
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
import yaml

from app.engine import Engine
from app.jobs import JobManager
from app.runs import RunStore, new_session_id
from app.tabs import data, results, task, train

TRAIN_ARGS = ("demo", "", "head_only", 1, 1e-3, 4, None, 0.7, 0.15, 0.05, 0.75, 3, 0)


@pytest.fixture
def engine(tmp_path) -> Engine:
    return Engine(store=RunStore(tmp_path / "runs"), manager=JobManager())


def _load(engine: Engine, sid: str, catalog: pd.DataFrame) -> None:
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    engine.manager.wait(engine.manager.latest(sid, "catalog").id, timeout=30)


def test_a_run_keeps_the_catalog_it_was_started_on(engine, make_catalog, monkeypatch):
    import zoobot.config

    started = threading.Event()
    monkeypatch.setattr(zoobot.config, "run_finetune", lambda config, **kwargs: started.set())
    sid = new_session_id()
    first = make_catalog(n=8, size=32, seed=1)
    _load(engine, sid, first)
    task.use_task(engine, sid, "classification", ["label"])
    train.start_training(engine, sid, *TRAIN_ARGS)
    assert started.wait(30)
    run_dir = Path(engine.state(sid).run_dir)

    _load(engine, sid, make_catalog(n=5, size=32, seed=2))
    assert len(engine.catalog(sid)) == 5
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert Path(config["catalog"]).parent == run_dir
    kept = pd.read_parquet(config["catalog"])
    assert list(kept["id_str"]) == list(first["id_str"])
    assert list(kept["file_loc"]) == list(first["file_loc"])


def test_training_is_refused_while_the_data_tab_lists_problems(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=8, size=32)
    Path(catalog.file_loc[2]).unlink()
    _load(engine, sid, catalog)
    task.use_task(engine, sid, "classification", ["label"])
    with pytest.raises(gr.Error, match="Fix the problems listed on the Data tab first: .*do not exist"):
        train.start_training(engine, sid, *TRAIN_ARGS)
    assert engine.store.run_dirs(sid) == []


@pytest.mark.parametrize("mode, now, expected", [
    ("full", 1e-3, 1e-4),
    ("head_only", 1e-4, 1e-3),
])
def test_the_learning_rate_follows_the_mode_while_it_is_a_default(mode, now, expected):
    assert train.learning_rate_for_mode(mode, now) == expected


@pytest.mark.parametrize("mode, now", [("full", 3e-4), ("head_only", 5e-3), ("head_only", 1e-3), ("full", 1e-4)])
def test_a_learning_rate_the_user_chose_is_kept(mode, now):
    assert train.learning_rate_for_mode(mode, now) == gr.skip()


def _finished_run(engine: Engine, sid: str, image: str, task_name: str, metrics: dict) -> Path:
    """A finished single-column run as run_finetune leaves it: config, predictions, test metrics."""
    run_dir = engine.store.new_run_dir(sid, task_name)
    n = 6
    frame = {"id_str": [f"gal_{i}" for i in range(n)], "file_loc": [image] * n, "split": ["test", "val"] * (n // 2)}
    if task_name == "classification":
        frame.update(label=[0, 1] * (n // 2), pred_class=[0] * n, prob_0=[0.8] * n, prob_1=[0.2] * n)
        label = "label"
    else:
        frame.update(target=[0.1, 0.5, 0.9] * (n // 3), pred_target=[0.9, 0.1, 0.5] * (n // 3))
        label = "target"
    pd.DataFrame(frame).to_csv(run_dir / "predictions.csv", index=False)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": task_name, "label_cols": [label]}))
    (run_dir / "test_metrics.json").write_text(json.dumps({"n": n // 2, "split": "test", **metrics}))
    (run_dir / "progress.json").write_text(json.dumps({"status": "finished"}))
    engine.store.update_state(sid, run_dir=str(run_dir))
    return run_dir


CLASSIFICATION = {"accuracy": 0.5, "classes": [0, 1], "confusion_matrix": [[3, 0], [3, 0]],
                  "precision": {"0": 0.5, "1": 0.0}, "recall": {"0": 1.0, "1": 0.0}}


def test_classification_results_give_the_baseline_and_warn_of_a_one_class_model(engine, make_catalog):
    sid = new_session_id()
    image = make_catalog(n=1, size=32).file_loc[0]
    _finished_run(engine, sid, image, "classification", dict(CLASSIFICATION, majority_accuracy=0.72,
                                                               predicted_classes=1))
    summary, *_ = results.show_results(engine, sid)
    assert "Always answering the most common class would score 72%" in summary
    assert "predicts only one class for every galaxy" in summary and "Try more epochs" in summary

    _finished_run(engine, sid, image, "classification", dict(CLASSIFICATION, predicted_classes=2))
    summary, *_ = results.show_results(engine, sid)
    assert "Accuracy 50.0%" in summary
    assert "most common class" not in summary and "only one class" not in summary


@pytest.mark.parametrize("r2, warned", [(-0.4, True), (0.6, False)])
def test_regression_results_say_when_r2_is_worse_than_the_average(engine, make_catalog, r2, warned):
    sid = new_session_id()
    image = make_catalog(n=1, size=32).file_loc[0]
    _finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": r2})
    summary, *_ = results.show_results(engine, sid)
    assert ("worse than always predicting the average target" in summary) is warned


def test_a_failed_latest_run_is_explained_with_its_error(engine):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "classification")
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": "classification", "label_cols": ["label"]}))

    def failing(ctx):
        (run_dir / "progress.json").write_text(json.dumps({"status": "failed"}))
        raise ValueError("Column 'ring' has only one class; choose a column with at least two classes.")

    engine.store.update_state(sid, run_dir=str(run_dir))
    job = engine.manager.submit("train", sid, failing, run_dir=str(run_dir))
    engine.manager.wait(job.id, timeout=5)
    summary, *_ = results.show_results(engine, sid)
    assert summary == ("**Your latest run failed:** Column 'ring' has only one class; choose a column with at "
                       "least two classes. Earlier runs are in the **Runs** tab.")
    assert "is failed" not in summary


def test_a_failed_run_found_after_a_restart_reads_its_error_from_progress(engine):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "regression")
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": "regression", "label_cols": ["target"]}))
    (run_dir / "progress.json").write_text(json.dumps({"status": "failed", "error": "CUDA out of memory."}))
    engine.store.update_state(sid, run_dir=str(run_dir))
    summary, *_ = results.show_results(engine, sid)
    assert summary.startswith("**Your latest run failed:** CUDA out of memory. Earlier runs")


@pytest.mark.parametrize("n_epochs, dtick", [(3, 1), (12, 1), (50, 5), (200, 17)])
def test_long_runs_keep_the_epoch_axis_readable(n_epochs, dtick):
    from app import plots

    metrics = pd.DataFrame({"epoch": range(n_epochs), "train_loss": 1.0, "val_loss": 1.0, "val_accuracy": 0.5})
    for figure in (plots.loss_curves(metrics), plots.metric_curve(metrics)):
        assert figure.layout.xaxis.dtick == dtick
        assert n_epochs / figure.layout.xaxis.dtick <= 12


@pytest.mark.parametrize("index, value, message", [
    (3, 0, "'Epochs (at most)' is 0; it must be a whole number from 1 to 1000"),
    (4, None, "'Learning rate' is empty: enter from 1e-07 to 0.5"),
    (5, 5000, "'Batch size' is 5000; it must be a whole number from 1 to 1024"),
    (10, 2.0, "'Layer decay (full finetune)' is 2; it must be from 0.1 to 1"),
])
def test_out_of_range_settings_are_named(engine, make_catalog, index, value, message):
    sid = new_session_id()
    _load(engine, sid, make_catalog(n=8, size=32))
    task.use_task(engine, sid, "classification", ["label"])
    args = list(TRAIN_ARGS)
    args[index] = value
    with pytest.raises(gr.Error, match=re.escape(message)):
        train.start_training(engine, sid, *args)
    assert engine.store.run_dirs(sid) == []  # nothing half-made


def test_result_galleries_name_the_classes_when_the_run_has_names():
    config = {"label_cols": ["bar"], "class_names": ["none", "strong", "weak"]}
    metrics = {"accuracy": 0.5, "n": 2, "confusion_matrix": [[1, 0, 0], [0, 0, 0], [1, 0, 0]],
               "classes": ["none", "strong", "weak"], "precision": {}, "recall": {}}
    preds = pd.DataFrame({"id_str": ["a", "b"], "split": ["test", "test"], "bar": [0, 2],
                          "pred_class": [0, 0], "prob_0": [0.9, 0.8], "prob_1": [0.05, 0.1], "prob_2": [0.05, 0.1]})
    _, _, _, confident, wrong = results._classification(config, metrics, preds)
    assert list(confident["caption"]) == ["a · none (90%) · true none", "b · none (80%) · true weak"]
    assert list(wrong["caption"]) == ["b · none (80%) · true weak"]
    _, _, _, numbered, _ = results._classification({"label_cols": ["bar"]}, metrics, preds)
    assert numbered["caption"].iloc[1] == "b · 0 (80%) · true 2"


def test_the_predictions_table_shows_four_significant_digits_and_the_download_keeps_them_all(engine, make_catalog):
    sid = new_session_id()
    image = make_catalog(n=1, size=32).file_loc[0]
    run_dir = _finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": 0.5})
    preds = pd.read_csv(run_dir / "predictions.csv")
    preds["pred_target"] = 0.081043236459685 * (1 + np.arange(len(preds)))
    preds.to_csv(run_dir / "predictions.csv", index=False)
    outputs = results.show_results(engine, sid)
    table, downloads = outputs[5], outputs[6]
    assert table["pred_target"].iloc[0] == 0.08104 and table["pred_target"].iloc[1] == 0.1621
    parquet = next(f for f in downloads if f.endswith(".parquet"))
    assert pd.read_parquet(parquet)["pred_target"].iloc[0] == 0.081043236459685


def test_a_reload_shows_the_latest_runs_settings_not_the_defaults(engine, make_catalog, monkeypatch, tmp_path):
    import zoobot.config
    from app.main import encoder_dropdowns

    monkeypatch.setattr(zoobot.config, "run_finetune", lambda config, **kwargs: None)
    sid = new_session_id()
    assert train.restore_train_form(engine, sid) == (gr.skip(),) * 11  # no run yet: the defaults stay
    assert encoder_dropdowns(engine, sid)[0].value == "demo"
    _load(engine, sid, make_catalog(n=8, size=32))
    task.use_task(engine, sid, "classification", ["label"])
    # full finetuning at a learning rate the user chose (the head-only default)
    chosen = ("demo", "", "full", 7, 1e-3, 16, 48, 0.6, 0.2, 0.01, 0.5, 4, 11)
    train.start_training(engine, sid, *chosen)
    assert train.restore_train_form(engine, sid) == ("full", 7, 1e-3, 16, 48, 0.6, 0.2, 0.01, 0.5, 4, 11)
    dropdown, _, local_path = encoder_dropdowns(engine, sid)
    assert dropdown.value == "demo" and local_path == gr.skip()

    from zoobot.encoders import load_encoder, save_encoder

    folder = tmp_path / "my_encoder"
    save_encoder(*load_encoder("demo"), folder)
    engine.manager.wait(engine.manager.latest(sid, "train").id, timeout=30)
    train.start_training(engine, sid, "local", str(folder), *chosen[2:])
    dropdown, _, local_path = encoder_dropdowns(engine, sid)
    assert dropdown.value == train.LOCAL_ENCODER and local_path == str(folder.resolve())


def test_a_long_column_name_wraps_the_plot_title_instead_of_running_off_it():
    from app import plots

    fig = plots.label_distribution(pd.Series([0.1, 0.5, 0.9] * 10), "smooth-or-featured-dr5_featured-or-disk_fraction")
    lines = fig.layout.title.text.split("<br>")
    assert len(lines) > 1 and all(len(line) <= 50 for line in lines)
    assert "".join(lines).replace(" ", "") == "smooth-or-featured-dr5_featured-or-disk_fraction:30labelledgalaxies"
    assert fig.layout.margin.t > plots.empty_figure("").layout.margin.t  # room for the extra line
    assert plots.label_distribution(pd.Series([1, 2]), "bar").layout.title.text == "bar: 2 labelled galaxies"

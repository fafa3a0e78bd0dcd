"""The Train tab: its form shows zoobot's defaults, starting a run checks the session and the
settings (naming a field out of range) and keeps a copy of the catalog, the status poll follows the
job, and a reload shows the latest run's settings."""

from __future__ import annotations

import re
import threading
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from app_sessions import TRAIN_FORM, load_catalog, new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import task, train
from zoobot import defaults
from zoobot.runs import RunFolder


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


@pytest.fixture
def no_training(monkeypatch) -> threading.Event:
    """Runs start but do not train; the event is set when one would have."""
    import zoobot.runs

    started = threading.Event()
    monkeypatch.setattr(zoobot.runs, "run_finetune", lambda config, **kwargs: started.set())
    return started


def _ready(engine: Engine, make_catalog, **kwargs) -> str:
    """A session with a classification task on a small catalog."""
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=8, size=32, **kwargs))
    task.use_task(engine, sid, "classification", ["label"])
    return sid


def test_the_form_shows_zoobots_defaults_ranges_labels_and_help(engine):
    with gr.Blocks():
        ui = train.build_train_tab(engine, gr.BrowserState(None))
    for name in train.SETTINGS:
        setting = defaults.SETTINGS[name]
        assert ui[name].label == setting.label and ui[name].info == setting.help
    assert ui["patience"].value == defaults.PATIENCE == 10
    assert ui["max_epochs"].value == defaults.MAX_EPOCHS and ui["batch_size"].value == defaults.BATCH_SIZE
    assert ui["training_mode"].value == defaults.RUN_TRAINING_MODE == "head_only"
    assert ui["learning_rate"].value == defaults.learning_rate_for("head_only") == 1e-3
    assert ui["train_fraction"].value == defaults.TRAIN_FRACTION
    assert ui["val_fraction"].minimum > 0 and ui["val_fraction"].maximum < 1  # the open range (0, 1)


def test_training_without_data_or_task_is_refused(engine):
    with pytest.raises(gr.Error, match="Load a catalog"):
        train.start_training(engine, new_session_id(), **TRAIN_FORM)


def test_a_run_keeps_the_catalog_it_was_started_on(engine, make_catalog, no_training):
    from zoobot.catalog import read_catalog

    sid = _ready(engine, make_catalog, seed=1)
    first = engine.catalog(sid)
    train.start_training(engine, sid, **TRAIN_FORM)
    assert no_training.wait(30)
    folder = RunFolder(engine.state(sid).run_dir)

    load_catalog(engine, sid, make_catalog(n=5, size=32, seed=2))
    assert len(engine.catalog(sid)) == 5
    config = folder.read_config()
    assert Path(config.catalog) == folder.catalog_path
    kept = read_catalog(config.catalog)  # file_loc relative to the run folder, so that it can move
    assert list(kept["id_str"]) == list(first["id_str"])
    assert list(kept["file_loc"]) == list(first["file_loc"])
    assert not Path(pd.read_parquet(config.catalog)["file_loc"][0]).is_absolute()


def test_training_is_refused_while_the_data_tab_lists_problems(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=8, size=32)
    Path(catalog.file_loc[2]).unlink()
    load_catalog(engine, sid, catalog)
    task.use_task(engine, sid, "classification", ["label"])
    with pytest.raises(gr.Error, match="Fix the problems listed on the Data tab first: .*do not exist"):
        train.start_training(engine, sid, **TRAIN_FORM)
    assert engine.store.run_dirs(sid) == []


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("max_epochs", 0, "'Epochs (at most)' is 0; it must be a whole number from 1 to 1000"),
        ("learning_rate", None, "'Learning rate' is empty: enter above 0 and at most 0.5"),
        ("batch_size", 5000, "'Batch size' is 5000; it must be a whole number from 1 to 1024"),
        ("layer_decay", 2.0, "'Layer decay (full finetune)' is 2; it must be above 0 and at most 1"),
        ("patience", 0, "'Early-stopping patience (epochs)' is 0; it must be a whole number from 1 to 1000"),
    ],
)
def test_out_of_range_settings_are_named(engine, make_catalog, field, value, message):
    sid = _ready(engine, make_catalog)
    with pytest.raises(gr.Error, match=re.escape(message)):
        train.start_training(engine, sid, **{**TRAIN_FORM, field: value})
    assert engine.store.run_dirs(sid) == []  # nothing half-made


@pytest.mark.parametrize(
    "mode, now, expected",
    [
        ("full", 1e-3, 1e-4),
        ("head_only", 1e-4, 1e-3),
    ],
)
def test_the_learning_rate_follows_the_mode_while_it_is_a_default(mode, now, expected):
    assert train.learning_rate_for_mode(mode, now) == {"learning_rate": expected}
    assert expected == defaults.learning_rate_for(mode)


@pytest.mark.parametrize("mode, now", [("full", 3e-4), ("head_only", 5e-3), ("head_only", 1e-3), ("full", 1e-4)])
def test_a_learning_rate_the_user_chose_is_kept(mode, now):
    assert train.learning_rate_for_mode(mode, now) == {}


def test_a_reload_shows_the_latest_runs_settings_not_the_defaults(engine, make_catalog, no_training, tmp_path):
    from app.main import encoder_dropdowns

    sid = new_session_id()
    assert train.restore_train_form(engine, sid) == {}  # no run yet: the defaults stay
    assert encoder_dropdowns(engine, sid)["train.encoder"].value == "demo"
    load_catalog(engine, sid, make_catalog(n=8, size=32))
    task.use_task(engine, sid, "classification", ["label"])
    # full finetuning at a learning rate the user chose (the head-only default)
    chosen = dict(
        training_mode="full",
        max_epochs=7,
        learning_rate=1e-3,
        batch_size=16,
        image_size=48,
        train_fraction=0.6,
        val_fraction=0.2,
        weight_decay=0.01,
        layer_decay=0.5,
        patience=4,
        seed=11,
    )
    train.start_training(engine, sid, encoder="demo", local_path="", **chosen)
    assert train.restore_train_form(engine, sid) == chosen
    dropdowns = encoder_dropdowns(engine, sid)
    assert dropdowns["train.encoder"].value == "demo" and "train.local_path" not in dropdowns

    from zoobot.encoders import load_encoder, save_encoder

    folder = tmp_path / "my_encoder"
    save_encoder(*load_encoder("demo"), folder)
    engine.manager.wait(engine.manager.latest(sid, "train").id, timeout=30)
    train.start_training(engine, sid, encoder="local", local_path=str(folder), **chosen)
    dropdowns = encoder_dropdowns(engine, sid)
    assert dropdowns["train.encoder"].value == train.LOCAL_ENCODER
    assert dropdowns["train.local_path"] == str(folder.resolve())


def test_training_error_reaches_the_page_and_a_reload_reattaches(engine):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "classification")
    release = threading.Event()

    def failing(ctx):
        release.wait(10)
        raise ValueError("Column 'ring' has only one class; choose a column with at least two classes.")

    job = engine.manager.submit("train", sid, failing, run_dir=str(run_dir))
    assert "is starting" in train.poll_training(engine, sid, None)["status"]  # a fresh page finds the job
    release.set()
    engine.manager.wait(job.id, timeout=5)
    polled = train.poll_training(engine, sid, None)
    assert "failed" in polled["status"] and "only one class" in polled["status"]
    assert "failed" in polled["progress"] and polled["timer"].active is False


def test_queued_runs_show_their_position_and_can_be_cancelled(engine):
    first, second = new_session_id(), new_session_id()
    release = threading.Event()
    engine.manager.submit(
        "train", first, lambda ctx: release.wait(5), run_dir=str(engine.store.new_run_dir(first, "tree"))
    )
    engine.manager.submit("train", second, lambda ctx: None, run_dir=str(engine.store.new_run_dir(second, "tree")))
    polled = train.poll_training(engine, second, None)
    assert "position 1" in polled["progress"] and "waiting in the queue" in polled["status"]
    assert "Cancelled" in train.stop_training(engine, second)["status"]
    release.set()
    with pytest.raises(gr.Error, match="No run is queued"):
        train.stop_training(engine, second)


@pytest.mark.parametrize(
    "column, words",
    [
        ("val_accuracy", "validation accuracy"),
        ("val_rmse", "validation RMSE"),
        ("val_vote_fraction_mae", "validation vote-fraction error (mean absolute)"),
    ],
)
def test_the_validation_metric_plot_names_its_metric(engine, column, words):
    sid = new_session_id()
    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    folder.write_metrics(
        pd.DataFrame({"epoch": [0, 1], "train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9], column: [0.5, 0.6]})
    )
    engine.store.update_state(sid, run_dir=str(folder.path))
    layout = train.poll_training(engine, sid, None)["metric_plot"].to_dict()["layout"]
    assert words in layout["yaxis"]["title"]["text"]
    assert "V" + words[1:] in layout["title"]["text"]


def test_status_poll_redraws_the_curves_only_when_an_epoch_is_added(engine):
    sid = new_session_id()
    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    metrics = pd.DataFrame({"epoch": [0], "train_loss": [1.0], "val_loss": [1.1], "val_accuracy": [0.5]})
    folder.write_metrics(metrics)
    engine.store.update_state(sid, run_dir=str(folder.path))
    first = train.poll_training(engine, sid, None)
    assert set(first) <= set(train.POLL)
    assert first["loss_plot"] is not None and not isinstance(first["loss_plot"], dict)  # a figure, drawn
    again = train.poll_training(engine, sid, first["seen"])
    assert "loss_plot" not in again and "metric_plot" not in again  # left as they are
    folder.write_metrics(pd.concat([metrics, metrics.assign(epoch=1, val_loss=0.9)]))
    later = train.poll_training(engine, sid, again["seen"])
    assert len(later["loss_plot"].to_dict()["data"][0]["x"]) == 2


def test_after_stop_the_status_says_the_run_is_finishing_and_a_reload_opens_the_train_tab(engine):
    from app.main import on_load

    sid = new_session_id()
    release = threading.Event()
    job = engine.manager.submit(
        "train", sid, lambda ctx: release.wait(10), run_dir=str(engine.store.new_run_dir(sid, "classification"))
    )
    assert on_load(engine, sid)["tabs"].selected == "train"
    train.stop_training(engine, sid)
    assert "is finishing" in train.poll_training(engine, sid, None)["status"]
    release.set()
    engine.manager.wait(job.id, timeout=5)
    assert "tabs" not in on_load(engine, sid)

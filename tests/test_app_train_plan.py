"""The Train tab says what Start will train (task, target, galaxies and split, mode, time), trains the
choice the Task tab shows (applying it, or saying why it cannot), asks for a second click before a long
CPU run, and a reload keeps a choice not yet applied."""

from __future__ import annotations

import threading

import gradio as gr
import pytest
from app_sessions import TRAIN_FORM, load_catalog, new_engine

from app.engine import plan
from app.runs import new_session_id
from app.tabs import task, train, train_plan


@pytest.fixture
def no_training(monkeypatch) -> threading.Event:
    import zoobot.runs

    started = threading.Event()
    monkeypatch.setattr(zoobot.runs, "run_finetune", lambda config, **kwargs: started.set())
    return started


@pytest.fixture
def ready(tmp_path, make_catalog):
    """An engine and a session whose applied task is regression on ``label`` (8 galaxies)."""
    engine = new_engine(tmp_path)
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=8, size=32))
    task.use_task(engine, sid, "regression", ["label"])
    return engine, sid


def test_the_plan_names_task_target_split_mode_and_time(ready):
    engine, sid = ready
    text = train_plan.show_plan(engine, sid, "regression", ["label"], **TRAIN_FORM)["plan"]
    assert "**regression**" in text and "`label`" in text
    assert "**6** to train on, **1** to validate, **1** to test" in text and "all **8** get predictions" in text
    assert "head only" in text and "about" in text and "CPU" in text
    assert "not applied" not in text
    full = train_plan.show_plan(engine, sid, "regression", ["label"], **{**TRAIN_FORM, "training_mode": "full"})
    assert "full finetune" in full["plan"]


def test_a_choice_on_screen_not_applied_is_the_one_trained(ready, no_training):
    engine, sid = ready
    text = train_plan.show_plan(engine, sid, "classification", ["label"], **TRAIN_FORM)["plan"]
    assert "**classification**" in text and "not applied" in text
    started = train.start_training(engine, sid, **TRAIN_FORM, task="classification", label_cols=["label"])
    assert no_training.wait(30)
    assert "**classification**" in started["plan"] and "not applied" not in started["plan"]  # applied now
    assert engine.state(sid).task == "classification"
    from zoobot.runs import RunFolder

    assert RunFolder(engine.state(sid).run_dir).read_config().task == "classification"


def test_start_says_why_a_choice_on_screen_cannot_be_trained(ready):
    engine, sid = ready
    with pytest.raises(gr.Error, match="Task tab shows classification with no column chosen"):
        train.start_training(engine, sid, **TRAIN_FORM, task="classification", label_cols=[])
    with pytest.raises(gr.Error, match="not applied.*one column"):
        train.start_training(engine, sid, **TRAIN_FORM, task="classification", label_cols=["label", "file_loc"])
    assert engine.state(sid).task == "regression" and engine.manager.latest(sid, "train") is None


def test_a_long_cpu_run_starts_on_the_second_click(ready, no_training, monkeypatch):
    engine, sid = ready
    monkeypatch.setattr(plan, "LONG_CPU_RUN_S", 0.0)  # every run is "long" here
    first = train.start_training(engine, sid, **TRAIN_FORM)
    assert "Click **Start training** again" in first["status"] and engine.manager.latest(sid, "train") is None
    assert "long run for a CPU" in first["plan"]
    second = train.start_training(engine, sid, **TRAIN_FORM, confirmed=first["confirmed"])
    assert "started" in second["status"] and no_training.wait(30)


def test_a_reload_shows_the_choice_not_yet_applied(ready):
    engine, sid = ready
    task.remember_choice(engine, sid, "classification", ["label"])
    shown = task.suggest_task(engine, sid, prefer_saved=True)
    assert shown["task"].value == "classification" and "Not applied yet" in shown["status"]
    task.use_task(engine, sid, "classification", ["label"])
    shown = task.suggest_task(engine, sid, prefer_saved=True)
    assert shown["task"].value == "classification" and "Your choice" in shown["status"]


def test_without_a_catalog_the_plan_says_what_to_do_first(tmp_path):
    engine = new_engine(tmp_path)
    assert "Load a catalog" in train_plan.show_plan(engine, new_session_id(), **TRAIN_FORM)["plan"]


def test_a_busy_cpu_makes_the_estimate_longer(monkeypatch):
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (4.0 * (os.cpu_count() or 1), 0.0, 0.0))
    assert plan.cpu_busy_factor() == 5.0  # four processes waiting per core, and the run's own
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(os, "getloadavg", lambda: (2.0, 0.0, 0.0))
    assert plan.cpu_busy_factor() == 2.0  # two cores already busy: the run gets half of them
    monkeypatch.setattr(os, "getloadavg", lambda: (0.0, 0.0, 0.0))
    assert plan.cpu_busy_factor() == 1.0


@pytest.mark.parametrize("mode, more", [("head_only", False), ("full", True)])
def test_the_estimate_grows_with_epochs_only_for_a_full_finetune(mode, more):
    one = plan.estimate_seconds(0.01, 100, 70, 15, 15, mode, 1)
    ten = plan.estimate_seconds(0.01, 100, 70, 15, 15, mode, 10)
    assert (ten > one) == more

"""Handler tests of what a new user ran into: a run keeps its own catalog, training refuses a
catalog with must-fix problems, the results say what the numbers mean, a failed latest run is
explained, and the learning rate follows the training mode."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import gradio as gr
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

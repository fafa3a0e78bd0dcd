"""The hostile-visitor battery, load part (issue #20): one session's slow work does not hold
another's, queues are capped per session and in total, a queued job says where it stands and how
long it will likely wait, and a run over its time limit stops keeping its best weights. The
five-sessions-training page-poll measurement is ``benchmarks/hostile.py``."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import gradio as gr
import pytest
from app_sessions import TRAIN_FORM, load_catalog, new_engine

from app.common import wait_text
from app.engine import Engine
from app.jobs import JobContext, JobLimitError, JobManager
from app.limits import Limits
from app.runs import RunStore, new_session_id
from app.tabs import data, task, train


def _hold(release: threading.Event):
    def fn(ctx: JobContext) -> str:
        while not (release.is_set() or ctx.stop_event.is_set()):
            ctx.stop_event.wait(0.01)
        return "done"

    return fn


def test_a_slow_check_of_one_session_does_not_hold_anothers_small_one():
    manager = JobManager(capacity={"data": 2})
    release = threading.Event()
    slow = manager.submit("catalog", "a", _hold(release), lane="data")
    small = manager.submit("catalog", "b", lambda ctx: "small", lane="data")
    assert manager.wait(small.id, timeout=5).result == "small" and slow.status == "running"
    release.set()
    manager.wait(slow.id, timeout=5)


def test_a_session_queueing_many_jobs_takes_turns_with_the_others():
    manager = JobManager()
    release, order = threading.Event(), []

    def job(name):
        def fn(ctx):
            order.append(name)
            release.wait(5)

        return fn

    first = manager.submit("catalog", "a", job("a1"), lane="data")
    for name in ("a2", "a3"):
        manager.submit("catalog", "a", job(name), lane="data")
    last = manager.submit("catalog", "b", job("b1"), lane="data")
    release.set()
    manager.wait(last.id, timeout=5)
    manager.wait(first.id, timeout=5)
    assert order[:2] == ["a1", "b1"]


def test_the_engine_checks_two_catalogs_at_once_on_two_cores(tmp_path):
    engine = new_engine(tmp_path)
    assert engine.manager.capacity("data") == min(2, os.cpu_count() or 1)


def test_queues_are_capped_per_session_and_in_total():
    manager = JobManager(capacity={"train": 1})
    manager.set_limits(per_owner=2, queued=3, queued_per_lane={"train": 2})
    release = threading.Event()
    manager.submit("train", "a", _hold(release))
    manager.submit("umap", "a", _hold(release), lane="explore")
    with pytest.raises(JobLimitError, match="You already have 2 jobs queued or running"):
        manager.submit("catalog", "a", _hold(release), lane="data")
    manager.submit("train", "b", _hold(release))
    manager.submit("train", "c", _hold(release))
    with pytest.raises(JobLimitError, match="2 training runs are already waiting"):
        manager.submit("train", "d", _hold(release))
    manager.submit("umap", "d", _hold(release), lane="explore")  # explore's slot is busy: it waits
    with pytest.raises(JobLimitError, match="3 jobs are already waiting"):
        manager.submit("umap", "e", _hold(release), lane="explore")
    release.set()


def test_six_sessions_cannot_take_the_training_slot_for_days(tmp_path, make_catalog, monkeypatch):
    """The issue's case: one client minted six sessions and queued six 1000-epoch runs, all accepted."""
    import zoobot.runs

    release = threading.Event()
    monkeypatch.setattr(zoobot.runs, "run_finetune", lambda config, stop_event, **kw: stop_event.wait(10))
    engine = Engine(
        store=RunStore(tmp_path / "runs"), manager=JobManager(), hosted=False, limits=Limits.hosted(queued_runs=4)
    )
    catalog = make_catalog(n=8, size=16)
    sessions = [new_session_id() for _ in range(6)]
    refused = []
    for sid in sessions:
        load_catalog(engine, sid, catalog)
        task.use_task(engine, sid, "classification", ["label"])
        with pytest.raises(gr.Error, match="at most 50 epochs"):
            train.start_training(engine, sid, **{**TRAIN_FORM, "max_epochs": 1000})
        try:
            train.start_training(engine, sid, **TRAIN_FORM)
        except gr.Error as err:
            refused.append(str(err))
    assert len(refused) == 1 and "4 training runs are already waiting" in refused[0]
    assert engine.store.run_dirs(sessions[5]) == [] and engine.state(sessions[5]).run_dir is None
    queued = engine.manager.latest(sessions[4], "train")
    assert "position 4 in the queue" in train.poll_training(engine, sessions[4], None)["status"]
    assert queued.time_limit_s == 60 * 60
    for sid in sessions:
        job = engine.manager.latest(sid, "train")
        if job is not None and job.active:
            engine.manager.stop(job.id, owner=sid)
    release.set()


def test_a_queued_job_says_its_place_and_its_likely_wait():
    manager = JobManager(capacity={"train": 1})
    release = threading.Event()
    running = manager.submit("train", "a", _hold(release), remaining=lambda: 120.0)
    second = manager.submit("train", "b", _hold(release), expected_s=600, time_limit_s=300)
    third = manager.submit("train", "c", _hold(release), time_limit_s=3600)
    assert manager.estimated_wait(second.id) == pytest.approx(120, abs=1)
    assert manager.estimated_wait(third.id) == pytest.approx(420, abs=1)  # the second is cut at its time limit
    assert wait_text(manager, third) == "position 2 in the queue, about 7 min to wait"
    fourth = manager.submit("train", "d", _hold(release))  # expected as long as the running one takes in all
    assert manager.estimated_wait(fourth.id) == pytest.approx(420 + 120, abs=1)
    assert manager.estimated_wait(running.id) is None
    unknown = JobManager(capacity={"train": 1})
    unknown.submit("train", "a", _hold(release))
    waiting = unknown.submit("train", "b", _hold(release))
    assert wait_text(unknown, waiting) == "position 1 in the queue"
    release.set()


def test_a_waiting_catalog_check_shows_its_place(tmp_path, make_catalog):
    engine = new_engine(tmp_path)
    engine.manager.set_capacity("data", 1)
    release = threading.Event()
    engine.manager.submit("catalog", "someone", _hold(release), lane="data", expected_s=30)
    sid = new_session_id()
    catalog = make_catalog(n=4, size=16)
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    status = data.poll_catalog_job(engine, sid)["status"]
    assert "Waiting (position 1 in the queue, about a minute to wait)" in status
    release.set()


def test_a_run_over_its_time_limit_stops_and_keeps_its_best_weights(tmp_path, make_catalog, monkeypatch):
    import zoobot.runs

    def trains_until_stopped(config, stop_event, **kwargs):
        from types import SimpleNamespace

        from zoobot.runs import RunFolder

        assert stop_event.wait(10), "the time limit set the stop event"
        RunFolder(config.run_dir).write_progress(status="stopped", stage="done")
        return SimpleNamespace(status="stopped")

    monkeypatch.setattr(zoobot.runs, "run_finetune", trains_until_stopped)
    engine = Engine(store=RunStore(tmp_path / "runs"), manager=JobManager(), limits=Limits.local(run_minutes=0.005))
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=8, size=16))
    task.use_task(engine, sid, "classification", ["label"])
    train.start_training(engine, sid, **TRAIN_FORM)
    started = time.monotonic()
    job = engine.manager.wait(engine.manager.latest(sid, "train").id, timeout=20)
    assert job.status == "stopped" and job.timed_out and time.monotonic() - started < 10
    status = train.poll_training(engine, sid, None)["status"]
    assert "reached the time limit of 0.005 min" in status and "keeping its best weights" in status

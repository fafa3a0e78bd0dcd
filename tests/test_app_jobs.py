"""The app's job manager and run storage: queueing, stopping, errors, re-attaching after a reload."""

from __future__ import annotations

import json
import threading
from types import SimpleNamespace

import pytest

from app.jobs import JobContext, JobError, JobManager
from app.run_reading import read_metrics, read_progress, summarise_run
from app.runs import RunStore, SessionError, new_session_id


def _blocking_job(release: threading.Event):
    def fn(ctx: JobContext) -> str:
        while not (release.is_set() or ctx.stop_event.is_set()):
            ctx.stop_event.wait(0.01)
        return "stopped early" if ctx.stop_event.is_set() else "done"

    return fn


def test_one_training_job_per_device_and_the_rest_queue_in_order():
    manager = JobManager(capacity={"train": 1})
    release = threading.Event()
    first = manager.submit("train", "a", _blocking_job(release))
    second = manager.submit("train", "b", _blocking_job(release))
    third = manager.submit("train", "b", _blocking_job(release))
    assert first.status == "running"
    assert (second.status, third.status) == ("queued", "queued")
    assert manager.queue_position(second.id) == 1
    assert manager.queue_position(third.id) == 2
    release.set()
    for job in (first, second, third):
        assert manager.wait(job.id, timeout=5).status == "finished"
    assert third.result == "done"


def test_two_devices_run_two_jobs_on_different_slots():
    manager = JobManager(capacity={"train": 2})
    release = threading.Event()
    slots = []

    def fn(ctx):
        slots.append(ctx.slot)
        release.wait(5)

    jobs = [manager.submit("train", "a", fn) for _ in range(2)]
    assert [j.status for j in jobs] == ["running", "running"]
    release.set()
    for job in jobs:
        manager.wait(job.id, timeout=5)
    assert sorted(slots) == [0, 1]


def test_other_lanes_do_not_wait_behind_training():
    manager = JobManager()
    release = threading.Event()
    train = manager.submit("train", "a", _blocking_job(release))
    umap = manager.submit("umap", "a", lambda ctx: 42, lane="explore")
    assert manager.wait(umap.id, timeout=5).result == 42
    assert train.status == "running"
    release.set()
    manager.wait(train.id, timeout=5)


def test_cancel_a_queued_job_and_stop_a_running_one():
    manager = JobManager()
    release = threading.Event()
    running = manager.submit("train", "a", _blocking_job(release))
    queued = manager.submit("train", "a", _blocking_job(release))
    assert manager.stop(queued.id, owner="a").status == "cancelled"
    manager.stop(running.id, owner="a")
    assert manager.wait(running.id, timeout=5).status == "stopped"
    assert running.result == "stopped early"
    with pytest.raises(JobError, match="already ended"):
        manager.stop(running.id, owner="a")


def test_a_result_reporting_stopped_marks_the_job_stopped():
    manager = JobManager()
    job = manager.submit("train", "a", lambda ctx: SimpleNamespace(status="stopped"))
    assert manager.wait(job.id, timeout=5).status == "stopped"


def test_a_failing_job_keeps_its_message_and_frees_the_lane(caplog):
    manager = JobManager()

    def boom(ctx):
        raise ValueError("label column 'ring' has only one class; pick another column")

    failed = manager.submit("train", "a", boom)
    after = manager.submit("train", "a", lambda ctx: "ok")
    assert manager.wait(failed.id, timeout=5).status == "failed"
    assert "only one class" in failed.error
    assert manager.wait(after.id, timeout=5).result == "ok"
    # A user's mistake is logged as a warning with the page's words, not as a server error with a traceback.
    records = [r for r in caplog.records if r.name == "app.jobs.manager" and r.levelname != "DEBUG"]
    assert [r.levelname for r in records] == ["WARNING"] and "only one class" in records[0].getMessage()
    assert records[0].exc_info is None


def test_an_unexpected_job_failure_is_logged_as_an_error_with_its_traceback(caplog):
    manager = JobManager()

    def boom(ctx):
        raise KeyError("internal_column_name")

    failed = manager.submit("train", "a", boom)
    assert manager.wait(failed.id, timeout=5).status == "failed"
    assert "internal_column_name" not in failed.error
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert errors and errors[0].exc_info is not None and "internal_column_name" in caplog.text


def test_sessions_see_only_their_own_jobs_and_reattach_to_the_latest():
    manager = JobManager()
    mine_old = manager.submit("train", "me", lambda ctx: 1)
    manager.wait(mine_old.id, timeout=5)
    mine = manager.submit("train", "me", lambda ctx: 2)
    theirs = manager.submit("train", "them", lambda ctx: 3)
    assert manager.latest("me", "train").id == mine.id
    assert manager.get(theirs.id, owner="me") is None
    with pytest.raises(JobError, match="not known to this session"):
        manager.stop(theirs.id, owner="me")


def test_session_state_survives_a_new_store_on_the_same_folder(tmp_path):
    sid = new_session_id()
    RunStore(tmp_path).update_state(sid, task="tree", label_cols=["a", "b"])
    state = RunStore(tmp_path).load_state(sid)
    assert (state.task, state.label_cols) == ("tree", ["a", "b"])


def test_the_browser_secret_outlives_the_app_so_a_returning_browser_keeps_its_session(tmp_path):
    secret = RunStore(tmp_path).browser_secret()
    assert len(secret) == 64 and RunStore(tmp_path).browser_secret() == secret  # the app started again
    assert (tmp_path / RunStore.SECRET_FILE).stat().st_mode & 0o077 == 0  # readable by the app's user only
    assert RunStore(tmp_path / "elsewhere").browser_secret() != secret
    (tmp_path / RunStore.SECRET_FILE).write_text("")  # left empty by a crash
    assert len(RunStore(tmp_path).browser_secret()) == 64


@pytest.mark.parametrize("bad", ["../../etc", "", "abc", "0" * 31 + "/"])
def test_a_forged_session_id_is_refused(tmp_path, bad):
    with pytest.raises(SessionError, match="reload the page"):
        RunStore(tmp_path).session_dir(bad)


def test_runs_are_listed_per_session_and_interrupted_runs_say_so(tmp_path):
    store = RunStore(tmp_path)
    me, other = new_session_id(), new_session_id()
    mine = store.new_run_dir(me, "classification")
    (mine / "config.yaml").write_text("task: classification\nencoder: demo\n")
    (mine / "progress.json").write_text(json.dumps({"status": "running"}))
    (mine / "metrics.csv").write_text("epoch,train_loss,val_loss\n0,1.0,1.1\n")
    theirs = store.new_run_dir(other, "regression")
    (theirs / "config.yaml").write_text("task: regression\n")
    assert store.run_dirs(me) == [mine]
    assert set(store.run_dirs(None)) == {mine, theirs}
    assert not store.owns(me, theirs)
    assert summarise_run(mine, live=False).status == "interrupted"
    assert summarise_run(mine, live=True).status == "running"
    assert read_metrics(mine)["val_loss"].tolist() == [1.1]


def test_a_half_written_progress_file_reads_as_none(tmp_path):
    (tmp_path / "progress.json").write_text('{"status": "runn')
    assert read_progress(tmp_path) is None


def test_a_damaged_config_still_lists_the_run_and_reads_as_no_config(tmp_path):
    from app.run_reading import read_config, read_config_text

    (tmp_path / "config.yaml").write_text("task: [classification\n")
    (tmp_path / "progress.json").write_text(json.dumps({"status": "failed"}))
    assert read_config(tmp_path) is None
    assert read_config_text(tmp_path) == "task: [classification\n"
    summary = summarise_run(tmp_path)
    assert (summary.task, summary.status) == ("?", "failed")

"""The hostile-visitor battery, app part (issue #20): uploads, paths, sessions, faults and plain
errors. One visitor cannot step around the caps, a crash or a full disk loses nothing and breaks
nothing else, and no server path, errno text or library message reaches the page. Load and lanes
are in ``test_hostile_load.py``, HTML injection in ``test_hostile_html.py``."""

from __future__ import annotations

import errno
import json
import os
import time
import zipfile
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from app_sessions import TRAIN_FORM, finish_catalog_job, finished_run, load_catalog, new_engine
from hostile_files import cut_short

from app.cleanup import EXPORT_FILE, expire_idle_sessions, export_session
from app.engine import Engine
from app.errors import hide_server_paths, plain_text, user_message
from app.limits import Limits, env_name, flag_name, limit_fields, limits_table
from app.run_reading import summarise_run
from app.runs import FilesError, RunStore, new_session_id
from app.tabs import data, files, results, task, train
from app.uploads import UploadError, UploadLimits, store_upload
from zoobot.runs import RunFolder, write_atomic

SESSION = "0123456789abcdef0123456789abcdef"
SERVER_PATH = f"/srv/zoobot_runs/sessions/{SESSION}/uploads/upload_001/images/a.png"


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


@pytest.fixture
def hosted(tmp_path) -> Engine:
    return new_engine(tmp_path, hosted=True)


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def _upload_parts(make_catalog, tmp_path: Path, n: int = 6) -> tuple[Path, Path]:
    catalog = make_catalog(n=n, size=16)
    folder = Path(catalog.file_loc[0]).parent
    catalog["file_loc"] = [f"images/{Path(p).name}" for p in catalog.file_loc]
    csv = tmp_path / "cat.csv"
    catalog.to_csv(csv, index=False)
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            out.write(path, f"images/{path.name}")
    return csv, archive


# --- uploads ------------------------------------------------------------------------------------


def test_three_zips_under_the_cap_each_are_refused_together(tmp_path):
    zips = [
        _zip(tmp_path / f"part{i}.zip", {f"p{i}/img{j}.png": b"0" * 400_000 for j in range(10)}) for i in range(3)
    ]  # 4 MB unpacked each, 12 MB together
    catalog = tmp_path / "c.csv"
    catalog.write_text("id_str,file_loc\n")
    with pytest.raises(UploadError, match="12 MB unpacked; at most 10 MB"):
        store_upload(catalog, zips, tmp_path / "up", UploadLimits(max_mb=10))
    assert not list(tmp_path.glob("*up*"))


def test_a_session_cannot_upload_past_its_room(tmp_path, make_catalog):
    engine = Engine(
        store=RunStore(tmp_path / "runs"), manager=new_engine(tmp_path).manager, limits=Limits.local(session_mb=0.05)
    )
    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    data.load_upload(engine, sid, str(csv), [str(archive)])
    finish_catalog_job(engine, sid)
    with pytest.raises(gr.Error, match="room left") as caught:
        for _ in range(20):
            data.load_upload(engine, sid, str(csv), [str(archive)])
    assert "Delete uploads" in str(caught.value)
    uploads = engine.store.uploads_dir(sid)
    assert not [p for p in uploads.iterdir() if p.name.startswith(".")]  # nothing half-written stays


def test_an_upload_cut_by_a_full_disk_leaves_nothing_and_says_so_plainly(engine, make_catalog, tmp_path, monkeypatch):
    import app.uploads

    def full(src, out, budget, limits):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))

    monkeypatch.setattr(app.uploads, "_copy_within", full)
    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    with pytest.raises(gr.Error, match="disk is full") as caught:
        data.load_upload(engine, sid, str(csv), [str(archive)])
    assert "Errno" not in str(caught.value) and str(tmp_path) not in str(caught.value)
    assert list(engine.store.uploads_dir(sid).iterdir()) == []


@pytest.mark.parametrize(
    "members, words",
    [
        ({"a": b"x", "a/b.png": b"y"}, "both a file and a folder"),
        ({"x" * 300 + ".png": b"y"}, "too long"),
        ({"../../etc/evil.png": b"y"}, "outside the archive"),
    ],
)
def test_zips_with_clashing_long_or_escaping_names_are_refused_in_plain_words(tmp_path, members, words):
    archive = _zip(tmp_path / "bad.zip", members)
    catalog = tmp_path / "c.csv"
    catalog.write_text("id_str,file_loc\n")
    with pytest.raises(UploadError, match=words) as caught:
        store_upload(catalog, [archive], tmp_path / "up", UploadLimits())
    assert "Errno" not in str(caught.value)
    assert not [p for p in tmp_path.iterdir() if "up" in p.name]


def test_a_zip_holding_a_link_is_refused(tmp_path):
    archive = tmp_path / "link.zip"
    with zipfile.ZipFile(archive, "w") as out:
        info = zipfile.ZipInfo("images/passwd.png")
        info.external_attr = 0o120777 << 16
        out.writestr(info, "/etc/passwd")
    with pytest.raises(UploadError, match="link"):
        store_upload(None, [archive], tmp_path / "up", UploadLimits())


# --- paths (hosted) -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["", "x" * 300 + ".png", "/etc/passwd"])
def test_blank_long_or_outside_file_locs_in_a_hosted_upload_are_named_plainly(hosted, make_catalog, tmp_path, bad):
    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    catalog = pd.read_csv(csv)
    catalog.loc[1, "file_loc"] = bad
    catalog.to_csv(csv, index=False)
    data.load_upload(hosted, sid, str(csv), [str(archive)])
    shown = finish_catalog_job(hosted, sid)
    text = shown["status"] + shown["problems"]
    if bad == "/etc/passwd":
        assert "outside your uploaded files" in text
    else:
        assert "**5** found, **1** missing" in text
    for leak in ("Errno", "expected str", "PathLike", str(hosted.store.root), "sessions/"):
        assert leak not in text


def test_a_hosted_upload_with_an_image_over_the_pixel_cap_names_the_row_and_the_way_out(hosted, make_catalog, tmp_path):
    from hostile_files import png_header

    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    with zipfile.ZipFile(archive, "a") as out:
        out.write(png_header(tmp_path / "huge.png", 3000, 3000), "images/huge.png")
    catalog = pd.read_csv(csv)
    catalog.loc[2, "file_loc"] = "images/huge.png"
    catalog.to_csv(csv, index=False)
    data.load_upload(hosted, sid, str(csv), [str(archive)])
    shown = finish_catalog_job(hosted, sid)
    assert "9,000,000 pixels" not in shown["problems"] and "more than 4,000,000 pixels" in shown["problems"]
    assert "gal_00002" in shown["problems"] and "own computer" in shown["status"]


# --- sessions -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "damage", ['{"catalog_path": "/x", "task": "tree", "label_c', "[1, 2]", '{"label_cols": "not a list"}', "\x00\xff"]
)
def test_a_damaged_session_file_starts_afresh_and_keeps_the_files(engine, damage):
    sid = new_session_id()
    folder = engine.store.session_dir(sid)
    run = engine.store.new_run_dir(sid, "classification")
    (folder / "session.json").write_text(damage)
    assert engine.state(sid).task is None
    assert (folder / "session.json.damaged").read_text() == damage and run.is_dir()
    engine.store.update_state(sid, task="regression")
    assert engine.state(sid).task == "regression"


def test_a_session_deletes_its_uploads_and_runs_but_not_anothers(hosted, make_catalog, tmp_path):
    me, other = new_session_id(), new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    data.load_upload(hosted, me, str(csv), [str(archive)])
    finish_catalog_job(hosted, me)
    image = next(hosted.store.uploads_dir(me).rglob("*.png"))
    mine = finished_run(hosted, me, str(image), "classification", {"accuracy": 0.5})
    theirs = finished_run(hosted, other, str(image), "classification", {"accuracy": 0.5})
    with pytest.raises(FilesError, match="not one of yours"):
        hosted.store.delete_run(me, theirs.path)
    with pytest.raises(FilesError, match="still queued or training"):
        hosted.store.delete_run(me, mine.path, busy={str(mine.path)})
    hosted.store.delete_run(me, mine.path)
    assert not mine.path.exists() and theirs.path.is_dir() and hosted.state(me).run_dir is None
    shown = files.delete_uploads(hosted, me)
    assert "deleted" in shown["status"] and list(hosted.store.uploads_dir(me).iterdir()) == []
    assert hosted.check(me) is None and hosted.state(me).catalog_path is None


def test_download_everything_zips_uploads_and_runs_without_checkpoints(engine, make_catalog, tmp_path):
    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path)
    data.load_upload(engine, sid, str(csv), [str(archive)])
    finish_catalog_job(engine, sid)
    run = finished_run(engine, sid, "x.png", "classification", {"accuracy": 0.5})
    run.checkpoints_dir.mkdir()
    (run.checkpoints_dir / "epoch=0.ckpt").write_bytes(b"big")
    zipped = Path(files.download_everything(engine, sid)["archive"])
    assert zipped.name == EXPORT_FILE
    names = zipfile.ZipFile(zipped).namelist()
    assert "uploads/upload_001/cat.csv" in names and f"runs/{run.name}/predictions.csv" in names
    assert not any("checkpoints" in n or n.startswith(".") for n in names)
    assert export_session(engine.store, sid) == zipped


def test_idle_sessions_expire_with_their_files_but_busy_and_recent_ones_stay(tmp_path):
    engine = new_engine(tmp_path)
    engine.limits = Limits.hosted(session_hours=1)
    old, busy, recent = (new_session_id() for _ in range(3))
    for sid in (old, busy, recent):
        engine.store.new_run_dir(sid, "tree")
    hours_ago = time.time() - 2 * 3600
    for sid in (old, busy):
        os.utime(engine.store.root / "sessions" / sid, (hours_ago, hours_ago))
        engine.store._seen.pop(sid, None)
    engine.manager.submit("umap", busy, lambda ctx: ctx.stop_event.wait(5), lane="explore")
    assert expire_idle_sessions(engine) == [old]
    assert {p.name for p in (engine.store.root / "sessions").iterdir()} == {busy, recent}
    assert "deleted **1 hours after your last visit**" in files.show_files(engine, recent)["note"]


# --- faults -------------------------------------------------------------------------------------


def test_a_config_cut_short_lists_that_run_as_unreadable_and_the_rest_as_usual(engine):
    from app.tabs.runs import list_runs

    sid = new_session_id()
    good = finished_run(engine, sid, "x.png", "classification", {"accuracy": 0.75})
    cut = finished_run(engine, sid, "x.png", "classification", {"accuracy": 0.5})
    cut.config_path.write_text(cut.config_path.read_text()[:3])
    listed = {row["name"]: row for _, row in list_runs(engine, sid)["table"].iterrows()}
    assert listed[good.name]["status"] == "finished" and listed[good.name]["headline"] == "accuracy 75.0%"
    assert listed[cut.name]["status"] == "unreadable" and "config.yaml is damaged" in listed[cut.name]["headline"]


@pytest.mark.parametrize("keep", [0.05, 0.3, 0.6, 0.95])
def test_predictions_cut_short_show_what_they_can_never_a_pandas_error(engine, keep):
    sid = new_session_id()
    run = finished_run(
        engine,
        sid,
        "x.png",
        "classification",
        {"accuracy": 0.5, "confusion_matrix": [[1, 0], [0, 1]], "classes": ["label_0", "label_1"]},
    )
    cut_short(run.predictions_path, run.predictions_path, keep=keep)
    summary = results.show_results(engine, sid)["summary"]  # a pop-up would raise gr.Error here
    for raw in ("convert", "NaN", "Traceback", "KeyError", "dtype"):
        assert raw not in summary


def test_predictions_edited_by_hand_are_shown_as_damaged(engine):
    sid = new_session_id()
    run = finished_run(
        engine,
        sid,
        "x.png",
        "classification",
        {"accuracy": 0.5, "confusion_matrix": [[1, 0], [0, 1]], "classes": ["label_0", "label_1"]},
    )
    predictions = run.read_predictions()
    predictions["label_0"] = "high"  # a probability column holding text
    run.write_predictions(predictions)
    summary = results.show_results(engine, sid)["summary"]
    assert "are damaged (cut short or edited)" in summary and "format" not in summary


def test_damaged_test_metrics_list_the_run_as_unreadable(engine):
    run = finished_run(engine, new_session_id(), "x.png", "classification", {"accuracy": 0.5})
    run.test_metrics_path.write_text('{"accuracy": 0.')
    summary = summarise_run(run.path)
    assert summary.status == "unreadable" and "test_metrics.json" in summary.headline


def test_a_run_failing_on_a_full_disk_is_listed_as_failed_in_plain_words(engine, make_catalog, monkeypatch):
    import zoobot.runs
    import zoobot.runs.folder

    def fill_the_disk(config, **kwargs):
        folder = RunFolder(config.run_dir)
        folder.write_progress(status="running", stage="training")

        def no_space(path, data):
            raise OSError(errno.ENOSPC, "No space left on device", str(path))

        monkeypatch.setattr(zoobot.runs.folder, "write_atomic", no_space)
        folder.write_predictions(pd.DataFrame({"id_str": ["a"]}))

    monkeypatch.setattr(zoobot.runs, "run_finetune", fill_the_disk)
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=8, size=16))
    task.use_task(engine, sid, "classification", ["label"])
    train.start_training(engine, sid, **TRAIN_FORM)
    job = engine.manager.wait(engine.manager.latest(sid, "train").id, timeout=60)
    assert job.status == "failed" and "disk is full" in job.error
    polled = train.poll_training(engine, sid, None)["status"]
    assert "disk is full" in polled and "Errno" not in polled
    restarted = new_engine(engine.store.root.parent)  # the app restarted: only the files tell
    summary = summarise_run(restarted.store.run_dirs(sid)[0])
    assert summary.status == "failed" and "disk is full" in summary.headline and "Errno" not in summary.headline


def test_a_writer_killed_mid_write_leaves_the_previous_file(tmp_path):
    target = write_atomic(tmp_path / "config.yaml", "task: tree\n")

    class Killed(Exception):
        pass

    from zoobot.runs import atomic_path

    with pytest.raises(Killed), atomic_path(target) as tmp:
        tmp.write_text("ta")
        raise Killed
    assert target.read_text() == "task: tree\n" and [p.name for p in tmp_path.iterdir()] == ["config.yaml"]


def test_a_damaged_working_catalog_asks_to_load_it_again(engine, make_catalog):
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=6, size=16))
    path = engine.store.catalog_path(sid)
    cut_short(path, path, keep=0.3)
    engine.forget_catalog(sid)
    shown = task.suggest_task(engine, sid)
    assert "Data" in shown["status"] or "damaged" in shown["status"]
    with pytest.raises(gr.Error, match="damaged; load the catalog again"):
        task.use_task(engine, sid, "classification", ["label"])


# --- plain errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number, words",
    [
        (errno.ENAMETOOLONG, "name is too long"),
        (errno.EEXIST, "already there"),
        (errno.ENOSPC, "disk is full"),
        (errno.EACCES, "may not read or write"),
    ],
)
def test_os_errors_become_plain_words_without_paths_or_errno(number, words):
    message = user_message(OSError(number, os.strerror(number), SERVER_PATH))
    assert words in message and "Errno" not in message and "/srv" not in message


def test_stored_and_library_messages_lose_the_servers_folders():
    assert plain_text(f"[Errno 28] No space left on device: '{SERVER_PATH}'").startswith("the server's disk is full")
    assert hide_server_paths(f"Could not read {SERVER_PATH}: cut short") == "Could not read images/a.png: cut short"
    run = f"/srv/runs/sessions/{SESSION}/runs/20250101-tree-1a2b/predictions.csv"
    assert hide_server_paths(run) == "20250101-tree-1a2b/predictions.csv"
    assert hide_server_paths("/tmp/gradio/0123456789abcdef0123/cat.csv") == "cat.csv"
    assert "weights_only" not in plain_text("\x1b[1mWeights only load failed\x1b[0m ... weights_only=False ...")


def test_an_unexpected_error_is_logged_and_shown_without_its_text(caplog):
    message = user_message(KeyError("internal_column_name"))
    assert "did not expect" in message and "internal_column_name" not in message
    assert "internal_column_name" in caplog.text
    assert "Cannot convert" not in user_message(pd.errors.IntCastingNaNError("Cannot convert non-finite values"))


# --- limits -------------------------------------------------------------------------------------


def test_limits_come_from_flags_then_variables_then_the_modes_defaults():
    env = {env_name("run_minutes"): "30", env_name("catalog_rows"): "0"}
    limits = Limits.from_options(True, {"max_epochs": 5}, env=env)
    assert (limits.max_epochs, limits.run_minutes, limits.catalog_rows) == (5, 30, None)
    assert Limits.local().run_minutes is None and Limits.hosted().run_minutes == 60
    assert "own computer" in Limits.hosted().advice and "zoobot-app --help" in Limits.local().advice
    with pytest.raises(ValueError, match="cannot be negative"):
        Limits.from_options(True, {"classes": -1}, env={})
    with pytest.raises(ValueError, match="not a number"):
        Limits.from_options(True, env={env_name("classes"): "many"})


def test_every_limit_is_a_zoobot_app_flag_and_in_the_readme():
    from app.main import main

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert limits_table() in readme
    with pytest.raises(SystemExit):
        main(["--max-run-minutes", "-3", "--hosted"])
    for field in limit_fields():
        assert f"`{flag_name(field.name)}`" in readme


def test_a_hosted_run_asking_too_many_epochs_is_refused_with_the_way_out(hosted, make_catalog, tmp_path):
    sid = new_session_id()
    csv, archive = _upload_parts(make_catalog, tmp_path, n=8)
    data.load_upload(hosted, sid, str(csv), [str(archive)])
    finish_catalog_job(hosted, sid)
    task.use_task(hosted, sid, "classification", ["label"])
    with pytest.raises(gr.Error, match="at most 50 epochs are allowed here.*own computer"):
        train.start_training(hosted, sid, **{**TRAIN_FORM, "max_epochs": 1000})


def test_a_catalog_over_the_row_cap_is_refused_with_the_way_out(tmp_path, make_catalog):
    engine = Engine(
        store=RunStore(tmp_path / "runs"),
        manager=new_engine(tmp_path).manager,
        hosted=False,
        limits=Limits.hosted(catalog_rows=5),
    )
    sid = new_session_id()
    shown = load_catalog(engine, sid, make_catalog(n=8, size=16))
    assert "more than 5 rows" in shown["status"] and "own computer" in shown["status"]


def test_a_flood_of_anonymous_uploads_is_trimmed_oldest_first(tmp_path):
    from app.cleanup import trim_cache

    cache = tmp_path / "gradio"
    for i in range(5):
        path = cache / f"hash{i}" / "upload.bin"
        path.parent.mkdir(parents=True)
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1000 + i, 1000 + i))
    assert trim_cache(cache, 2500) == 3000
    assert sorted(p.name for p in cache.iterdir()) == ["hash3", "hash4"]
    (cache / "new").mkdir()
    (cache / "new" / "upload.bin").write_bytes(b"x" * 5000)  # just received: kept, though over the cap
    assert trim_cache(cache, 0) == 2000 and [p.name for p in cache.iterdir()] == ["new"]


def test_the_gradio_cache_expires(tmp_path):
    from app.main import build_app

    demo = build_app(tmp_path / "runs", hosted=True)
    assert demo.delete_cache == (5400, 6 * 3600)
    assert json.dumps(demo.delete_cache)

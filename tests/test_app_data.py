"""The Data tab's handlers: loading the demo survey, an upload or a catalog on disk, what is shown
about it, and one-click fixes. Each bad input gets a plain-words message."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from app_sessions import finish_catalog_job, load_catalog, new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import data


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


@pytest.fixture
def hosted_engine(tmp_path) -> Engine:
    return new_engine(tmp_path, hosted=True)


def _zip_folder(folder: Path, target: Path, prefix: str = "") -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in folder.rglob("*"):
            if path.is_file():
                archive.write(path, prefix + str(path.relative_to(folder)))
    return target


def _relative_upload(make_catalog, tmp_path: Path, **kwargs) -> tuple[Path, Path]:
    """A catalog CSV with relative file_loc and a zip of its images folder."""
    catalog = make_catalog(**kwargs)
    root = Path(catalog.file_loc[0]).parent.parent
    catalog["file_loc"] = [f"images/{Path(p).name}" for p in catalog.file_loc]
    csv = tmp_path / "my_catalog.csv"
    catalog.to_csv(csv, index=False)
    return csv, _zip_folder(root / "images", tmp_path / "images.zip", prefix="images/")


def test_every_data_view_name_is_shown_by_the_tab(engine):
    shown = data.show_catalog(engine, new_session_id())
    assert tuple(shown) == data.VIEW


def test_upload_with_relative_paths_loads_and_shows_counts(engine, make_catalog, tmp_path):
    sid = new_session_id()
    csv, archive = _relative_upload(make_catalog, tmp_path, n=12, size=32)
    started = data.load_upload(engine, sid, str(csv), [str(archive)])
    assert "Checking my_catalog.csv" in started["status"] and started["timer"].active
    shown = finish_catalog_job(engine, sid)
    assert "**12** galaxies" in shown["status"] and "**12** found" in shown["status"]
    assert "No problems" in shown["problems"]
    assert shown["fix_choice"].visible is False and shown["fix_button"].visible is False


def test_missing_images_are_reported_and_fixed_in_one_click(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=10, size=32)
    Path(catalog.file_loc[3]).unlink()
    shown = load_catalog(engine, sid, catalog)
    assert "**1** missing" in shown["status"]
    assert shown["fix_choice"].visible and shown["fix_button"].visible
    assert any("remove the affected rows" in label.lower() for label, _ in shown["fix_choice"].choices)
    data.apply_data_fix(engine, sid, shown["fix_choice"].value)
    shown = finish_catalog_job(engine, sid)
    assert "**9** galaxies" in shown["status"] and "**0** missing" in shown["status"]
    assert shown["fix_button"].visible is False


def test_a_catalog_that_is_not_a_table_is_refused_in_plain_words(engine, tmp_path):
    sid = new_session_id()
    bad = tmp_path / "catalog.csv"
    bad.write_bytes(b"\x00\x01\x02 not,a\ncsv\x00")
    data.load_upload(engine, sid, str(bad), [])
    summary = finish_catalog_job(engine, sid)["status"]
    assert summary.startswith("**Could not load the catalog.**") and "No catalog is loaded yet." in summary
    shown = data.load_path(engine, sid, str(tmp_path / "nowhere.csv"))
    assert "There is no file at" in shown["status"] and "nowhere.csv" in shown["status"]
    assert shown["timer"].active is False


def test_an_upload_that_is_not_an_archive_is_refused(engine, tmp_path):
    catalog = tmp_path / "cat.csv"
    catalog.write_text("id_str,file_loc\na,a.png\n")
    not_zip = tmp_path / "images.zip"
    not_zip.write_text("hello")
    with pytest.raises(gr.Error, match="not a zip archive"):
        data.load_upload(engine, new_session_id(), str(catalog), [str(not_zip)])


def test_a_zip_slip_member_is_refused(engine, tmp_path):
    catalog = tmp_path / "cat.csv"
    catalog.write_text("id_str,file_loc\na,a.png\n")
    archive = tmp_path / "images.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("../../outside.png", b"x")
    with pytest.raises(gr.Error, match="outside the archive"):
        data.load_upload(engine, new_session_id(), str(catalog), [str(archive)])
    assert not (tmp_path / "outside.png").exists()


def test_hosted_mode_refuses_server_paths_and_escaping_file_locs(hosted_engine, make_catalog, tmp_path):
    sid = new_session_id()
    with pytest.raises(gr.Error, match="cannot read files on the server"):
        data.load_path(hosted_engine, sid, "/etc/passwd")
    catalog = make_catalog(n=4, size=32)  # absolute file_loc outside the upload folder
    csv = tmp_path / "absolute.csv"
    catalog.to_csv(csv, index=False)
    data.load_upload(hosted_engine, sid, str(csv), [])
    assert "point outside your uploaded files" in finish_catalog_job(hosted_engine, sid)["status"]


def test_gallery_captions_are_short_and_carry_the_label(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32)
    catalog["id_str"] = [f"synthetic-0-{i:06d}" for i in range(6)]
    catalog.to_csv(Path(catalog.file_loc[0]).parent.parent / "catalog.csv", index=False)
    gallery = load_catalog(engine, sid, catalog)["gallery"]
    assert [caption for _, caption in gallery][:2] == ["…000000 · label 0", "…000001 · label 1"]


@pytest.mark.parametrize("written_as", ["/home/me/cutouts/{name}", "C:\\Users\\me\\cutouts\\{name}", "images/{name}"])
def test_loose_image_files_are_matched_to_file_loc_by_name(engine, make_catalog, tmp_path, written_as):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32)
    images = list(catalog.file_loc)
    catalog["file_loc"] = [written_as.format(name=Path(p).name) for p in images]
    csv = tmp_path / "from_my_laptop.csv"
    catalog.to_csv(csv, index=False)
    data.load_upload(engine, sid, str(csv), images)
    summary = finish_catalog_job(engine, sid)["status"]
    assert "**6** found" in summary and "**0** missing" in summary


def test_a_zip_with_other_folders_than_file_loc_is_matched(engine, make_catalog, tmp_path):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32)
    root = Path(catalog.file_loc[0]).parent.parent
    catalog["file_loc"] = [f"/data/survey/png/{Path(p).name}" for p in catalog.file_loc]
    csv = tmp_path / "cat.csv"
    catalog.to_csv(csv, index=False)
    archive = _zip_folder(root / "images", tmp_path / "cutouts.zip", prefix="export/cutouts/")
    data.load_upload(engine, sid, str(csv), [str(archive)])
    assert "**6** found" in finish_catalog_job(engine, sid)["status"]


def test_a_file_name_found_twice_in_the_upload_is_explained(engine, make_catalog, tmp_path):
    sid = new_session_id()
    catalog = make_catalog(n=2, size=32)
    root = Path(catalog.file_loc[0]).parent.parent
    catalog["file_loc"] = [Path(p).name for p in catalog.file_loc]
    csv = tmp_path / "cat.csv"
    catalog.to_csv(csv, index=False)
    archive = tmp_path / "two_nights.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for night in ("night1", "night2"):
            for p in (root / "images").iterdir():
                z.write(p, f"{night}/{p.name}")
    data.load_upload(engine, sid, str(csv), [str(archive)])
    summary = finish_catalog_job(engine, sid)["status"]
    assert "Could not load the catalog" in summary
    assert "could be more than one uploaded image" in summary and "night1/gal_00000.png" in summary


def test_a_failed_load_says_the_previous_catalog_is_still_in_use(engine, make_catalog, tmp_path):
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=6))
    empty = tmp_path / "labels.csv"
    empty.write_text("")
    data.load_path(engine, sid, str(empty))
    summary = finish_catalog_job(engine, sid)["status"]
    assert summary.startswith("**Could not load the catalog.**") and "empty" in summary
    assert "**catalog.csv** (below) is still the one in use." in summary


def test_refusals_stay_on_screen_until_closed(engine):
    with pytest.raises(gr.Error) as refused:
        data.load_path(engine, new_session_id(), "   ")
    assert refused.value.duration is None and "Type the path" in refused.value.message


def test_a_catalog_without_file_loc_gets_its_columns_picked(engine, make_catalog, tmp_path):
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=4))  # an earlier catalog, with no problems
    csv, archive = _relative_upload(make_catalog, tmp_path, n=6, size=32)
    table = pd.read_csv(csv)
    table.rename(columns={"file_loc": "filename", "id_str": "objid"}).to_csv(csv, index=False)
    data.load_upload(engine, sid, str(csv), [str(archive)])
    shown = finish_catalog_job(engine, sid)
    assert "Pick the column" in shown["status"] and "'filename' looks like it" in shown["status"]
    assert shown["status"].startswith("**Which columns?**")
    assert shown["problems"] == ""  # not the earlier catalog's "No problems found." under this error
    assert shown["mapping"].visible is True
    assert shown["image_column"].value == "filename" and shown["id_column"].value == "objid"
    started = data.use_columns(engine, sid, "filename", "objid")
    assert started["timer"].active
    shown = finish_catalog_job(engine, sid)
    assert "**6** galaxies" in shown["status"] and "**6** found" in shown["status"]
    assert shown["mapping"].visible is False
    assert sorted(engine.catalog(sid)["id_str"]) == sorted(table["id_str"])


def test_missing_images_are_named_by_their_path_in_the_upload(engine, make_catalog, tmp_path):
    sid = new_session_id()
    csv, archive = _relative_upload(make_catalog, tmp_path, n=4, size=32)
    table = pd.read_csv(csv)
    table.loc[0, "file_loc"] = "images/not_uploaded.png"
    table.to_csv(csv, index=False)
    data.load_upload(engine, sid, str(csv), [str(archive)])
    shown = finish_catalog_job(engine, sid)
    assert "`images/not_uploaded.png`" in shown["status"]
    assert str(engine.store.root) not in shown["status"] + shown["problems"]


def test_the_data_tab_offers_a_template_catalog_that_reads_back():
    from app.tabs.data import template_download, template_help
    from zoobot.catalog import TEMPLATE_COLUMNS, read_catalog

    path = Path(template_download()["template_file"])
    catalog = read_catalog(path, resolve_paths=False)
    assert list(catalog.columns) == list(TEMPLATE_COLUMNS) and len(catalog) == 5
    assert catalog["id_str"].is_unique and catalog["ring"].isna().sum() == 1  # one galaxy left to predict
    help_text = template_help()
    assert all(name in help_text for name in TEMPLATE_COLUMNS) and "file_loc" in help_text


DEMO = (6, 32)
"""A demo survey small enough to draw in a test: galaxies, image side in pixels."""


def test_a_reload_while_the_demo_survey_is_drawn_shows_its_progress_then_the_survey(engine, monkeypatch):
    import zoobot.survey.writer as writer
    from app.main import on_load

    engine.demo_survey = DEMO
    go_on, render = threading.Event(), writer.render_galaxy

    def render_two_then_wait(params, size, rng):
        if len(list(engine.store.cache_dir("demo_survey_6_32").glob("images/*.png"))) == 2:
            go_on.wait(timeout=30)
        return render(params, size, rng)

    monkeypatch.setattr(writer, "render_galaxy", render_two_then_wait)
    sid = new_session_id()
    data.load_demo(engine, sid)
    job = engine.manager.latest(sid, "catalog")
    for _ in range(3000):  # until two galaxies are drawn (at most a minute)
        if "2 of 6" in job.message:
            break
        assert job.active, job.error
        time.sleep(0.02)
    reloaded = on_load(engine, sid)  # the page reloaded (or opened again) mid-drawing
    assert reloaded["tabs"].selected == "data" and reloaded["data.timer"].active
    assert reloaded["data.status"].startswith("Working: Drawing synthetic galaxies: 2 of 6")
    assert engine.state(sid).demo_pending
    go_on.set()
    shown = finish_catalog_job(engine, sid)
    assert "### demo survey" in shown["status"] and "**6** galaxies" in shown["status"]
    assert not engine.state(sid).demo_pending and "tabs" not in on_load(engine, sid)


def test_a_demo_drawing_the_app_stopped_in_is_finished_on_return_not_taken_as_whole(tmp_path, monkeypatch):
    import zoobot.survey.writer as writer

    sid = new_session_id()
    killed_after_three = (
        "import os, signal, sys\n"
        "from pathlib import Path\n"
        "import zoobot.survey.writer as writer\n"
        "from app.engine import Engine\n"
        "from app.jobs import JobManager\n"
        "from app.runs import RunStore\n"
        "drawn, render = [], writer.render_galaxy\n"
        "def render_or_die(*args):\n"
        "    if len(drawn) == 3:\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    drawn.append(1)\n"
        "    return render(*args)\n"
        "writer.render_galaxy = render_or_die\n"
        f"engine = Engine(store=RunStore(Path(sys.argv[1]) / 'runs'), manager=JobManager(), demo_survey={DEMO})\n"
        "engine.submit_demo(sys.argv[2])  # what the Data tab's button does\n"
        "engine.manager.wait(engine.manager.latest(sys.argv[2], 'catalog').id, timeout=60)\n"
    )
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    app_process = subprocess.run(
        [sys.executable, "-c", killed_after_three, str(tmp_path), sid], env=env, capture_output=True, timeout=120
    )
    assert app_process.returncode == -signal.SIGKILL, app_process.stderr.decode()

    engine = new_engine(tmp_path)  # the app started again, on the same runs folder
    engine.demo_survey = DEMO
    folder = engine.store.cache_dir("demo_survey_6_32")
    assert len(list(folder.glob("images/*.png"))) == 3 and not (folder / "catalog.csv").exists()
    drawn, render = [], writer.render_galaxy
    monkeypatch.setattr(writer, "render_galaxy", lambda *args: drawn.append(1) or render(*args))
    shown = data.restore_catalog(engine, sid)  # the page opened again
    assert shown["status"] == "Picking up the demo survey where it stopped…" and shown["timer"].active
    shown = finish_catalog_job(engine, sid)
    assert "### demo survey" in shown["status"] and "**6** galaxies" in shown["status"]
    assert "**0** missing" in shown["status"] and "**0** unreadable" in shown["status"]
    assert len(drawn) == 3 and (folder / ".complete").is_file()  # only the missing galaxies were drawn
    assert not engine.state(sid).demo_pending


def test_another_catalog_asked_for_replaces_a_pending_demo(engine, make_catalog):
    sid = new_session_id()
    engine.store.update_state(sid, demo_pending=True)  # as a demo drawing the app stopped in leaves it
    load_catalog(engine, sid, make_catalog(n=4, size=32))
    assert not engine.state(sid).demo_pending
    assert data.restore_catalog(engine, sid)["timer"].active is False

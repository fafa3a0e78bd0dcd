"""Handler-level tests of the app's tabs: plain function calls, no server. Each bad input gets a
plain-words message; long work runs as jobs that a reload finds again."""

from __future__ import annotations

import json
import re
import warnings
import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
import yaml

from app.engine import Engine
from app.jobs import JobManager
from app.runs import RunStore, new_session_id
from app.tabs import data, explore, results, runs, schema, task, train
from app.uploads import UploadLimits


@pytest.fixture
def engine(tmp_path) -> Engine:
    return Engine(store=RunStore(tmp_path / "runs"), manager=JobManager(), limits=UploadLimits(max_mb=50, max_files=500))


@pytest.fixture
def hosted_engine(tmp_path) -> Engine:
    return Engine(store=RunStore(tmp_path / "hosted_runs"), manager=JobManager(), hosted=True)


def _finish_catalog_job(engine: Engine, sid: str) -> tuple:
    job = engine.manager.latest(sid, "catalog")
    engine.manager.wait(job.id, timeout=30)
    return data.poll_catalog_job(engine, sid)


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


def test_upload_with_relative_paths_loads_and_shows_counts(engine, make_catalog, tmp_path):
    sid = new_session_id()
    csv, archive = _relative_upload(make_catalog, tmp_path, n=12, size=32)
    status, timer = data.load_upload(engine, sid, str(csv), [str(archive)])
    assert "Checking my_catalog.csv" in status
    summary, problems, fix_radio, fix_button, *_ = _finish_catalog_job(engine, sid)
    assert "**12** galaxies" in summary and "**12** found" in summary
    assert "No problems" in problems
    assert fix_radio.visible is False and fix_button.visible is False


def test_missing_images_are_reported_and_fixed_in_one_click(engine, make_catalog, tmp_path):
    sid = new_session_id()
    catalog = make_catalog(n=10, size=32)
    Path(catalog.file_loc[3]).unlink()
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    summary, problems, fix_radio, fix_button, *_ = _finish_catalog_job(engine, sid)
    assert "**1** missing" in summary
    assert fix_radio.visible and fix_button.visible
    assert any("remove the affected rows" in label.lower() for label, _ in fix_radio.choices)
    data.apply_data_fix(engine, sid, fix_radio.value)
    summary, _, _, fix_button, *_ = _finish_catalog_job(engine, sid)
    assert "**9** galaxies" in summary and "**0** missing" in summary
    assert fix_button.visible is False


def test_a_catalog_that_is_not_a_table_is_refused_in_plain_words(engine, tmp_path):
    sid = new_session_id()
    bad = tmp_path / "catalog.csv"
    bad.write_bytes(b"\x00\x01\x02 not,a\ncsv\x00")
    data.load_upload(engine, sid, str(bad), [])
    summary, *_ = _finish_catalog_job(engine, sid)
    assert summary.startswith("**Could not load the catalog.**") and "No catalog is loaded yet." in summary
    status, timer = data.load_path(engine, sid, str(tmp_path / "nowhere.csv"))
    assert "There is no file at" in status and "nowhere.csv" in status and timer.active is False


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
    summary, *_ = _finish_catalog_job(hosted_engine, sid)
    assert "point outside your uploaded files" in summary


def test_wrong_column_types_for_the_task_are_refused(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=8, size=32, task="regression")
    catalog["morphology"] = ["spiral", "elliptical"] * 4
    path = Path(catalog.file_loc[0]).parent.parent / "catalog.csv"
    catalog.to_csv(path, index=False)
    data.load_path(engine, sid, str(path))
    _finish_catalog_job(engine, sid)
    status, problems, fix_radio, fix_button = task.use_task(engine, sid, "classification", ["morphology"])
    assert "holds text" in problems and "0 = 'elliptical', 1 = 'spiral'" in problems
    assert "Every row is affected" not in problems and len(fix_radio.choices) == 1  # no 'drop rows'
    assert "No row has a usable label" not in problems and "without a label" not in status  # one cause, told once
    assert "fix the problems below" in status and fix_radio.visible and fix_radio.value.endswith(":number_classes")
    status, problems, *_, labels = task.apply_task_fix(engine, sid, fix_radio.value, "classification", ["morphology"])
    assert "Ready" in status and "**8** labelled" in status
    assert "morphology_name" in [choice[0] for choice in labels.choices] and labels.value == ["morphology"]
    numbered = engine.catalog(sid)
    assert list(numbered["morphology"]) == [1, 0] * 4 and list(numbered["morphology_name"]) == ["spiral", "elliptical"] * 4
    with pytest.raises(gr.Error, match="exactly one column"):
        task.use_task(engine, sid, "classification", ["target", "morphology"])
    with pytest.raises(gr.Error, match="Choose a task"):
        task.use_task(engine, sid, None, ["target"])
    status, _, fix_radio, fix_button = task.use_task(engine, sid, "regression", ["target"])
    assert "**8** labelled" in status
    assert fix_radio.visible is False and fix_button.visible is False


def test_task_is_proposed_and_unlabelled_rows_are_counted(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=10, size=32, n_unlabelled=3)
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    _finish_catalog_job(engine, sid)
    radio, labels, note = task.suggest_task(engine, sid)
    assert radio.value == "classification" and labels.value == ["label"]
    status, *_ = task.use_task(engine, sid, "classification", ["label"])
    assert "**7** labelled" in status and "**3** without a label" in status


def test_switching_task_swaps_the_columns_for_ones_that_suit(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=30, size=32)
    catalog["mass"] = np.random.default_rng(0).normal(10, 1, 30)
    catalog["bar_label"] = ["none", "weak", "strong"] * 10
    path = Path(catalog.file_loc[0]).parent.parent / "catalog.csv"
    catalog.to_csv(path, index=False)
    data.load_path(engine, sid, str(path))
    _finish_catalog_job(engine, sid)
    labels, note = task.columns_for_task(engine, sid, "regression", ["label"])
    assert labels.value == ["mass"] and "Suggested for **regression**" in note
    labels, note = task.columns_for_task(engine, sid, "classification", ["mass"])
    assert labels.value == ["label"]
    labels, _ = task.columns_for_task(engine, sid, "classification", ["bar_label"])  # names: kept, fixed on use
    assert labels == gr.skip()
    labels, note = task.columns_for_task(engine, sid, "tree", ["label"])
    assert labels.value == [] and "for a vote-count tree: a vote-count tree needs" in note
    engine.store.update_state(sid, schema_name="decals_dr5", schema_yaml=None)
    labels, note = task.columns_for_task(engine, sid, "tree", ["label"])
    assert labels.value == [] and "None of the chosen tree's" in note


def test_invalid_yaml_schema_is_explained_live_and_refused_on_use(engine):
    sid = new_session_id()
    status, _ = schema.check_schema_text(engine, sid, "questions:\n  - name: smooth\n   answers: [a, b]\n")
    assert status.startswith("Not a valid tree yet") and "not valid YAML" in status
    # YAML names tokens like <block end>: escaped, or Markdown would drop them and the hint after them.
    status, _ = schema.check_schema_text(engine, sid, "questions:\n  - name: smooth\n    answers: [a, b]\n  x: 1\n")
    assert "<" not in status and "Check the indentation" in status
    with pytest.raises(gr.Error, match="not valid YAML"):
        schema.use_schema(engine, sid, schema.CUSTOM, "questions: [")


def test_schema_missing_from_the_catalog_is_named(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32, task="tree")
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    _finish_catalog_job(engine, sid)
    good = ("questions:\n- name: smooth-or-featured\n  answers: [smooth, featured]\n"
            "- name: has-bar\n  answers: [yes, no]\n  asked_after: smooth-or-featured_featured\n")
    status, figure = schema.check_schema_text(engine, sid, good)
    assert status.startswith("Valid tree")
    assert "has-bar" in str(figure.to_dict())
    assert "Using your tree" in schema.use_schema(engine, sid, schema.CUSTOM, good)
    with pytest.raises(gr.Error, match="lacks 2 of the tree's answer columns"):
        schema.use_schema(engine, sid, schema.CUSTOM, good.replace("[yes, no]", "[strong, weak]"))


def test_training_without_data_or_task_is_refused(engine):
    args = ("demo", "", "head_only", 2, 1e-3, 8, None, 0.7, 0.15, 0.05, 0.75, 3, 0)
    with pytest.raises(gr.Error, match="Load a catalog"):
        train.start_training(engine, new_session_id(), *args)


def test_training_error_reaches_the_page_and_a_reload_reattaches(engine):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "classification")

    release = __import__("threading").Event()

    def failing(ctx):
        release.wait(10)
        raise ValueError("Column 'ring' has only one class; choose a column with at least two classes.")

    job = engine.manager.submit("train", sid, failing, run_dir=str(run_dir))
    progress, status, *_ = train.poll_training(engine, sid, None)  # a fresh page finds the running job
    assert "is training" in status
    release.set()
    engine.manager.wait(job.id, timeout=5)
    progress, status, _, _, timer, *_ = train.poll_training(engine, sid, None)
    assert "failed" in status and "only one class" in status
    assert "failed" in progress


def test_queued_runs_show_their_position_and_can_be_cancelled(engine):
    first, second = new_session_id(), new_session_id()
    release = __import__("threading").Event()
    engine.manager.submit("train", first, lambda ctx: release.wait(5), run_dir=str(engine.store.new_run_dir(first, "tree")))
    engine.manager.submit("train", second, lambda ctx: None, run_dir=str(engine.store.new_run_dir(second, "tree")))
    progress, status, *_ = train.poll_training(engine, second, None)
    assert "position 1" in progress and "waiting in the queue" in status
    assert "Cancelled" in train.stop_training(engine, second)
    release.set()
    with pytest.raises(gr.Error, match="No run is queued"):
        train.stop_training(engine, second)


@pytest.mark.parametrize("column, words", [
    ("val_accuracy", "validation accuracy"),
    ("val_rmse", "validation RMSE"),
    ("val_vote_fraction_mae", "validation vote-fraction error (mean absolute)"),
])
def test_the_validation_metric_plot_names_its_metric(engine, column, words):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "classification")
    pd.DataFrame({"epoch": [0, 1], "train_loss": [1.0, 0.8], "val_loss": [1.1, 0.9],
                  column: [0.5, 0.6]}).to_csv(run_dir / "metrics.csv", index=False)
    engine.store.update_state(sid, run_dir=str(run_dir))
    _, _, _, figure, *_ = train.poll_training(engine, sid, None)
    layout = figure.to_dict()["layout"]
    assert words in layout["yaxis"]["title"]["text"]
    assert "V" + words[1:] in layout["title"]["text"]


def test_status_poll_redraws_the_curves_only_when_an_epoch_is_added(engine):
    sid = new_session_id()
    run_dir = engine.store.new_run_dir(sid, "classification")
    metrics = pd.DataFrame({"epoch": [0], "train_loss": [1.0], "val_loss": [1.1], "val_accuracy": [0.5]})
    metrics.to_csv(run_dir / "metrics.csv", index=False)
    engine.store.update_state(sid, run_dir=str(run_dir))
    first = train.poll_training(engine, sid, None)
    assert first[2] is not None and not isinstance(first[2], dict)  # a figure, drawn
    again = train.poll_training(engine, sid, first[5])
    assert again[2] == gr.skip() and again[3] == gr.skip()
    pd.concat([metrics, metrics.assign(epoch=1, val_loss=0.9)]).to_csv(run_dir / "metrics.csv", index=False)
    later = train.poll_training(engine, sid, again[5])
    assert later[2] != gr.skip()
    assert len(later[2].to_dict()["data"][0]["x"]) == 2


def _finished_tree_run(engine: Engine, sid: str, image: Path, n: int = 12) -> Path:
    """A finished decals_dr5 tree run as run_finetune leaves it: config, predictions, test metrics, model."""
    from zoobot.trees import get_schema

    label_cols = list(get_schema("decals_dr5").label_cols)
    run_dir = engine.store.new_run_dir(sid, "tree")
    rng = np.random.default_rng(0)
    columns: dict = {"id_str": [f"synthetic-0-{i:06d}" for i in range(n)], "file_loc": [str(image)] * n,
                     "split": ["test", "val", "train"] * (n // 3)}
    for answer in label_cols:
        fraction = rng.uniform(0.1, 0.9, n)
        columns.update({answer: rng.integers(0, 10, n), f"{answer}_fraction": fraction,
                        f"{answer}_fraction_low": fraction - 0.1, f"{answer}_fraction_high": fraction + 0.1})
    pd.DataFrame(columns).to_csv(run_dir / "predictions.csv", index=False)
    (run_dir / "config.yaml").write_text(yaml.safe_dump({"task": "tree", "schema": "decals_dr5",
                                                         "label_cols": label_cols}))
    (run_dir / "test_metrics.json").write_text(json.dumps(
        {"mean_vote_fraction_mae": 0.1, "vote_fraction_mae": {"smooth-or-featured-dr5": 0.1}, "n": n // 3,
         "split": "test"}))
    (run_dir / "progress.json").write_text(json.dumps({"status": "finished"}))
    (run_dir / "model").mkdir()
    (run_dir / "model" / "config.json").write_text("{}")
    engine.store.update_state(sid, run_dir=str(run_dir))
    return run_dir


def test_tree_results_show_without_pandas_performance_warnings(engine, make_catalog):
    sid = new_session_id()
    image = make_catalog(n=1, size=32).file_loc[0]
    _finished_tree_run(engine, sid, Path(image))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        summary, _, _, confident, wrong, *_ = results.show_results(engine, sid)
    assert "Mean vote-fraction error" in summary
    assert len(confident) == 12 and len(wrong) == 8


def test_gallery_captions_are_short_and_carry_the_label(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32)
    catalog["id_str"] = [f"synthetic-0-{i:06d}" for i in range(6)]
    path = Path(catalog.file_loc[0]).parent.parent / "catalog.csv"
    catalog.to_csv(path, index=False)
    data.load_path(engine, sid, str(path))
    _, _, _, _, gallery, *_ = _finish_catalog_job(engine, sid)
    assert [caption for _, caption in gallery][:2] == ["…000000 · label 0", "…000001 · label 1"]


def test_tree_galleries_show_the_leading_answer(engine, make_catalog):
    sid = new_session_id()
    image = make_catalog(n=1, size=32).file_loc[0]
    _finished_tree_run(engine, sid, Path(image))
    _, _, _, confident, wrong, *_ = results.show_results(engine, sid)
    for _, caption in [*confident, *wrong]:
        assert re.fullmatch(r"…\d{6} · (smooth|featured-or-disk|artifact) \d+%( · votes \d+%)?", caption), caption
    assert not any("synthetic" in c or "smooth-or-featured" in c for _, c in [*confident, *wrong])


def test_neighbour_captions_give_rank_and_label_or_similarity(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=4, size=32)
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    _finish_catalog_job(engine, sid)
    map_dir = engine.store.new_map_dir(sid)
    pd.DataFrame({"id_str": catalog.id_str, "umap_x": [0.0, 1, 2, 3], "umap_y": [0.0, 1, 2, 3],
                  "f0": [1.0, 1, 0, -1], "f1": [0.0, 0.1, 1, 0]}).to_parquet(map_dir / "map.parquet")
    engine.store.update_state(sid, map_dir=str(map_dir))
    gallery, _ = explore.show_neighbours(engine, sid, "gal_00000", 2, None)
    assert [caption for _, caption in gallery] == ["chosen …_00000 · 1.000", "1. …_00001 · 0.995", "2. …_00002 · 0.000"]
    task.use_task(engine, sid, "classification", ["label"])
    gallery, _ = explore.show_neighbours(engine, sid, "gal_00000", 2, None)
    assert [caption for _, caption in gallery] == ["chosen …_00000 · label 0", "1. …_00001 · label 1",
                                                   "2. …_00002 · label 0"]


@pytest.mark.parametrize("written_as", ["/home/me/cutouts/{name}", "C:\\Users\\me\\cutouts\\{name}", "images/{name}"])
def test_loose_image_files_are_matched_to_file_loc_by_name(engine, make_catalog, tmp_path, written_as):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32)
    images = list(catalog.file_loc)
    catalog["file_loc"] = [written_as.format(name=Path(p).name) for p in images]
    csv = tmp_path / "from_my_laptop.csv"
    catalog.to_csv(csv, index=False)
    data.load_upload(engine, sid, str(csv), images)
    summary, problems, *_ = _finish_catalog_job(engine, sid)
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
    summary, *_ = _finish_catalog_job(engine, sid)
    assert "**6** found" in summary


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
    summary, *_ = _finish_catalog_job(engine, sid)
    assert "Could not load the catalog" in summary
    assert "could be more than one uploaded image" in summary and "night1/gal_00000.png" in summary


def test_hosted_sessions_only_see_and_download_their_own_runs(hosted_engine, make_catalog):
    image = Path(make_catalog(n=1, size=32).file_loc[0])
    mine, theirs = new_session_id(), new_session_id()
    my_run = _finished_tree_run(hosted_engine, mine, image)
    their_run = _finished_tree_run(hosted_engine, theirs, image)
    my_folder = hosted_engine.store.session_dir(mine)

    *_, downloads, _, _ = results.show_results(hosted_engine, mine)
    assert {Path(f).name for f in downloads} >= {"config.yaml", "predictions.csv", "finetuned_model.zip"}
    assert all(Path(f).resolve().is_relative_to(my_folder) for f in downloads)

    table, picker = runs.list_runs(hosted_engine, mine)
    assert list(table["name"]) == [my_run.name]
    assert [value for _, value in picker.choices] == [str(my_run)]
    with pytest.raises(gr.Error, match="not in your runs folder"):
        runs.open_run(hosted_engine, mine, str(their_run))
    hosted_engine.store.update_state(mine, run_dir=str(their_run))  # e.g. a state file edited by hand
    with pytest.raises(gr.Error, match="not one of yours"):
        results.show_results(hosted_engine, mine)


def test_blank_votes_show_the_task_fix_button_and_the_fix_hides_it(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32, task="tree")
    catalog["has-bar_yes"] = catalog["has-bar_yes"].astype(float)
    catalog.loc[2, "has-bar_yes"] = np.nan
    path = Path(catalog.file_loc[0]).parent.parent / "catalog.csv"
    catalog.to_csv(path, index=False)
    data.load_path(engine, sid, str(path))
    _finish_catalog_job(engine, sid)
    tree = ("questions:\n- name: smooth-or-featured\n  answers: [smooth, featured]\n"
            "- name: has-bar\n  answers: [yes, no]\n  asked_after: smooth-or-featured_featured\n")
    schema.use_schema(engine, sid, schema.CUSTOM, tree)
    labels = ["smooth-or-featured_smooth", "smooth-or-featured_featured", "has-bar_yes", "has-bar_no"]
    _, _, fix_radio, fix_button = task.use_task(engine, sid, "tree", labels)
    assert fix_radio.visible and fix_button.visible
    _, _, fix_radio, fix_button, _ = task.apply_task_fix(engine, sid, fix_radio.value, "tree", labels)
    assert fix_radio.visible is False and fix_button.visible is False


def test_a_failed_load_says_the_previous_catalog_is_still_in_use(engine, make_catalog, tmp_path):
    sid = new_session_id()
    catalog = make_catalog(n=6)
    data.load_path(engine, sid, str(Path(catalog.file_loc[0]).parent.parent / "catalog.csv"))
    _finish_catalog_job(engine, sid)
    no_file_loc = tmp_path / "labels.csv"
    no_file_loc.write_text("id_str,label\na,1\n")
    data.load_path(engine, sid, str(no_file_loc))
    summary, *_ = _finish_catalog_job(engine, sid)
    assert summary.startswith("**Could not load the catalog.**") and "file_loc" in summary
    assert "**catalog.csv** (below) is still the one in use." in summary


def test_a_new_column_choice_replaces_the_last_check():
    status, problems, radio, button = task.columns_chosen(["ring"])
    assert "`ring`" in status and "Use this task" in status
    assert problems == "" and radio.visible is False and button.visible is False
    assert task.columns_chosen([])[0] == "Choose the column(s) to predict."


def test_refusals_stay_on_screen_until_closed(engine):
    with pytest.raises(gr.Error) as refused:
        data.load_path(engine, new_session_id(), "   ")
    assert refused.value.duration is None and "Type the path" in refused.value.message

"""The Runs tab: a headline figure for every task, the target and the catalog in the table; renaming,
deleting (on a second click) and comparing two runs side by side."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd
import pytest
from app_sessions import finished_run, finished_tree_run, new_engine

from app.engine import Engine
from app.run_notes import write_note
from app.runs import new_session_id
from app.tabs import runs


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


@pytest.fixture
def image(make_catalog) -> str:
    return make_catalog(n=1, size=32).file_loc[0]


def test_every_task_has_a_headline_and_the_table_names_target_and_catalog(engine, image):
    sid = new_session_id()
    classification = finished_run(engine, sid, image, "classification", {"accuracy": 0.8, "majority_accuracy": 0.6})
    write_note(classification.path, catalog_name="my_rings.csv")
    finished_run(engine, sid, image, "regression", {"rmse": 0.12, "r2": 0.81})
    finished_tree_run(engine, sid, Path(image))
    table = runs.list_runs(engine, sid)["table"].set_index("task")
    assert table.loc["classification", "headline"] == "accuracy 80.0% (baseline 60.0%)"
    assert table.loc["regression", "headline"] == "RMSE 0.12 · R² 0.81"
    assert table.loc["tree", "headline"] == "vote-fraction error 0.100"
    assert table.loc["classification", "target"] == "label" and table.loc["tree", "target"] == "tree decals_dr5"
    assert table.loc["classification", "catalog"] == "my_rings.csv"


def test_a_run_is_renamed_without_moving_its_folder(engine, image):
    sid = new_session_id()
    folder = finished_run(engine, sid, image, "classification", {"accuracy": 0.8})
    shown = runs.rename_run(engine, sid, str(folder.path), "  rings,   first try ")
    assert list(shown["table"]["name"]) == ["rings, first try"] and folder.config_path.is_file()
    with pytest.raises(gr.Error, match="Type a name"):
        runs.rename_run(engine, sid, str(folder.path), "   ")


def test_a_run_is_deleted_on_the_second_click(engine, image):
    sid = new_session_id()
    folder = finished_run(engine, sid, image, "classification", {"accuracy": 0.8})
    first = runs.delete_run(engine, sid, str(folder.path), None)
    assert "for good?" in first["status"] and folder.path.is_dir()
    second = runs.delete_run(engine, sid, str(folder.path), first["confirm_delete"])
    assert "Deleted" in second["status"] and not folder.path.exists() and len(second["table"]) == 0


def test_two_runs_are_compared_side_by_side(engine, image):
    sid = new_session_id()
    one = finished_run(engine, sid, image, "classification", {"accuracy": 0.8})
    two = finished_run(engine, sid, image, "classification", {"accuracy": 0.7})
    for folder, losses in ((one, [1.0, 0.8]), (two, [1.1, 0.9, 0.7])):
        folder.write_metrics(pd.DataFrame({"epoch": range(len(losses)), "val_loss": losses}))
    write_note(two.path, title="second")
    shown = runs.compare_runs(engine, sid, str(one.path), str(two.path))
    assert [len(trace.x) for trace in shown["compare_plot"].data] == [2, 3]
    table = shown["compare_table"].set_index("test metric")
    assert table.loc["accuracy", one.name] == 0.8 and table.loc["accuracy", "second"] == 0.7
    with pytest.raises(gr.Error, match="two different runs"):
        runs.compare_runs(engine, sid, str(one.path), str(one.path))

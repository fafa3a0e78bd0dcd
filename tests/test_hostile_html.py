"""The hostile-visitor battery, HTML injection (issue #20): a shared catalog whose column names,
ids, class names, file names, question names and run names are HTML tags reaches every Markdown,
HTML, pop-up and plot of the app as text. Each handler's output is scanned: outside Markdown code
spans (where nothing is interpreted) no raw tag may appear."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import plotly.graph_objects as go
import pytest
from app_sessions import finish_catalog_job, finished_run, new_engine
from hostile_files import HTML_NAME

from app.engine import Engine
from app.engine.maps import MAP_FILE, MAP_SOURCE_FILE
from app.runs import new_session_id
from app.tabs import data, explore, results, schema, task, train
from app.tabs.runs import open_run

SHOWN_AS_TEXT = {
    "tree_yaml",
    "config",
    "command",
    "tree_name",
    "local_path",
    "catalog_path",
    "seen",
    "finished_run",
    "run_version",
    "catalog_version",
}
"""Outputs that are code editors, text boxes, dropdown values or state: never rendered as markup."""
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.S)
_RAW_TAG = re.compile(r"<\s*(img|script|iframe|svg)\b", re.I)


def _texts(value: Any) -> list[str]:
    """Every string the page would render as Markdown, HTML or plot text."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, go.Figure):
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, str):
                found.append(node)
            elif isinstance(node, dict):
                for item in node.values():
                    walk(item)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(json.loads(value.to_json()))
        return found
    if isinstance(value, dict):
        return [t for key, item in value.items() if key not in SHOWN_AS_TEXT for t in _texts(item)]
    return []  # dropdown choices, tables and gallery captions are shown as text by Gradio


def assert_no_raw_tag(output: Any, where: str) -> None:
    for text in _texts(output):
        outside_code = _CODE_SPAN.sub("", text)
        assert not _RAW_TAG.search(outside_code), f"{where} shows a raw tag: {text[:300]!r}"


def call(where: str, fn, *args, **kwargs) -> Any:
    """Call a handler; its result, or the pop-up it raises, must hold no raw tag."""
    try:
        output = fn(*args, **kwargs)
    except gr.Error as err:
        assert_no_raw_tag(err.message, f"{where} (pop-up)")
        return None
    assert_no_raw_tag(output, where)
    return output


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


def _shared_catalog(make_catalog, tmp_path: Path) -> Path:
    """A catalog shared by someone else: HTML in a column name, ids, class names and an image's name."""
    catalog = make_catalog(n=12, size=16)
    images = Path(catalog.file_loc[0]).parent
    renamed = images / f"{HTML_NAME}.png"
    Path(catalog.file_loc[0]).rename(renamed)
    catalog.loc[0, "file_loc"] = str(renamed)
    catalog["id_str"] = [f"{HTML_NAME}{i}" for i in range(len(catalog))]
    catalog[HTML_NAME] = catalog["label"].map({0: f"{HTML_NAME}a", 1: f"{HTML_NAME}b"})
    catalog["missing"] = [str(images / f"{HTML_NAME}-gone.png")] * len(catalog)
    path = tmp_path / f"{HTML_NAME}.csv"
    catalog.to_csv(path, index=False)
    return path


def test_a_shared_catalogs_html_names_never_reach_the_page_as_tags(engine, make_catalog, tmp_path):
    sid = new_session_id()
    path = _shared_catalog(make_catalog, tmp_path)
    call("load_path", data.load_path, engine, sid, str(path))
    call("poll_catalog_job", finish_catalog_job, engine, sid)
    call("label_plot", data.label_plot, engine, sid, HTML_NAME)
    call("suggest_task", task.suggest_task, engine, sid)
    call("columns_for_task", task.columns_for_task, engine, sid, "classification", [HTML_NAME])
    call("columns_chosen", task.columns_chosen, [HTML_NAME])
    shown = call("use_task", task.use_task, engine, sid, "classification", [HTML_NAME])
    assert "Class column" in shown["problems"] and "&lt;img" in shown["problems"]
    call("use_task (regression)", task.use_task, engine, sid, "regression", [HTML_NAME])
    call("suggest_task (saved)", task.suggest_task, engine, sid, prefer_saved=True)

    catalog = pd.read_csv(path)
    catalog["file_loc"] = catalog["missing"]
    catalog.to_csv(path, index=False)
    call("load_path (missing images)", data.load_path, engine, sid, str(path))
    shown = call("poll_catalog_job (missing images)", finish_catalog_job, engine, sid)
    assert "missing" in shown["status"]


def test_html_question_and_answer_names_stay_text_in_the_schema_tab(engine, make_catalog):
    sid = new_session_id()
    tree = (
        f"questions:\n- name: '{HTML_NAME}'\n  answers: ['{HTML_NAME}', 'no']\n"
        f"- name: 'q2'\n  answers: [yes, no]\n  asked_after: '{HTML_NAME}_{HTML_NAME}'\n"
    )
    call("check_schema_text", schema.check_schema_text, engine, sid, tree)
    call("check_schema_text (broken)", schema.check_schema_text, engine, sid, tree + f"  {HTML_NAME}: [\n")
    call("use_schema", schema.use_schema, engine, sid, schema.CUSTOM, tree)
    call("restore_schema", schema.restore_schema, engine, sid)
    call("columns_for_task (tree)", task.columns_for_task, engine, sid, "tree", [])
    call("use_task (tree)", task.use_task, engine, sid, "tree", [])


def test_html_run_names_labels_and_errors_stay_text_in_train_results_runs_and_explore(engine, tmp_path):
    sid = new_session_id()
    image = tmp_path / "x.png"
    image.write_bytes(b"not read")
    run = finished_run(engine, sid, str(image), "regression", {"rmse": 0.1, "mae": 0.1, "r2": -1})
    predictions = run.read_predictions().rename(columns={"target": HTML_NAME, "catalog_target": f"catalog_{HTML_NAME}"})
    predictions["id_str"] = [f"{HTML_NAME}{i}" for i in range(len(predictions))]
    run.write_predictions(predictions)
    config = run.read_config_values()
    run.config_path.write_text(json.dumps({**config, "label_cols": [HTML_NAME]}))
    renamed = run.path.with_name(HTML_NAME)
    run.path.rename(renamed)
    engine.store.update_state(sid, run_dir=str(renamed))
    shown = call("show_results", results.show_results, engine, sid)
    assert "R²" in shown["summary"] and "&lt;img" in shown["summary"]  # the results themselves, not a refusal
    call("poll_training", train.poll_training, engine, sid, None)
    call("open_run", open_run, engine, sid, str(renamed))

    failing = engine.manager.submit(
        "train", sid, lambda ctx: (_ for _ in ()).throw(ValueError(HTML_NAME)), run_dir=str(renamed)
    )
    engine.manager.wait(failing.id, timeout=5)
    call("poll_training (failed)", train.poll_training, engine, sid, None)
    call("show_results (failed)", results.show_results, engine, sid)

    map_dir = engine.store.new_map_dir(sid)
    pd.DataFrame(
        {"id_str": [f"{HTML_NAME}{i}" for i in range(6)], "umap_x": range(6), "umap_y": range(6), "f0": range(6)}
    ).to_parquet(map_dir / MAP_FILE)
    (map_dir / MAP_SOURCE_FILE).write_text(f"finetuned model of run {HTML_NAME}")
    engine.store.update_state(sid, map_dir=str(map_dir))
    call("show_map", explore.show_map, engine, sid, HTML_NAME)
    call("recolour", explore.recolour, engine, sid, "id_str", f"{HTML_NAME}0", 3)
    failed_map = engine.manager.submit(
        "umap", sid, lambda ctx: (_ for _ in ()).throw(ValueError(HTML_NAME)), lane="explore"
    )
    engine.manager.wait(failed_map.id, timeout=5)
    call("poll_map (failed)", explore.poll_map, engine, sid)


def test_the_scan_catches_a_raw_tag():
    with pytest.raises(AssertionError, match="raw tag"):
        assert_no_raw_tag({"status": f"**Run** {HTML_NAME} failed"}, "example")
    assert_no_raw_tag({"status": f"Run `{HTML_NAME}` &lt;img&gt;"}, "example")
    figure = go.Figure(layout={"title": HTML_NAME})
    with pytest.raises(AssertionError):
        assert_no_raw_tag({"figure": figure}, "example")

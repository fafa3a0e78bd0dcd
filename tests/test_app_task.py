"""The Task tab's handlers: a proposed task and columns, switching task, checks of the chosen
columns with one-click fixes."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from app_sessions import load_catalog, new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import schema, task


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


def _save(catalog) -> None:
    catalog.to_csv(Path(catalog.file_loc[0]).parent.parent / "catalog.csv", index=False)


def test_wrong_column_types_for_the_task_are_refused(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=8, size=32, task="regression")
    catalog["morphology"] = ["spiral", "elliptical"] * 4
    _save(catalog)
    load_catalog(engine, sid, catalog)
    checked = task.use_task(engine, sid, "classification", ["morphology"])
    problems, fix_choice = checked["problems"], checked["fix_choice"]
    assert "holds text" in problems and "0 = 'elliptical', 1 = 'spiral'" in problems
    assert "Every row is affected" not in problems and len(fix_choice.choices) == 1  # no 'drop rows'
    assert "No row has a usable label" not in problems and "without a label" not in checked["status"]  # told once
    assert "fix the problems below" in checked["status"] and fix_choice.visible
    assert fix_choice.value.endswith(":number_classes")
    fixed = task.apply_task_fix(engine, sid, fix_choice.value, "classification", ["morphology"])
    assert "Ready" in fixed["status"] and "**8** labelled" in fixed["status"]
    labels = fixed["label_cols"]
    assert "morphology_name" in [choice[0] for choice in labels.choices] and labels.value == ["morphology"]
    numbered = engine.catalog(sid)
    assert list(numbered["morphology"]) == [1, 0] * 4
    assert list(numbered["morphology_name"]) == ["spiral", "elliptical"] * 4
    with pytest.raises(gr.Error, match="exactly one column"):
        task.use_task(engine, sid, "classification", ["target", "morphology"])
    with pytest.raises(gr.Error, match="Choose a task"):
        task.use_task(engine, sid, None, ["target"])
    checked = task.use_task(engine, sid, "regression", ["target"])
    assert "**8** labelled" in checked["status"]
    assert checked["fix_choice"].visible is False and checked["fix_button"].visible is False


def test_task_is_proposed_and_unlabelled_rows_are_counted(engine, make_catalog):
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=10, size=32, n_unlabelled=3))
    suggested = task.suggest_task(engine, sid)
    assert tuple(suggested) == task.CHOICE
    assert suggested["task"].value == "classification" and suggested["label_cols"].value == ["label"]
    status = task.use_task(engine, sid, "classification", ["label"])["status"]
    assert "**7** labelled" in status and "**3** without a label" in status


def test_switching_task_swaps_the_columns_for_ones_that_suit(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=30, size=32)
    catalog["mass"] = np.random.default_rng(0).normal(10, 1, 30)
    catalog["bar_label"] = ["none", "weak", "strong"] * 10
    _save(catalog)
    load_catalog(engine, sid, catalog)
    swapped = task.columns_for_task(engine, sid, "regression", ["label"])
    assert swapped["label_cols"].value == ["mass"] and "Suggested for **regression**" in swapped["status"]
    assert task.columns_for_task(engine, sid, "classification", ["mass"])["label_cols"].value == ["label"]
    kept = task.columns_for_task(engine, sid, "classification", ["bar_label"])  # names: kept, fixed on use
    assert "label_cols" not in kept
    swapped = task.columns_for_task(engine, sid, "tree", ["label"])
    assert swapped["label_cols"].value == []
    assert "for a vote-count tree: a vote-count tree needs" in swapped["status"]
    engine.store.update_state(sid, schema_name="decals_dr5", schema_yaml=None)
    swapped = task.columns_for_task(engine, sid, "tree", ["label"])
    assert swapped["label_cols"].value == [] and "None of the chosen tree's" in swapped["status"]


def test_blank_votes_show_the_task_fix_button_and_the_fix_hides_it(engine, make_catalog):
    sid = new_session_id()
    catalog = make_catalog(n=6, size=32, task="tree")
    catalog["has-bar_yes"] = catalog["has-bar_yes"].astype(float)
    catalog.loc[2, "has-bar_yes"] = np.nan
    _save(catalog)
    load_catalog(engine, sid, catalog)
    tree = (
        "questions:\n- name: smooth-or-featured\n  answers: [smooth, featured]\n"
        "- name: has-bar\n  answers: [yes, no]\n  asked_after: smooth-or-featured_featured\n"
    )
    schema.use_schema(engine, sid, schema.CUSTOM, tree)
    labels = ["smooth-or-featured_smooth", "smooth-or-featured_featured", "has-bar_yes", "has-bar_no"]
    checked = task.use_task(engine, sid, "tree", labels)
    assert checked["fix_choice"].visible and checked["fix_button"].visible
    fixed = task.apply_task_fix(engine, sid, checked["fix_choice"].value, "tree", labels)
    assert fixed["fix_choice"].visible is False and fixed["fix_button"].visible is False


def test_a_new_column_choice_replaces_the_last_check():
    chosen = task.columns_chosen(["ring"])
    assert "`ring`" in chosen["status"] and "Use this task" in chosen["status"]
    assert chosen["problems"] == "" and chosen["fix_choice"].visible is False and chosen["fix_button"].visible is False
    assert task.columns_chosen([])["status"] == "Choose the column(s) to predict."


def test_a_long_list_of_columns_says_how_many_more_and_ends_its_sentence_once():
    from app.tabs.task import _columns_text

    assert _columns_text(["a", "b"]) == "`a`, `b`"
    text = _columns_text([f"q{i}" for i in range(40)])
    assert text.endswith("`q5` and 34 more") and "…" not in text

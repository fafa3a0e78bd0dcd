"""The Schema tab's handlers: a tree written in YAML is checked live, against the catalog's columns
too, and refused on use when it cannot be used."""

from __future__ import annotations

import gradio as gr
import pytest
from app_sessions import load_catalog, new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import schema

TREE = (
    "questions:\n- name: smooth-or-featured\n  answers: [smooth, featured]\n"
    "- name: has-bar\n  answers: [yes, no]\n  asked_after: smooth-or-featured_featured\n"
)


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


def test_invalid_yaml_schema_is_explained_live_and_refused_on_use(engine):
    sid = new_session_id()
    checked = schema.check_schema_text(engine, sid, "questions:\n  - name: smooth\n   answers: [a, b]\n")
    assert checked["status"].startswith("Not a valid tree yet") and "not valid YAML" in checked["status"]
    assert "figure" not in checked  # the last good drawing stays
    # YAML names tokens like <block end>: escaped, or Markdown would drop them and the hint after them.
    stray_key = "questions:\n  - name: smooth\n    answers: [a, b]\n  x: 1\n"
    status = schema.check_schema_text(engine, sid, stray_key)["status"]
    assert "<" not in status and "Check the indentation" in status
    with pytest.raises(gr.Error, match="not valid YAML"):
        schema.use_schema(engine, sid, schema.CUSTOM, "questions: [")


def test_schema_missing_from_the_catalog_is_named(engine, make_catalog):
    sid = new_session_id()
    load_catalog(engine, sid, make_catalog(n=6, size=32, task="tree"))
    checked = schema.check_schema_text(engine, sid, TREE)
    assert checked["status"].startswith("Valid tree")
    assert "has-bar" in str(checked["figure"].to_dict())
    assert "Using your tree" in schema.use_schema(engine, sid, schema.CUSTOM, TREE)["status"]
    with pytest.raises(gr.Error, match="lacks 2 of the tree's answer columns"):
        schema.use_schema(engine, sid, schema.CUSTOM, TREE.replace("[yes, no]", "[strong, weak]"))


@pytest.mark.parametrize("saved", ["named", "custom", "none"])
def test_a_reload_shows_the_saved_tree(engine, saved):
    sid = new_session_id()
    if saved == "named":
        engine.store.update_state(sid, schema_name="decals_dr5")
    elif saved == "custom":
        engine.store.update_state(sid, schema_yaml=TREE)
    restored = schema.restore_schema(engine, sid)
    assert set(restored) == set(schema.VIEW)
    expected = {"named": "decals_dr5", "custom": schema.CUSTOM, "none": None}[saved]
    assert restored["tree_name"] == expected
    assert ("has-bar" in restored["tree_yaml"]) is (saved == "custom")


def test_every_named_tree_is_offered_with_a_one_line_description(tmp_path):
    from zoobot.trees import list_schemas

    with gr.Blocks():
        ui = schema.build_schema_tab(new_engine(tmp_path), gr.BrowserState(None))
    labels = dict((value, label) for label, value in ui["tree_name"].choices)
    assert set(list_schemas()) <= set(labels)
    assert labels["gz_rings"].startswith("gz_rings: Galaxy Zoo Rings") and "\n" not in labels["gz_rings"]

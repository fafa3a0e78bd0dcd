"""Tab 3, Schema (vote-count trees): pick a Galaxy Zoo tree or write one in YAML, checked live
against the catalog's columns and drawn as a tree."""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from app import plots, plots_tree
from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.escape import code, escape_md
from app.wiring import listen, pick

CUSTOM = "custom (write it below)"
VIEW = ("tree_name", "tree_yaml", "status", "figure")
"""The tree shown: its name, its YAML, the check's words and its drawing."""


def _catalog_columns(engine: Engine, session_id: str) -> list[str] | None:
    try:
        return list(engine.catalog(session_id).columns)
    except AppInputError:
        return None


def _describe(schema: Any, columns: list[str] | None) -> str:
    text = f"Valid tree: {len(schema.questions)} questions, {len(schema.label_cols)} answer columns."
    if columns is None:
        return text + " Load a catalog to check its columns."
    missing = schema.validate_columns(columns)
    if missing:
        shown = ", ".join(code(c) for c in missing[:8])
        return (
            f"Problem: the catalog lacks {len(missing)} of the tree's answer columns: {shown}"
            f"{'…' if len(missing) > 8 else ''}. Each answer needs a vote-count column named "
            "`<question>_<answer>`; rename your columns or edit the tree."
        )
    return text + " The catalog has every answer column."


def check_schema_text(engine: Engine, session_id: str, tree_yaml: str) -> dict[str, Any]:
    """Live check of the YAML in the editor. Never raises: the problem is shown in plain words.

    Returns:
        ``status`` and the tree ``figure`` (left as it is while the YAML does not parse).
    """
    from zoobot.schemas import SchemaError

    if not tree_yaml or not tree_yaml.strip():
        return {
            "status": "Write a tree, or pick a Galaxy Zoo tree above.",
            "figure": plots.empty_figure("No tree yet."),
        }
    try:
        schema = engine.parse_schema(tree_yaml)  # size and questions checked before parsing and drawing
    except SchemaError as err:
        # Escaped: YAML errors name tokens such as "<block end>", and the tree's own names, which Markdown
        # would take as HTML tags.
        return {"status": f"Not a valid tree yet: {escape_md(err)}"}
    return {"status": _describe(schema, _catalog_columns(engine, session_id)), "figure": plots_tree.schema_tree(schema)}


@plain_errors
def pick_schema(engine: Engine, session_id: str, tree_name: str | None) -> dict[str, Any]:
    """Show a named Galaxy Zoo tree in the editor and draw it.

    Returns:
        The editor's ``tree_yaml``, ``status`` and the tree ``figure``.
    """
    from zoobot.trees import get_schema

    if not tree_name or tree_name == CUSTOM:
        return {"status": "Write your tree in the editor; it is checked as you type."}
    schema = get_schema(tree_name)
    return {
        "tree_yaml": schema.to_yaml(),
        "status": _describe(schema, _catalog_columns(engine, session_id)),
        "figure": plots_tree.schema_tree(schema),
    }


@plain_errors
def use_schema(engine: Engine, session_id: str, tree_name: str | None, tree_yaml: str) -> dict[str, Any]:
    """Save the tree for this session's tree task.

    Returns:
        ``status``.

    Raises:
        gr.Error: If the YAML is not a valid tree, or the catalog lacks its answer columns.
    """
    from zoobot.trees import get_schema

    schema = engine.parse_schema(tree_yaml or "")
    columns = _catalog_columns(engine, session_id)
    if columns is not None and schema.validate_columns(columns):
        raise gr.Error(_describe(schema, columns).replace("Problem: the catalog", "The catalog"))
    named = tree_name if tree_name and tree_name != CUSTOM and get_schema(tree_name) == schema else None
    engine.store.update_state(
        session_id,
        schema_name=named,
        schema_yaml=None if named else tree_yaml,
        task="tree",
        label_cols=list(schema.label_cols),
    )
    return {
        "status": f"Using {'the Galaxy Zoo `' + named + '` tree' if named else 'your tree'} "
        f"({len(schema.label_cols)} answer columns). Go on to **4. Train**."
    }


def restore_schema(engine: Engine, session_id: str) -> dict[str, Any]:
    """The session's saved tree for a reloaded page: values for :data:`VIEW`."""
    state = engine.state(session_id)
    if state.schema_name:
        return {"tree_name": state.schema_name, **pick_schema(engine, session_id, state.schema_name)}
    if state.schema_yaml:
        return {
            "tree_name": CUSTOM,
            "tree_yaml": state.schema_yaml,
            **check_schema_text(engine, session_id, state.schema_yaml),
        }
    return {
        "tree_name": None,
        "tree_yaml": "",
        "status": "Pick a Galaxy Zoo tree, or write your own.",
        "figure": plots.empty_figure("No tree yet."),
    }


def build_schema_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Schema tab and wire its events; returns its components by name."""
    from zoobot.trees import describe_schema, list_schemas

    gr.Markdown(
        "Only for vote-count trees. A tree lists questions, their answers, and which answer leads to "
        "which next question. Each answer needs a vote-count column `<question>_<answer>` in the catalog."
    )
    ui: dict[str, Any] = {"session_id": session}
    named = [(f"{name}: {describe_schema(name, with_size=False)}", name) for name in list_schemas()]
    ui["tree_name"] = gr.Dropdown(
        label="Galaxy Zoo tree (each with the survey it comes from)",
        choices=[*named, (CUSTOM, CUSTOM)],
        elem_id="schema-name",
    )
    with gr.Row():
        with gr.Column(scale=1):
            ui["tree_yaml"] = gr.Code(
                label="Tree (YAML)", language="yaml", lines=18, max_lines=30, elem_id="schema-yaml"
            )
        with gr.Column(scale=1):
            ui["status"] = gr.Markdown(elem_id="schema-status")
            ui["figure"] = gr.Plot(show_label=False, elem_id="schema-plot")
    ui["use"] = gr.Button("Use this tree", variant="primary", elem_id="schema-use")

    listen(
        ui["tree_name"].input,
        partial(pick_schema, engine),
        pick(ui, "session_id", "tree_name"),
        pick(ui, "tree_yaml", "status", "figure"),
    )
    listen(
        ui["tree_yaml"].input,
        partial(check_schema_text, engine),
        pick(ui, "session_id", "tree_yaml"),
        pick(ui, "status", "figure"),
        show_progress="hidden",
    )
    listen(
        ui["use"].click,
        partial(use_schema, engine),
        pick(ui, "session_id", "tree_name", "tree_yaml"),
        pick(ui, "status"),
    )
    return ui

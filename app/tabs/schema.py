"""Tab 3, Schema (vote-count trees): pick a Galaxy Zoo tree or write one in YAML, checked live
against the catalog's columns and drawn as a tree."""

from __future__ import annotations

import html
from functools import partial
from typing import Any

import gradio as gr

from app import plots
from app.common import plain_errors
from app.engine import AppInputError, Engine

CUSTOM = "custom (write it below)"


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
        shown = ", ".join(f"`{c}`" for c in missing[:8])
        return (f"Problem: the catalog lacks {len(missing)} of the tree's answer columns: {shown}"
                f"{'…' if len(missing) > 8 else ''}. Each answer needs a vote-count column named "
                "`<question>_<answer>`; rename your columns or edit the tree.")
    return text + " The catalog has every answer column."


def check_schema_text(engine: Engine, session_id: str, text: str) -> tuple[str, Any]:
    """Live check of the YAML in the editor. Never raises: the problem is shown in plain words.

    Returns:
        ``(status, tree figure)``.
    """
    from zoobot.schemas import Schema, SchemaError

    if not text or not text.strip():
        return "Write a tree, or pick a Galaxy Zoo tree above.", plots.empty_figure("No tree yet.")
    try:
        schema = Schema.from_yaml(text)
    except SchemaError as err:
        # Escaped: YAML errors name tokens such as "<block end>", which Markdown would drop as HTML tags.
        return f"Not a valid tree yet: {html.escape(str(err))}", gr.skip()
    return _describe(schema, _catalog_columns(engine, session_id)), plots.schema_tree(schema)


@plain_errors
def pick_schema(engine: Engine, session_id: str, name: str | None) -> tuple[Any, str, Any]:
    """Show a named Galaxy Zoo tree in the editor and draw it.

    Returns:
        ``(editor text, status, tree figure)``.
    """
    from zoobot.trees import get_schema

    if not name or name == CUSTOM:
        return gr.skip(), "Write your tree in the editor; it is checked as you type.", gr.skip()
    schema = get_schema(name)
    return schema.to_yaml(), _describe(schema, _catalog_columns(engine, session_id)), plots.schema_tree(schema)


@plain_errors
def use_schema(engine: Engine, session_id: str, name: str | None, text: str) -> str:
    """Save the tree for this session's tree task.

    Raises:
        gr.Error: If the YAML is not a valid tree, or the catalog lacks its answer columns.
    """
    from zoobot.schemas import Schema
    from zoobot.trees import get_schema

    schema = Schema.from_yaml(text or "")
    columns = _catalog_columns(engine, session_id)
    if columns is not None and schema.validate_columns(columns):
        raise gr.Error(_describe(schema, columns).replace("Problem: the catalog", "The catalog"))
    named = name if name and name != CUSTOM and get_schema(name) == schema else None
    engine.store.update_state(session_id, schema_name=named, schema_yaml=None if named else text,
                              task="tree", label_cols=list(schema.label_cols))
    return (f"Using {'the Galaxy Zoo `' + named + '` tree' if named else 'your tree'} "
            f"({len(schema.label_cols)} answer columns). Go on to **4. Train**.")


def restore_schema(engine: Engine, session_id: str) -> tuple[Any, Any, str, Any]:
    """The session's saved tree for a reloaded page: ``(name, editor text, status, figure)``."""
    state = engine.state(session_id)
    if state.schema_name:
        text, status, fig = pick_schema(engine, session_id, state.schema_name)
        return state.schema_name, text, status, fig
    if state.schema_yaml:
        status, fig = check_schema_text(engine, session_id, state.schema_yaml)
        return CUSTOM, state.schema_yaml, status, fig
    return None, "", "Pick a Galaxy Zoo tree, or write your own.", plots.empty_figure("No tree yet.")


def build_schema_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Schema tab and wire its events; returns its components by name."""
    from zoobot.trees import list_schemas

    gr.Markdown("Only for vote-count trees. A tree lists questions, their answers, and which answer leads to "
                "which next question. Each answer needs a vote-count column `<question>_<answer>` in the catalog.")
    name = gr.Dropdown(label="Galaxy Zoo tree", choices=[*list_schemas(), CUSTOM], elem_id="schema-name")
    with gr.Row():
        with gr.Column(scale=1):
            editor = gr.Code(label="Tree (YAML)", language="yaml", lines=18, max_lines=30, elem_id="schema-yaml")
        with gr.Column(scale=1):
            status = gr.Markdown(elem_id="schema-status")
            figure = gr.Plot(show_label=False, elem_id="schema-plot")
    use_btn = gr.Button("Use this tree", variant="primary", elem_id="schema-use")

    name.input(partial(pick_schema, engine), [session, name], [editor, status, figure])
    editor.input(partial(check_schema_text, engine), [session, editor], [status, figure], show_progress="hidden")
    use_btn.click(partial(use_schema, engine), [session, name, editor], [status])
    return {"name": name, "editor": editor, "status": status, "figure": figure, "outputs": [name, editor, status, figure],
            "restore": partial(restore_schema, engine)}

"""Tab 2, Task: classification, regression or a Galaxy Zoo vote-count tree, and the target columns."""

from __future__ import annotations

from functools import partial
from typing import Any, cast

import gradio as gr
import pandas as pd

from app.common import label_columns, parse_fix_choice, plain_errors, problems_view
from app.engine import AppInputError, Engine
from app.escape import code, escape_md
from app.wiring import listen, pick

TASK_CHOICES = [
    ("Classification: each galaxy has one class (0, 1, 2, …)", "classification"),
    ("Regression: each galaxy has a measured number", "regression"),
    ("Vote-count tree: Galaxy Zoo style volunteer votes", "tree"),
]
CHOICE = ("task", "label_cols", "status")
"""The task, its columns and the words about them (:func:`suggest_task`'s names)."""
CHECKS = ("problems", "fix_choice", "fix_button")
"""The last check's problems and their one-click fixes."""


def _columns_and_status(choices: list[str], label_cols: list[str], status: str) -> dict[str, Any]:
    return {"label_cols": gr.Dropdown(choices=choices, value=label_cols, multiselect=True), "status": status}


def _choice(task: Any, choices: list[str], label_cols: list[str], status: str) -> dict[str, Any]:
    return {"task": task, **_columns_and_status(choices, label_cols, status)}


@plain_errors
def suggest_task(engine: Engine, session_id: str, prefer_saved: bool = False) -> dict[str, Any]:
    """Propose a task and target columns from the catalog's columns (``zoobot.tasks.propose_task``).

    Args:
        engine: The app engine.
        session_id: The browser session.
        prefer_saved: Show the session's saved choice instead, when there is one.

    Returns:
        Values for :data:`CHOICE`: the task radio, the column dropdown and the explanation.
    """
    from zoobot.runs import ConfigError
    from zoobot.tasks import propose_task

    try:
        catalog = engine.catalog(session_id)
    except AppInputError:
        return _choice(gr.Radio(value=None), [], [], "Load a catalog on the **Data** tab first.")
    state = engine.state(session_id)
    columns = label_columns(catalog)
    pending = state.pending_task
    if prefer_saved and pending and all(c in catalog for c in state.pending_label_cols):
        return _choice(
            gr.Radio(value=pending),
            columns,
            state.pending_label_cols,
            f"Not applied yet: **{escape_md(pending)}** on {_columns_text(state.pending_label_cols)}. Click **Use "
            "this task** to check it (Start on the Train tab checks and applies it too).",
        )
    if prefer_saved and state.task and all(c in catalog for c in state.label_cols):
        return _choice(
            gr.Radio(value=state.task),
            columns,
            state.label_cols,
            f"Your choice: **{escape_md(state.task)}** on {_columns_text(state.label_cols)}.",
        )
    try:
        task, label_cols, schema_name = propose_task(catalog)
    except ConfigError as err:
        return _choice(gr.Radio(value=None), columns, [], f"No suggestion: {escape_md(err)}")
    remember_choice(engine, session_id, task, label_cols)
    if schema_name is not None:
        engine.store.update_state(session_id, schema_name=schema_name, schema_yaml=None)
        note = (
            f"Suggested: a **vote-count tree**: the columns match the Galaxy Zoo `{schema_name}` tree "
            f"({len(label_cols)} answers). Check it on the **Schema** tab."
        )
    else:
        note = f"Suggested: **{task}** on {code(label_cols[0])}. Change it if that is not what you want to predict."
    return _choice(gr.Radio(value=task), columns, label_cols, note)


@plain_errors
def columns_for_task(engine: Engine, session_id: str, task: str | None, label_cols: list[str] | None) -> dict[str, Any]:
    """When the user switches task, swap the chosen columns for ones that suit the new task.

    A tree takes its schema's vote columns; classification and regression keep the user's single
    column if it suits, else get a suggestion (``propose_task(catalog, task)``).

    Returns:
        The column dropdown as ``label_cols`` (left as it is when the columns suit) and the explanation
        as ``status``.
    """
    from zoobot.runs import ConfigError
    from zoobot.tasks import Task, column_suits, propose_task

    try:
        catalog = engine.catalog(session_id)
    except AppInputError:
        return {"status": "Load a catalog on the **Data** tab first."}
    columns = label_columns(catalog)
    current = [c for c in (label_cols or []) if c in catalog]
    if task == "tree":
        schema = engine.schema(session_id)
        if schema is not None:
            present = [c for c in schema.label_cols if c in catalog]
            if not present:
                return _columns_and_status(
                    columns,
                    [],
                    f"None of the chosen tree's {len(schema.label_cols)} vote "
                    f"columns (e.g. {code(schema.label_cols[0])}) is in your catalog: choose or "
                    "write the tree that matches your columns on **3. Schema**.",
                )
            return _columns_and_status(
                columns,
                present,
                "A vote-count tree learns every answer column of the tree "
                f"(**{len(present)}** found). Check the tree on **3. Schema**.",
            )
    if (
        task in ("classification", "regression")
        and len(current) == 1
        and column_suits(catalog[current[0]], cast(Task, task))
    ):
        return {"status": f"**{task}** on {code(current[0])}."}
    try:
        _, cols, schema_name = propose_task(catalog, cast("Task | None", task))  # one of the radio's choices
    except ConfigError as err:
        return _columns_and_status(columns, [], f"Choose the column yourself: {escape_md(err)}")
    if schema_name is not None:  # the columns are a named Galaxy Zoo tree's: use that tree
        engine.store.update_state(session_id, schema_name=schema_name, schema_yaml=None)
    return _columns_and_status(
        columns,
        cols,
        f"Suggested for **{task}**: {code(cols[0])}"
        + (f" and {len(cols) - 1} more" if len(cols) > 1 else "")
        + ". Change it if that is not what you want to predict.",
    )


def _as_list(label_cols: list[str] | str | None) -> list[str]:
    """The dropdown's value (one name, several, or none) as a list."""
    return [label_cols] if isinstance(label_cols, str) else list(label_cols or [])


def _columns_text(cols: list[str], most: int = 6) -> str:
    """The first ``most`` column names as code, comma-separated, and how many more, for a status line."""
    more = f" and {len(cols) - most} more" if len(cols) > most else ""
    return f"{', '.join(code(c) for c in cols[:most])}{more}"


@plain_errors
def use_task(engine: Engine, session_id: str, task: str | None, label_cols: list[str] | str | None) -> dict[str, Any]:
    """Check and save the chosen task and target columns.

    Returns:
        ``status`` and :data:`CHECKS`; the fix radio and button show only when there is a fix.

    Raises:
        gr.Error: If no task or no column is chosen, or the columns cannot be used for the task.
    """
    if task not in ("classification", "regression", "tree"):
        raise gr.Error("Choose a task first: classification, regression or vote-count tree.")
    catalog = engine.catalog(session_id)
    cols = _as_list(label_cols)
    if task == "tree":
        schema = engine.schema(session_id)
        if schema is None:
            raise gr.Error("A vote-count tree needs a decision tree: choose one on the **Schema** tab, then come back.")
        cols = list(schema.label_cols)
    if not cols:
        raise gr.Error("Choose the column to predict.")
    # A column of class names is reported below, with a one-click fix that numbers the classes.
    if task == "classification" and len(cols) != 1:
        raise gr.Error("Classification learns one column of class numbers; choose exactly one column.")
    if task == "regression":
        text_cols = [c for c in cols if not pd.api.types.is_numeric_dtype(catalog[c].dropna())]
        if text_cols:
            raise gr.Error(f"Column '{text_cols[0]}' holds text, not numbers; regression needs numeric columns.")
    report = engine.check_labels(session_id, task, cols)
    engine.store.update_state(session_id, task=task, label_cols=cols, pending_task=None, pending_label_cols=[])
    labelled = report.n_labelled
    chosen = f"**{task}** on {_columns_text(cols)}"
    if not report.ok:
        status = f"{chosen}: **fix the problems below before training.**"
    else:
        status = (
            f"{chosen}: **{labelled}** labelled galaxies will be used to train, validate and test; "
            f"**{report.n_rows - labelled}** without a label will only get predictions.\n\n**Ready:** go on to "
            "**4. Train**" + (" (check the tree on **3. Schema**)." if task == "tree" else ".")
        )
    return {"status": status, **problems_view(report.problems)}


@plain_errors
def apply_task_fix(
    engine: Engine, session_id: str, fix_choice: str | None, task: str | None, label_cols: list[str] | None
) -> dict[str, Any]:
    """Apply a one-click label fix (e.g. fill blank votes with 0), save the catalog, check again.

    Returns:
        :func:`use_task`'s values and the column dropdown (a fix may add a column: the class names).
    """
    from zoobot.catalog import apply_fix

    report = engine.label_report(session_id)
    if report is None:
        raise AppInputError("Click 'Use this task' first.")
    problem, fix = parse_fix_choice(fix_choice, report.problems)
    engine.replace_catalog(session_id, apply_fix(engine.catalog(session_id), problem, fix))
    return {
        **use_task(engine, session_id, task, label_cols),
        "label_cols": gr.Dropdown(
            choices=label_columns(engine.catalog(session_id)), value=label_cols, multiselect=True
        ),
    }


def clear_checks() -> dict[str, Any]:
    """Hide the problems and fixes of the last 'Use this task' check (the choice has changed)."""
    return {
        "problems": "",
        "fix_choice": gr.Radio(choices=[], value=None, visible=False),
        "fix_button": gr.Button(visible=False),
    }


def columns_chosen(label_cols: list[str] | str | None) -> dict[str, Any]:
    """The user picked columns by hand: say what comes next instead of an older suggestion or check."""
    cols = _as_list(label_cols)
    status = (
        f"Chosen: {_columns_text(cols)}. Click **Use this task** to check it."
        if cols
        else "Choose the column(s) to predict."
    )
    return {"status": status, **clear_checks()}


def remember_choice(engine: Engine, session_id: str | None, task: str | None, label_cols: Any) -> dict[str, Any]:
    """Keep the choice on screen in the session (not applied), so that a reload shows it again."""
    if session_id and task:
        state = engine.state(session_id)
        cols = _as_list(label_cols)
        applied = task == state.task and (task == "tree" or cols == list(state.label_cols))
        engine.store.update_state(
            session_id, pending_task=None if applied else task, pending_label_cols=[] if applied else cols
        )
    return {}


def build_task_tab(engine: Engine, session: gr.BrowserState, catalog_version: gr.State) -> dict[str, Any]:
    """Lay out the Task tab and wire its events; returns its components by name (and ``suggested``,
    the event that suggests a task for a newly loaded catalog)."""
    gr.Markdown("What should the model learn? Rows without a label are not trained on; they get predictions.")
    ui: dict[str, Any] = {"session_id": session}
    ui["task"] = gr.Radio(label="Task", choices=TASK_CHOICES, elem_id="task-task")
    ui["label_cols"] = gr.Dropdown(
        label="Column(s) to predict (for a tree: set by the schema)",
        choices=[],
        multiselect=True,
        elem_id="task-labels",
    )
    with gr.Row():
        ui["suggest"] = gr.Button("Suggest from my columns", elem_id="task-suggest")
        ui["use"] = gr.Button("Use this task", variant="primary", elem_id="task-use")
    ui["status"] = gr.Markdown(elem_id="task-status")
    ui["problems"] = gr.Markdown(elem_id="task-problems")
    ui["fix_choice"] = gr.Radio(label="One-click fixes", choices=[], visible=False, elem_id="task-fix-choice")
    ui["fix_button"] = gr.Button("Apply the chosen fix", visible=False, elem_id="task-fix")

    choice = pick(ui, "session_id", "task", "label_cols")
    listen(ui["suggest"].click, partial(suggest_task, engine), pick(ui, "session_id"), pick(ui, *CHOICE))
    columns_changed = listen(
        ui["task"].input, partial(columns_for_task, engine), choice, pick(ui, "label_cols", "status")
    )
    listen(columns_changed.then, partial(remember_choice, engine), choice, None)
    # A new choice makes the last check's problems and fixes stale.
    listen(ui["task"].input, clear_checks, None, pick(ui, *CHECKS))
    chosen = listen(ui["label_cols"].input, columns_chosen, pick(ui, "label_cols"), pick(ui, "status", *CHECKS))
    listen(chosen.then, partial(remember_choice, engine), choice, None)
    ui["suggested"] = listen(
        catalog_version.change, partial(suggest_task, engine), pick(ui, "session_id"), pick(ui, *CHOICE)
    )
    listen(ui["use"].click, partial(use_task, engine), choice, pick(ui, "status", *CHECKS))
    listen(
        ui["fix_button"].click,
        partial(apply_task_fix, engine),
        {**choice, "fix_choice": ui["fix_choice"]},
        pick(ui, "status", *CHECKS, "label_cols"),
    )
    return ui

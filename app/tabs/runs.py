"""Tab Runs: every past run in the runs folder (it survives an app restart) with its task, target,
catalog and headline figure; reopen one's results, rename or delete it, or compare two side by side."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd
import plotly.graph_objects as go

from app import plots
from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.escape import code, escape_html
from app.run_notes import clean_title, write_note
from app.run_reading import summarise_run
from app.runs import FilesError
from app.wiring import listen, pick
from zoobot.runs import RunFolder

COLUMNS = ["name", "task", "target", "catalog", "encoder", "status", "started", "headline"]
LIST = ("table", "picker", "other")
"""What listing the runs updates."""


def list_runs(engine: Engine, session_id: str) -> dict[str, Any]:
    """The runs this session may open (hosted: its own; local: every run in the runs folder).

    Returns:
        The runs ``table``, the run ``picker`` and the ``other`` run to compare with.
    """
    live = engine.manager.active_run_dirs()
    summaries = [
        summarise_run(d, live=str(d) in live) for d in engine.store.run_dirs(session_id if engine.hosted else None)
    ]
    table = pd.DataFrame([asdict(s) for s in summaries], columns=[*COLUMNS, "path"])
    choices = [(f"{s.name} ({s.task}, {s.status})", s.path) for s in summaries]
    return {
        "table": table[COLUMNS],
        "picker": gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
        "other": gr.Dropdown(choices=choices, value=choices[1][1] if len(choices) > 1 else None),
    }


def _checked(engine: Engine, session_id: str, picker: str | None) -> str:
    if not picker:
        raise AppInputError("Pick a run first.")
    if not engine.store.owns(session_id if engine.hosted else None, picker):
        raise AppInputError("That run is not in your runs folder; refresh the list and pick again.")
    return picker


@plain_errors
def open_run(engine: Engine, session_id: str, picker: str | None) -> dict[str, Any]:
    """Make the picked past run the session's current run and switch to its results.

    Returns:
        ``status``, the ``tabs`` switched to Results, and the ``run_version`` (the run's path).
    """
    picker = _checked(engine, session_id, picker)
    engine.store.update_state(session_id, run_dir=str(Path(picker)))
    return {
        "status": f"Opened {code(Path(picker).name)}.",
        "tabs": gr.Tabs(selected="results"),
        "run_version": str(picker),
    }


@plain_errors
def rename_run(engine: Engine, session_id: str, picker: str | None, title: str | None) -> dict[str, Any]:
    """Give the picked run a name (its folder stays as it is, so its config still re-runs)."""
    picker = _checked(engine, session_id, picker)
    write_note(picker, title=clean_title(title))
    return {**list_runs(engine, session_id), "status": f"Renamed {code(Path(picker).name)}.", "title": ""}


@plain_errors
def delete_run(engine: Engine, session_id: str, picker: str | None, confirm_delete: str | None) -> dict[str, Any]:
    """Delete the picked run for good, on the second click (the first one asks)."""
    picker = _checked(engine, session_id, picker)
    name = Path(picker).name
    if confirm_delete != picker:
        return {
            "status": f"**Delete run {code(name)} for good?** Its results and model go too. Click "
            "**Delete this run** again to delete it.",
            "confirm_delete": picker,
        }
    try:
        engine.store.delete_run(
            session_id if engine.hosted else None, picker, busy=frozenset(engine.manager.active_run_dirs())
        )
    except FilesError as err:
        raise AppInputError(str(err)) from err
    return {**list_runs(engine, session_id), "status": f"Deleted run {code(name)}.", "confirm_delete": None}


def _metric_rows(metrics: dict[str, Any]) -> dict[str, float]:
    """A run's single-number test metrics (nested per-class or per-question ones flattened one level)."""
    rows: dict[str, float] = {}
    for key, value in metrics.items():
        if isinstance(value, bool):
            continue
        if isinstance(value, (int, float)):
            rows[key] = float(value)
        elif isinstance(value, dict):
            rows.update({f"{key}: {k}": float(v) for k, v in value.items() if isinstance(v, (int, float))})
    return rows


@plain_errors
def compare_runs(engine: Engine, session_id: str, picker: str | None, other: str | None) -> dict[str, Any]:
    """The two runs' validation loss curves on one plot, and their test metrics side by side.

    Returns:
        ``compare_plot`` and ``compare_table``.
    """
    first, second = _checked(engine, session_id, picker), _checked(engine, session_id, other)
    if Path(first).resolve() == Path(second).resolve():
        raise AppInputError("Pick two different runs to compare: one under Run, the other under Compare with.")
    names = [summarise_run(first).name, summarise_run(second).name]
    fig = go.Figure()
    for path, name in zip((first, second), names, strict=True):
        metrics = RunFolder(path).read_metrics()
        if metrics is not None and "val_loss" in metrics:
            rows = metrics[["epoch", "val_loss"]].dropna()
            fig.add_trace(
                go.Scatter(x=rows["epoch"] + 1, y=rows["val_loss"], mode="lines+markers", name=escape_html(name))
            )
    if not fig.data:
        fig = plots.empty_figure("Neither run has finished an epoch.")
    else:
        fig.update_layout(title="Validation loss of the two runs", xaxis_title="epoch", yaxis_title="loss")
    columns = {name: _metric_rows(RunFolder(p).read_test_metrics() or {}) for p, name in zip((first, second), names)}
    if names[0] == names[1]:
        columns = {f"{names[0]} (1)": columns[names[0]], f"{names[1]} (2)": columns[names[1]]}
    table = pd.DataFrame(columns).rename_axis("test metric").reset_index()
    return {"compare_plot": fig, "compare_table": table if len(table) else None}


def build_runs_tab(engine: Engine, session: gr.BrowserState, tabs: gr.Tabs, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Runs tab and wire its events; returns its components by name."""
    ui: dict[str, Any] = {"session_id": session, "tabs": tabs, "run_version": run_version}
    ui["refresh"] = gr.Button("Refresh the list", elem_id="runs-refresh")
    ui["table"] = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="runs-table")
    with gr.Row():
        ui["picker"] = gr.Dropdown(label="Run", choices=[], scale=4, elem_id="runs-pick")
        ui["open"] = gr.Button("Open its results", variant="primary", scale=1, elem_id="runs-open")
    with gr.Row():
        ui["title"] = gr.Textbox(label="New name for this run", scale=3, elem_id="runs-title")
        ui["rename"] = gr.Button("Rename", scale=1, elem_id="runs-rename")
        ui["delete"] = gr.Button("Delete this run", variant="stop", scale=1, elem_id="runs-delete")
    ui["status"] = gr.Markdown(elem_id="runs-status")
    ui["confirm_delete"] = gr.State(None)
    with gr.Accordion("Compare two runs", open=False, elem_id="runs-compare-panel"):
        with gr.Row():
            ui["other"] = gr.Dropdown(label="Compare with", choices=[], scale=4, elem_id="runs-other")
            ui["compare"] = gr.Button("Compare", scale=1, elem_id="runs-compare")
        with gr.Row():
            ui["compare_plot"] = gr.Plot(show_label=False, elem_id="runs-compare-plot")
            ui["compare_table"] = gr.Dataframe(interactive=False, elem_id="runs-compare-table")
    listen(ui["refresh"].click, partial(list_runs, engine), pick(ui, "session_id"), pick(ui, *LIST))
    # every other button acts on the picked run: (button, handler, what it reads besides both, what it updates)
    for button, handler, reads, updates in (
        ("open", open_run, (), ("status", "tabs", "run_version")),
        ("rename", rename_run, ("title",), (*LIST, "status", "title")),
        ("delete", delete_run, ("confirm_delete",), (*LIST, "status", "confirm_delete")),
        ("compare", compare_runs, ("other",), ("compare_plot", "compare_table")),
    ):
        listen(ui[button].click, partial(handler, engine), pick(ui, "session_id", "picker", *reads), pick(ui, *updates))
    return ui

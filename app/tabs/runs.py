"""Tab 7, Runs: every past run in the runs folder (it survives an app restart); reopen one's results."""

from __future__ import annotations

from dataclasses import asdict
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.escape import code
from app.runs import summarise_run
from app.wiring import listen, pick

COLUMNS = ["name", "task", "encoder", "status", "started", "headline"]


def list_runs(engine: Engine, session_id: str) -> dict[str, Any]:
    """The runs this session may open (hosted: its own; local: every run in the runs folder).

    Returns:
        The runs ``table`` and the run ``picker`` dropdown.
    """
    live = engine.manager.active_run_dirs()
    summaries = [
        summarise_run(d, live=str(d) in live) for d in engine.store.run_dirs(session_id if engine.hosted else None)
    ]
    table = pd.DataFrame([asdict(s) for s in summaries], columns=[*COLUMNS, "path"])
    choices = [(f"{s.name} ({s.task}, {s.status})", s.path) for s in summaries]
    return {"table": table[COLUMNS], "picker": gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)}


@plain_errors
def open_run(engine: Engine, session_id: str, picker: str | None) -> dict[str, Any]:
    """Make the picked past run the session's current run and switch to its results.

    Returns:
        ``status``, the ``tabs`` switched to Results, and the ``run_version`` (the run's path).
    """
    if not picker:
        raise AppInputError("Pick a run first.")
    if not engine.store.owns(session_id if engine.hosted else None, picker):
        raise AppInputError("That run is not in your runs folder; refresh the list and pick again.")
    engine.store.update_state(session_id, run_dir=str(Path(picker)))
    return {
        "status": f"Opened {code(Path(picker).name)}.",
        "tabs": gr.Tabs(selected="results"),
        "run_version": str(picker),
    }


def build_runs_tab(engine: Engine, session: gr.BrowserState, tabs: gr.Tabs, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Runs tab and wire its events; returns its components by name."""
    ui: dict[str, Any] = {"session_id": session, "tabs": tabs, "run_version": run_version}
    ui["refresh"] = gr.Button("Refresh the list", elem_id="runs-refresh")
    ui["table"] = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="runs-table")
    with gr.Row():
        ui["picker"] = gr.Dropdown(label="Run", choices=[], scale=4, elem_id="runs-pick")
        ui["open"] = gr.Button("Open its results", variant="primary", scale=1, elem_id="runs-open")
    ui["status"] = gr.Markdown(elem_id="runs-status")
    listen(ui["refresh"].click, partial(list_runs, engine), pick(ui, "session_id"), pick(ui, "table", "picker"))
    listen(
        ui["open"].click,
        partial(open_run, engine),
        pick(ui, "session_id", "picker"),
        pick(ui, "status", "tabs", "run_version"),
    )
    return ui

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
from app.runs import summarise_run

COLUMNS = ["name", "task", "encoder", "status", "started", "headline"]


def list_runs(engine: Engine, session_id: str) -> tuple[pd.DataFrame, Any]:
    """The runs this session may open (hosted: its own; local: every run in the runs folder).

    Returns:
        ``(runs table, run picker dropdown)``.
    """
    live = engine.manager.active_run_dirs()
    summaries = [summarise_run(d, live=str(d) in live)
                 for d in engine.store.run_dirs(session_id if engine.hosted else None)]
    table = pd.DataFrame([asdict(s) for s in summaries], columns=[*COLUMNS, "path"])
    choices = [(f"{s.name} ({s.task}, {s.status})", s.path) for s in summaries]
    return table[COLUMNS], gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)


@plain_errors
def open_run(engine: Engine, session_id: str, run_path: str | None) -> tuple[str, Any, str]:
    """Make a past run the session's current run and switch to its results.

    Returns:
        ``(status, tabs update, run version)``.
    """
    if not run_path:
        raise AppInputError("Pick a run first.")
    if not engine.store.owns(session_id if engine.hosted else None, run_path):
        raise AppInputError("That run is not in your runs folder; refresh the list and pick again.")
    engine.store.update_state(session_id, run_dir=str(Path(run_path)))
    return f"Opened `{Path(run_path).name}`.", gr.Tabs(selected="results"), str(run_path)


def build_runs_tab(engine: Engine, session: gr.BrowserState, tabs: gr.Tabs, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Runs tab and wire its events; returns its components by name."""
    refresh = gr.Button("Refresh the list", elem_id="runs-refresh")
    table = gr.Dataframe(headers=COLUMNS, interactive=False, elem_id="runs-table")
    with gr.Row():
        picker = gr.Dropdown(label="Run", choices=[], scale=4, elem_id="runs-pick")
        open_btn = gr.Button("Open its results", variant="primary", scale=1, elem_id="runs-open")
    status = gr.Markdown(elem_id="runs-status")
    refresh.click(partial(list_runs, engine), [session], [table, picker])
    open_btn.click(partial(open_run, engine), [session, picker], [status, tabs, run_version])
    return {"table": table, "picker": picker, "refresh": partial(list_runs, engine)}

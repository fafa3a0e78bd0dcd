"""A fold of the Results tab: how far to trust the run's uncertainties, from its ``calibration.json``.

Every run measures its calibration on its held-out galaxies when it finishes (``zoobot.runs.run_finetune``),
so showing it reads one small file: no job. The figures are :mod:`app.plots_calibration`'s."""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.engine.training import current_run
from app.plots_calibration import calibration_view
from app.wiring import listen, pick

VIEW = ("calibration_summary", "calibration_plot_1", "calibration_plot_2")
"""What the fold shows (:func:`show_calibration`'s names)."""


@plain_errors
def show_calibration(engine: Engine, session_id: str) -> dict[str, Any]:
    """The session's current run's calibration report: a summary and two figures (values for :data:`VIEW`)."""
    try:
        folder = current_run(engine, session_id)
    except AppInputError as err:  # no run yet: the Results tab says so already; no second pop-up
        return {"calibration_summary": str(err)}
    summary, first, second = calibration_view(folder.read_calibration())
    return {"calibration_summary": summary, "calibration_plot_1": first, "calibration_plot_2": second}


def build_calibration_fold(
    engine: Engine, session: gr.BrowserState, run_version: gr.State, refresh: gr.Button
) -> dict[str, Any]:
    """Lay out the fold (closed; read when opened, when a run finishes, and on the Results tab's refresh)."""
    ui: dict[str, Any] = {"session_id": session}
    with gr.Accordion(
        "How far to trust the uncertainties: calibration on held-out galaxies", open=False, elem_id="calibration-fold"
    ) as ui["calibration_fold"]:
        ui["calibration_summary"] = gr.Markdown(elem_id="calibration-summary")
        with gr.Row():
            ui["calibration_plot_1"] = gr.Plot(show_label=False, elem_id="calibration-plot-1")
            ui["calibration_plot_2"] = gr.Plot(show_label=False, elem_id="calibration-plot-2")
    for trigger in (ui["calibration_fold"].expand, run_version.change, refresh.click):
        listen(trigger, partial(show_calibration, engine), pick(ui, "session_id"), pick(ui, *VIEW))
    return ui

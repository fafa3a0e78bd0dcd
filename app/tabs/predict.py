"""Tab Predict: use a finished model on new galaxies. The model is a finished run (from the runs list) or
an uploaded finetuned checkpoint (``.ckpt``, this app's or Zoobot 2.x's, or a run's
``finetuned_model.zip``); the galaxies are a catalog with its images, a zip of images, or single images.
The prediction runs as a job (``app.engine.predicting``); the table shows here, the CSV downloads."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from app.common import plain_errors, wait_text
from app.engine import Engine
from app.engine.predicting import model_runs, read_predictions, submit_prediction
from app.errors import hide_server_paths, plain_text
from app.escape import escape_md
from app.tabs.results import TABLE_ROWS, readable
from app.wiring import listen, pick

VIEW = ("status", "table", "download", "timer")
"""What a poll of the prediction job updates."""
WAITING = "Choose a model and upload galaxies, then click **Predict**."
INTRO = (
    "Use a finished model on new galaxies: pick a run, upload a finetuned checkpoint, or name a published "
    "Zoobot model on the Hugging Face Hub (for a decision tree: Galaxy Zoo vote fractions for every galaxy); "
    "then upload a catalog with its images, a zip of images, or just one image."
)
"""What the tab says first: the three ways to choose a model, and what to upload."""


def list_models(engine: Engine, session_id: str | None) -> dict[str, Any]:
    """The finished runs to choose from (opening the tab), the newest first."""
    if not session_id:
        return {}
    runs = model_runs(engine, session_id)
    choices = [(f"{f.name} ({f.read_config_values().get('task', '?')})", str(f.path)) for f in runs]
    return {"run": gr.Dropdown(choices=choices, value=choices[0][1] if choices else None)}


@plain_errors
def start_prediction(
    engine: Engine,
    session_id: str,
    run: str | None,
    model_file: str | None,
    catalog_file: str | None,
    image_files: list[str] | None,
    hub_name: str | None = None,
) -> dict[str, Any]:
    """Queue the prediction of the uploaded galaxies with the chosen model; the timer polls it."""
    submit_prediction(
        engine, session_id, catalog_file, image_files, run_dir=run, model_file=model_file, hub_name=hub_name
    )
    if model_file:
        which = f"checkpoint {escape_md(Path(model_file).name)}"
    elif hub_name and hub_name.strip():
        which = f"published model {escape_md(hub_name.strip())}"
    else:
        which = f"run {escape_md(Path(run or '').name)}"
    return {"status": f"Predicting with the {which}…", "timer": gr.Timer(active=True), "table": None}


def poll_prediction(engine: Engine, session_id: str) -> dict[str, Any]:
    """Timer tick (and page load): where the session's latest prediction stands; its table when done."""
    job = engine.manager.latest(session_id, "predict")
    if job is None:
        return {"status": WAITING, "timer": gr.Timer(active=False)}
    if job.active:
        waiting = wait_text(engine.manager, job)
        message = f"Waiting ({waiting})" if waiting else (job.message or "Starting")
        return {"status": f"Working: {escape_md(message)}…", "timer": gr.Timer(active=True)}
    if job.status != "finished":
        error = escape_md(plain_text(hide_server_paths(job.error or job.status)))
        return {"status": f"**The prediction failed:** {error}", "timer": gr.Timer(active=False)}
    folder = Path(job.run_dir or "")
    table = read_predictions(folder)
    if table is None:
        return {"status": "**The prediction left no table.** Try again.", "timer": gr.Timer(active=False)}
    shown = table.drop(columns=[c for c in ("file_loc",) if c in table])
    one = ""
    if len(table) == 1 and "predicted_class" in table:  # a single image: the answer in words
        one = f" Predicted class: **{escape_md(table['predicted_class'].iloc[0])}**."
    return {
        "status": f"**Predicted {len(table)} {'galaxy' if len(table) == 1 else 'galaxies'}.**{one}"
        f" The first {min(len(table), TABLE_ROWS)} are below; "
        "download the CSV for all (the same columns as `zoobot predict` writes).",
        "table": readable(shown.head(TABLE_ROWS)),
        "download": str(folder / "predictions.csv"),
        "timer": gr.Timer(active=False),
    }


def build_predict_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Predict tab and wire its events; returns its components by name."""
    gr.Markdown(INTRO)
    ui: dict[str, Any] = {"session_id": session}
    with gr.Row():
        ui["run"] = gr.Dropdown(label="A finished run", choices=[], scale=3, elem_id="predict-run")
        ui["model_file"] = gr.File(
            label="…or a finetuned checkpoint (.ckpt, Zoobot 2.x too, or finetuned_model.zip)",
            file_types=[".ckpt", ".zip"],
            scale=2,
            elem_id="predict-model-file",
        )
    ui["hub_name"] = gr.Textbox(
        label="…or a published finetuned model on the Hugging Face Hub (owner/name)",
        placeholder="mwalmsley/zoobot-finetuned-is_tidal",
        elem_id="predict-hub-name",
    )
    with gr.Row():
        ui["image_files"] = gr.File(
            label="Images: a .zip, or one or more image files", file_count="multiple", elem_id="predict-images"
        )
        ui["catalog_file"] = gr.File(
            label="Catalog (optional: id_str, file_loc)",
            file_types=[".csv", ".parquet", ".pq"],
            elem_id="predict-catalog",
        )
    ui["start"] = gr.Button("Predict", variant="primary", elem_id="predict-start")
    ui["status"] = gr.Markdown(WAITING, elem_id="predict-status")
    ui["table"] = gr.Dataframe(
        label=f"Predictions (first {TABLE_ROWS} rows)", interactive=False, max_height=360, elem_id="predict-table"
    )
    ui["download"] = gr.File(label="Predictions (CSV)", interactive=False, elem_id="predict-download")
    ui["timer"] = gr.Timer(1.0, active=False)

    listen(
        ui["start"].click,
        partial(start_prediction, engine),
        pick(ui, "session_id", "run", "model_file", "catalog_file", "image_files", "hub_name"),
        pick(ui, "status", "timer", "table"),
    )
    listen(ui["timer"].tick, partial(poll_prediction, engine), pick(ui, "session_id"), pick(ui, *VIEW))
    return ui

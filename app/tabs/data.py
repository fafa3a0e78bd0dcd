"""Tab 1, Data: load the demo survey, upload a catalog with its images, or (locally) read a
catalog from disk; then see what was found and fix problems with one click."""

from __future__ import annotations

import tempfile
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from app import plots
from app.common import (
    galaxy_gallery,
    gallery_items,
    label_captions,
    label_columns,
    parse_fix_choice,
    plain_errors,
    problems_view,
    wait_text,
)
from app.engine import AppInputError, Engine
from app.engine.sources import file_source, upload_source
from app.errors import hide_server_paths, plain_text
from app.escape import code, escape_md
from app.jobs import JobLimitError
from app.uploads import store_upload
from app.wiring import listen, pick, poll
from zoobot.catalog import TEMPLATE_COLUMNS, write_template_catalog

VIEW = ("status", "problems", "fix_choice", "fix_button", "gallery", "label_column", "label_plot")
"""What the Data tab shows about the session's catalog (:func:`show_catalog`'s names)."""
MAPPING = ("mapping", "image_column", "id_column")
"""The column pickers shown for a catalog without ``file_loc``."""
NO_ID_COLUMN = "(none: name galaxies by their image file)"


def _started(status: str) -> dict[str, Any]:
    """A catalog job was started: say so and poll it."""
    return {"status": status, "timer": gr.Timer(active=True)}


@plain_errors
def load_demo(engine: Engine, session_id: str) -> dict[str, Any]:
    """Start loading the built-in synthetic survey (generated once, then reused)."""
    engine.submit_demo(session_id)
    return _started("Loading the demo survey…")


@plain_errors
def load_upload(
    engine: Engine, session_id: str, catalog_file: str | None, image_files: list[str] | None
) -> dict[str, Any]:
    """Store an uploaded catalog and images (zip or files) in the session folder and check them."""
    if not catalog_file and not image_files:
        raise gr.Error("Nothing uploaded yet: add your catalog (.csv or .parquet) and a zip of its images.")
    folder = engine.store.new_upload_dir(session_id)
    stored = store_upload(
        catalog_file, list(image_files or []), folder, engine.limits.upload, room_mb=engine.upload_room_mb(session_id)
    )
    engine.submit_catalog(
        session_id, stored.catalog.name, upload_source(stored, engine.limits.catalog_rows), upload_root=folder.parent
    )
    return _started(f"Checking {escape_md(stored.catalog.name)}…")


@plain_errors
def load_path(engine: Engine, session_id: str, catalog_path: str) -> dict[str, Any]:
    """Read a catalog from this computer's disk (local mode only); file_loc must be local."""
    if engine.hosted:
        raise gr.Error("This hosted app cannot read files on the server; upload your catalog and images instead.")
    if not catalog_path or not catalog_path.strip():
        raise gr.Error("Type the path of a catalog file (.csv or .parquet) on this computer.")
    path = Path(catalog_path.strip()).expanduser()
    if not path.is_file():
        # In the status (not only a pop-up), so the last message about another file is not left standing.
        return {
            "status": _not_loaded(
                engine,
                session_id,
                f"There is no file at {code(path)}. Check the path (it is read on the computer running the app).",
            ),
            "timer": gr.Timer(active=False),
        }
    engine.submit_catalog(
        session_id, path.name, file_source(path.resolve(), (path.resolve().parent,), engine.limits.catalog_rows)
    )
    return _started(f"Checking {escape_md(path.name)}…")


def _default_label(engine: Engine, session_id: str, catalog: pd.DataFrame) -> tuple[str | None, Any]:
    """The column the Data tab shows first, and the decision tree when the catalog holds vote counts."""
    from zoobot.runs import ConfigError
    from zoobot.schemas import SchemaError
    from zoobot.tasks import propose_task

    state = engine.state(session_id)
    if state.label_cols and state.label_cols[0] in catalog:
        try:
            schema = engine.schema(session_id) if state.task == "tree" else None
        except SchemaError:
            schema = None
        return state.label_cols[0], schema
    try:
        task, cols, schema_name = propose_task(catalog)
    except ConfigError:
        columns = label_columns(catalog)
        return (columns[0] if columns else None), None
    if schema_name is None:
        return cols[0], None
    from zoobot.trees import get_schema

    return cols[0], get_schema(schema_name)


def show_catalog(engine: Engine, session_id: str) -> dict[str, Any]:
    """Everything the Data tab shows about the session's current catalog.

    Returns:
        Values for :data:`VIEW`: the summary as ``status``, the problem list, the fix radio and button
        (shown only when there is something to fix), the gallery, the label column and its plot.
    """
    check = engine.check(session_id)
    if check is None:
        return {
            "status": "No catalog loaded yet. Click **Load the demo survey** to try the app, or upload your own.",
            "problems": "",
            "fix_choice": gr.Radio(choices=[], value=None, visible=False),
            "fix_button": gr.Button(visible=False),
            "gallery": [],
            "label_column": gr.Dropdown(choices=[], value=None),
            "label_plot": plots.empty_figure("Load a catalog to see its labels."),
        }
    catalog, report = check.catalog, check.report
    name = engine.state(session_id).catalog_name or "catalog"
    summary = (
        f"### {escape_md(name)}\n**{report.n_rows}** galaxies · images: **{report.n_images_found}** found, "
        f"**{report.n_images_missing}** missing, **{report.n_images_unreadable}** unreadable."
    )
    if report.missing_examples:
        summary += f"\n\nMissing images, e.g. {code(hide_server_paths(report.missing_examples[0]))}."
    if engine.limits.hosted_mode and any(p.code == "images_too_large" for p in report.problems):
        summary += f"\n\n{engine.limits.advice}"  # the pixel cap is this app's, not the data's fault
    if report.ok:
        summary += "\n\n**Ready:** go on to **2. Task**."
    label, schema = _default_label(engine, session_id, catalog)
    sample = catalog.head(12)
    captions = label_captions(sample, label, schema)
    return {
        "status": summary,
        **problems_view(report.problems),
        "gallery": gallery_items(sample["file_loc"].astype(str), captions),
        "label_column": gr.Dropdown(choices=label_columns(catalog), value=label),
        "label_plot": plots.label_distribution(catalog[label], label)
        if label
        else plots.empty_figure("No label columns."),
    }


def _not_loaded(engine: Engine, session_id: str, why: object) -> str:
    """Why a catalog was not loaded, and which one (if any) is still in use."""
    if engine.check(session_id) is None:
        still = "No catalog is loaded yet."
    else:
        still = (
            f"**{escape_md(engine.state(session_id).catalog_name or 'The previous catalog')}** (below) is still "
            "the one in use."
        )
    return f"**Could not load the catalog.** {why}\n\n{still}"


def poll_catalog_job(engine: Engine, session_id: str) -> dict[str, Any]:
    """Timer tick: report the running catalog job, or show the result when it has ended.

    Returns:
        :func:`show_catalog`'s values, the ``timer`` and the ``catalog_version`` (the ended job's id).
    """
    job = engine.manager.latest(session_id, "catalog")
    if job is None:
        return {**show_catalog(engine, session_id), "timer": gr.Timer(active=False)}
    if job.active:
        waiting = wait_text(engine.manager, job)
        message = f"Waiting ({waiting})" if waiting else (job.message or "Waiting to start")
        return {"status": f"Working: {escape_md(message)}…", "timer": gr.Timer(active=True)}
    view = {**show_catalog(engine, session_id), **column_pickers(engine.columns_needed(session_id))}
    if job.status == "failed":
        view["status"] = _not_loaded(engine, session_id, escape_md(plain_text(job.error or "")))
        needed = engine.columns_needed(session_id)
        if needed is not None and needed.image_guess:  # not a failure: one more choice to make
            view["status"] = view["status"].replace("**Could not load the catalog.**", "**Which columns?**", 1)
        # the problem list and fixes below are the previous catalog's: not shown under this error
        view.update(problems="", fix_choice=gr.Radio(choices=[], value=None, visible=False))
        view["fix_button"] = gr.Button(visible=False)
    return {**view, "timer": gr.Timer(active=False), "catalog_version": job.id}


def restore_catalog(engine: Engine, session_id: str) -> dict[str, Any]:
    """Page load (and reload): the session's catalog, or the job loading it, picked up where it stands.

    A catalog job still going is polled (its progress shown at once); a demo survey whose drawing the app
    stopped in the middle of (``demo_pending``) is asked for again and finished, keeping what was drawn; a
    working catalog saved before the app restarted is checked again.

    Returns:
        Values for :data:`VIEW` and the ``timer``.
    """
    view = {**show_catalog(engine, session_id), "timer": gr.Timer(active=False)}
    job = engine.manager.latest(session_id, "catalog")
    state = engine.state(session_id)
    if job is not None and job.active:
        return {**view, **poll_catalog_job(engine, session_id)}
    if state.demo_pending:
        try:
            engine.submit_demo(session_id)
        except JobLimitError as err:  # the flag is cleared: the button starts it again
            return {**view, "status": _not_loaded(engine, session_id, escape_md(str(err)))}
        return {**view, **_started("Picking up the demo survey where it stopped…")}
    if engine.check(session_id) is None and state.catalog_path and Path(state.catalog_path).is_file():
        # The app restarted: check the saved working catalog again (its file_loc are absolute).
        path = Path(state.catalog_path)
        engine.submit_catalog(session_id, state.catalog_name or path.name, file_source(path, (path.parent,)))
        return {**view, **_started("Checking your catalog again…")}
    return view


def column_pickers(needed: Any) -> dict[str, Any]:
    """The column pickers (:data:`MAPPING`): shown with the catalog's columns and the likely ones chosen when
    the catalog has no ``file_loc`` (``needed``: the engine's ``ColumnsNeeded``), hidden otherwise."""
    if needed is None:
        return {"mapping": gr.Column(visible=False)}
    return {
        "mapping": gr.Column(visible=True),
        "image_column": gr.Dropdown(choices=needed.columns, value=needed.image_guess),
        "id_column": gr.Dropdown(choices=[NO_ID_COLUMN, *needed.columns], value=needed.id_guess or NO_ID_COLUMN),
    }


@plain_errors
def use_columns(engine: Engine, session_id: str, image_column: str | None, id_column: str | None) -> dict[str, Any]:
    """Load the catalog again with the picked image and identifier columns."""
    if not image_column:
        raise AppInputError("Pick the column that holds each galaxy's image file.")
    ids = None if id_column in (None, "", NO_ID_COLUMN) else id_column
    engine.submit_mapped(session_id, {"file_loc": image_column, "id_str": ids})
    return {**_started(f"Reading the images from column {code(image_column)}…"), "mapping": gr.Column(visible=False)}


@plain_errors
def apply_data_fix(engine: Engine, session_id: str, fix_choice: str | None) -> dict[str, Any]:
    """Apply the chosen one-click fix, then check the catalog again."""
    check = engine.check(session_id)
    if check is None:
        raise AppInputError("Load a catalog first.")
    problem, fix = parse_fix_choice(fix_choice, check.report.problems)
    engine.submit_fix(session_id, problem, fix)
    return _started("Applying the fix…")


@plain_errors
def label_plot(engine: Engine, session_id: str, label_column: str | None) -> dict[str, Any]:
    """The distribution of one catalog column."""
    catalog = engine.catalog(session_id)
    if not label_column or label_column not in catalog:
        return {"label_plot": plots.empty_figure("Choose a column.")}
    return {"label_plot": plots.label_distribution(catalog[label_column], label_column)}


def template_help() -> str:
    """What the template catalog's columns hold, as Markdown (from :data:`zoobot.catalog.TEMPLATE_COLUMNS`)."""
    lines = [f"- {code(name)}: {escape_md(meaning)}" for name, meaning in TEMPLATE_COLUMNS.items()]
    return (
        "Five example galaxies with one column of each kind. Keep `id_str`, `file_loc` and the label "
        "columns of your task, delete the rest, and put your images where `file_loc` says (relative to the "
        "catalog's folder, or inside the zip you upload with it).\n\n" + "\n".join(lines)
    )


def template_download() -> dict[str, Any]:
    """The template catalog as a file to download (:func:`zoobot.catalog.write_template_catalog`)."""
    folder = Path(tempfile.mkdtemp(prefix="zoobot_template_"))
    return {"template_file": str(write_template_catalog(folder / "catalog_template.csv"))}


def build_data_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Data tab and wire its events; returns its components by name."""
    gr.Markdown(
        "Start with a catalog: one row per galaxy, with `id_str`, `file_loc` (the image file) and "
        "your labels (other column names are fine: you pick them after uploading). Not sure yet? Try the "
        "built-in demo survey of synthetic galaxies."
    )
    ui: dict[str, Any] = {"session_id": session}
    with gr.Row():
        ui["demo"] = gr.Button("Load the demo survey (600 synthetic galaxies)", variant="primary", elem_id="data-demo")
    with gr.Accordion("Upload your own catalog", open=False, elem_id="data-upload-panel"):
        with gr.Row():
            ui["catalog_file"] = gr.File(
                label="Catalog (.csv or .parquet)", file_types=[".csv", ".parquet", ".pq"], elem_id="data-catalog-file"
            )
            ui["image_files"] = gr.File(
                label="Images: one .zip, or many image files", file_count="multiple", elem_id="data-image-files"
            )
        ui["upload"] = gr.Button("Check my upload", elem_id="data-upload")
        with gr.Accordion("Not sure how to lay out a catalog? Start from a template", open=False):
            gr.Markdown(template_help())
            with gr.Row():
                ui["template"] = gr.Button("Download the template (CSV)", scale=1, elem_id="data-template")
                ui["template_file"] = gr.File(
                    label="Template catalog", interactive=False, scale=2, elem_id="data-template-file"
                )
    if not engine.hosted:
        with gr.Accordion("Or use a catalog on this computer", open=False), gr.Row():
            ui["catalog_path"] = gr.Textbox(
                label="Catalog path", placeholder="/data/my_survey/catalog.csv", scale=4, elem_id="data-path"
            )
            ui["load_path"] = gr.Button("Check this catalog", scale=1, elem_id="data-path-load")
    ui["status"] = gr.Markdown(elem_id="data-status")
    with gr.Column(visible=False, elem_id="data-mapping") as ui["mapping"], gr.Row():
        ui["image_column"] = gr.Dropdown(
            label="Column with the image file of each galaxy", choices=[], scale=2, elem_id="data-image-column"
        )
        ui["id_column"] = gr.Dropdown(label="Column with its identifier", choices=[], scale=2, elem_id="data-id-column")
        ui["use_columns"] = gr.Button("Use these columns", variant="primary", scale=1, elem_id="data-use-columns")
    with gr.Row():
        with gr.Column(scale=3):
            ui["gallery"] = galaxy_gallery("First galaxies, with their labels", "data-gallery", columns=4, height=420)
        with gr.Column(scale=2):
            ui["label_column"] = gr.Dropdown(label="Show the distribution of", choices=[], elem_id="data-dist-col")
            ui["label_plot"] = gr.Plot(elem_id="data-dist-plot", show_label=False)
    ui["problems"] = gr.Markdown(elem_id="data-problems")
    ui["fix_choice"] = gr.Radio(label="One-click fixes", choices=[], visible=False, elem_id="data-fix-choice")
    ui["fix_button"] = gr.Button("Apply the chosen fix", visible=False, elem_id="data-fix")
    ui["timer"] = gr.Timer(1.0, active=False)
    ui["catalog_version"] = gr.State(None)

    started = pick(ui, "status", "timer")
    listen(ui["demo"].click, partial(load_demo, engine), pick(ui, "session_id"), started)
    listen(
        ui["upload"].click, partial(load_upload, engine), pick(ui, "session_id", "catalog_file", "image_files"), started
    )
    if not engine.hosted:
        listen(ui["load_path"].click, partial(load_path, engine), pick(ui, "session_id", "catalog_path"), started)
    listen(ui["fix_button"].click, partial(apply_data_fix, engine), pick(ui, "session_id", "fix_choice"), started)
    listen(ui["template"].click, template_download, None, pick(ui, "template_file"))
    poll(
        ui["timer"],
        partial(poll_catalog_job, engine),
        pick(ui, "session_id"),
        pick(ui, *VIEW, *MAPPING, "timer", "catalog_version"),
    )
    listen(
        ui["use_columns"].click,
        partial(use_columns, engine),
        pick(ui, "session_id", "image_column", "id_column"),
        pick(ui, "status", "timer", "mapping"),
    )
    listen(
        ui["label_column"].input,
        partial(label_plot, engine),
        pick(ui, "session_id", "label_column"),
        pick(ui, "label_plot"),
    )
    return ui

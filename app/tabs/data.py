"""Tab 1, Data: load the demo survey, upload a catalog with its images, or (locally) read a
catalog from disk; then see what was found and fix problems with one click."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from app import plots
from app.common import fix_choices, gallery_items, label_captions, parse_fix_choice, plain_errors, problems_markdown
from app.engine import AppInputError, Engine
from app.uploads import store_upload

_RESERVED = ("id_str", "file_loc")


@plain_errors
def load_demo(engine: Engine, session_id: str) -> tuple[str, gr.Timer]:
    """Start loading the built-in synthetic survey (generated once, then reused)."""
    engine.submit_catalog(session_id, "demo survey", engine.demo_source())
    return "Loading the demo survey…", gr.Timer(active=True)


@plain_errors
def load_upload(engine: Engine, session_id: str, catalog_file: str | None,
                image_files: list[str] | None) -> tuple[str, gr.Timer]:
    """Store an uploaded catalog and images (zip or files) in the session folder and check them."""
    if not catalog_file and not image_files:
        raise gr.Error("Nothing uploaded yet: add your catalog (.csv or .parquet) and a zip of its images.")
    uploads = engine.store.uploads_dir(session_id)
    folder = uploads / f"upload_{len(list(uploads.iterdir())) + 1:03d}"
    stored = store_upload(catalog_file, list(image_files or []), folder, engine.limits)
    engine.submit_catalog(session_id, stored.catalog.name, engine.upload_source(stored), upload_root=uploads)
    return f"Checking {stored.catalog.name}…", gr.Timer(active=True)


@plain_errors
def load_path(engine: Engine, session_id: str, path_text: str) -> tuple[str, gr.Timer]:
    """Read a catalog from this computer's disk (local mode only); file_loc must be local."""
    if engine.hosted:
        raise gr.Error("This hosted app cannot read files on the server; upload your catalog and images instead.")
    if not path_text or not path_text.strip():
        raise gr.Error("Type the path of a catalog file (.csv or .parquet) on this computer.")
    path = Path(path_text.strip()).expanduser()
    if not path.is_file():
        # In the status (not only a pop-up), so the last message about another file is not left standing.
        return (_not_loaded(engine, session_id, f"There is no file at `{path}`. Check the path (it is read on "
                                                "the computer running the app)."), gr.Timer(active=False))
    engine.submit_catalog(session_id, path.name, engine.file_source(path.resolve(), (path.resolve().parent,)))
    return f"Checking {path.name}…", gr.Timer(active=True)


def _label_columns(catalog: pd.DataFrame) -> list[str]:
    return [c for c in catalog.columns if c not in _RESERVED]


def _default_label(engine: Engine, session_id: str, catalog: pd.DataFrame) -> tuple[str | None, Any]:
    """The column the Data tab shows first, and the decision tree when the catalog holds vote counts."""
    from zoobot.config import ConfigError, propose_task
    from zoobot.schemas import SchemaError

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
        columns = _label_columns(catalog)
        return (columns[0] if columns else None), None
    if schema_name is None:
        return cols[0], None
    from zoobot.trees import get_schema

    return cols[0], get_schema(schema_name)


def show_catalog(engine: Engine, session_id: str) -> tuple[Any, ...]:
    """Everything the Data tab shows about the session's current catalog.

    Returns:
        ``(summary, problems, fix radio, fix button, gallery, label column dropdown, label plot)``; the
        fix radio and button are shown only when there is something to fix.
    """
    check = engine.check(session_id)
    if check is None:
        return ("No catalog loaded yet. Click **Load the demo survey** to try the app, or upload your own.",
                "", gr.Radio(choices=[], value=None, visible=False), gr.Button(visible=False), [],
                gr.Dropdown(choices=[], value=None),
                plots.empty_figure("Load a catalog to see its labels."))
    catalog, report = check.catalog, check.report
    name = engine.state(session_id).catalog_name or "catalog"
    summary = (f"### {name}\n**{report.n_rows}** galaxies · images: **{report.n_images_found}** found, "
               f"**{report.n_images_missing}** missing, **{report.n_images_unreadable}** unreadable.")
    if report.missing_examples:
        summary += f"\n\nMissing images, e.g. `{report.missing_examples[0]}`."
    if report.ok:
        summary += "\n\n**Ready:** go on to **2. Task**."
    label, schema = _default_label(engine, session_id, catalog)
    sample = catalog.head(12)
    captions = label_captions(sample, label, schema)
    choices = fix_choices(report.problems)
    return (
        summary,
        problems_markdown(report.problems),
        gr.Radio(choices=choices, value=choices[0][1] if choices else None, visible=bool(choices)),
        gr.Button(visible=bool(choices)),
        gallery_items(sample["file_loc"].astype(str), captions),
        gr.Dropdown(choices=_label_columns(catalog), value=label),
        plots.label_distribution(catalog[label], label) if label else plots.empty_figure("No label columns."),
    )


def _not_loaded(engine: Engine, session_id: str, why: object) -> str:
    """Why a catalog was not loaded, and which one (if any) is still in use."""
    if engine.check(session_id) is None:
        still = "No catalog is loaded yet."
    else:
        still = (f"**{engine.state(session_id).catalog_name or 'The previous catalog'}** (below) is still the "
                 "one in use.")
    return f"**Could not load the catalog.** {why}\n\n{still}"


def poll_catalog_job(engine: Engine, session_id: str) -> tuple[Any, ...]:
    """Timer tick: report the running catalog job, or show the result when it has ended.

    Returns:
        ``show_catalog``'s outputs, then the timer update and the catalog version (job id).
    """
    job = engine.manager.latest(session_id, "catalog")
    if job is None:
        return (*show_catalog(engine, session_id), gr.Timer(active=False), gr.skip())
    if job.active:
        wait = f"Working: {job.message or 'Waiting to start'}…"
        return (wait, *[gr.skip()] * 6, gr.Timer(active=True), gr.skip())
    view = list(show_catalog(engine, session_id))
    if job.status == "failed":
        view[0] = _not_loaded(engine, session_id, job.error)
    return (*view, gr.Timer(active=False), job.id)


@plain_errors
def apply_data_fix(engine: Engine, session_id: str, choice: str | None) -> tuple[str, gr.Timer]:
    """Apply the chosen one-click fix, then check the catalog again."""
    check = engine.check(session_id)
    if check is None:
        raise AppInputError("Load a catalog first.")
    problem, fix = parse_fix_choice(choice, check.report.problems)
    engine.submit_fix(session_id, problem, fix)
    return "Applying the fix…", gr.Timer(active=True)


@plain_errors
def label_plot(engine: Engine, session_id: str, column: str | None) -> Any:
    """The distribution of one catalog column."""
    catalog = engine.catalog(session_id)
    if not column or column not in catalog:
        return plots.empty_figure("Choose a column.")
    return plots.label_distribution(catalog[column], column)


def build_data_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Data tab and wire its events; returns its components by name."""
    gr.Markdown("Start with a catalog: one row per galaxy, with `id_str`, `file_loc` (the image file) and "
                "your labels. Not sure yet? Try the built-in demo survey of synthetic galaxies.")
    with gr.Row():
        demo_btn = gr.Button("Load the demo survey (600 synthetic galaxies)", variant="primary", elem_id="data-demo")
    with gr.Accordion("Upload your own catalog", open=False, elem_id="data-upload-panel"):
        with gr.Row():
            catalog_file = gr.File(label="Catalog (.csv or .parquet)", file_types=[".csv", ".parquet", ".pq"],
                                   elem_id="data-catalog-file")
            image_files = gr.File(label="Images: one .zip, or many image files", file_count="multiple",
                                  elem_id="data-image-files")
        upload_btn = gr.Button("Check my upload", elem_id="data-upload")
    path_text = gr.Textbox(visible=False)
    path_btn = gr.Button(visible=False)
    if not engine.hosted:
        with gr.Accordion("Or use a catalog on this computer", open=False):
            with gr.Row():
                path_text = gr.Textbox(label="Catalog path", placeholder="/data/my_survey/catalog.csv", scale=4,
                                       elem_id="data-path")
                path_btn = gr.Button("Check this catalog", scale=1, elem_id="data-path-load")
    status = gr.Markdown(elem_id="data-status")
    with gr.Row():
        with gr.Column(scale=3):
            gallery = gr.Gallery(label="First galaxies, with their labels", columns=4, height=420, elem_id="data-gallery", elem_classes=["zoobot-gallery"])
        with gr.Column(scale=2):
            dist_col = gr.Dropdown(label="Show the distribution of", choices=[], elem_id="data-dist-col")
            dist_plot = gr.Plot(elem_id="data-dist-plot", show_label=False)
    problems = gr.Markdown(elem_id="data-problems")
    fix_radio = gr.Radio(label="One-click fixes", choices=[], visible=False, elem_id="data-fix-choice")
    fix_btn = gr.Button("Apply the chosen fix", visible=False, elem_id="data-fix")
    timer = gr.Timer(1.0, active=False)
    version = gr.State(None)

    start_outputs = [status, timer]
    demo_btn.click(partial(load_demo, engine), [session], start_outputs)
    upload_btn.click(partial(load_upload, engine), [session, catalog_file, image_files], start_outputs)
    path_btn.click(partial(load_path, engine), [session, path_text], start_outputs)
    fix_btn.click(partial(apply_data_fix, engine), [session, fix_radio], start_outputs)
    view = [status, problems, fix_radio, fix_btn, gallery, dist_col, dist_plot]
    timer.tick(partial(poll_catalog_job, engine), [session], [*view, timer, version], show_progress="hidden")
    dist_col.input(partial(label_plot, engine), [session, dist_col], [dist_plot])
    return {"view": view, "timer": timer, "version": version, "status": status, "demo": demo_btn}

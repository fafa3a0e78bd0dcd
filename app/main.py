"""The ``zoobot-app`` command: build the Gradio app and serve it.

The page is assembled from one builder per tab (``app/tabs``); long work runs as jobs in the
engine's job manager; every browser session gets a random session id kept in the browser's local
storage, so a reload (or an app restart) finds the session's catalog, choices and runs again.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from functools import partial
from pathlib import Path
from typing import Any, Sequence

import gradio as gr

from app import plots
from app.engine import Engine
from app.jobs import JobManager
from app.runs import RunStore, SessionError, new_session_id
from app.tabs.data import build_data_tab, show_catalog
from app.tabs.explore import build_explore_tab
from app.tabs.results import build_results_tab, show_results
from app.tabs.runs import build_runs_tab
from app.tabs.schema import build_schema_tab
from app.tabs.task import build_task_tab
from app.tabs.train import LOCAL_ENCODER, build_train_tab, encoder_choices, saved_encoder
from app.uploads import UploadLimits

logger = logging.getLogger(__name__)

SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
# Gallery captions wrap instead of being cut to a few characters; a long encoder name ends in "…"
# before the dropdown's arrow instead of running under it.
CSS = (".zoobot-gallery .caption-label { white-space: normal; max-width: 100%; }\n"
       "#train-encoder input, #explore-encoder input { text-overflow: ellipsis; padding-right: 1.5em; }")
INTRO = ("## Zoobot: finetune a galaxy model on your own labels\n"
         "Go through the tabs in order: **Data** → **Task** → (**Schema** for vote counts) → **Train** → "
         "**Results** → **Explore**. Nothing here needs code; every run can be re-run headless from its config file.")


def theme() -> gr.themes.Base:
    """The app's theme, with system fonts only (nothing fetched from font services)."""
    return gr.themes.Soft(font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def attach_session(engine: Engine, stored: str | None) -> str:
    """The session id a page should use: the one its browser kept, or a new one."""
    if stored:
        try:
            engine.store.session_dir(stored)
            return stored
        except SessionError:
            logger.info("ignoring an invalid stored session id")
    session_id = new_session_id()
    engine.store.session_dir(session_id)
    return session_id


def build_app(runs_dir: str | Path, hosted: bool = False, max_upload_mb: float = 500.0,
              max_upload_files: int = 20000) -> gr.Blocks:
    """Build the app's page (without serving it).

    Args:
        runs_dir: Folder for sessions, uploads, runs and caches (created if missing).
        hosted: Hosted mode: uploads only, no server-side paths, file_loc kept inside the session's uploads.
        max_upload_mb: Largest upload (unzipped), in megabytes.
        max_upload_files: Most files in one upload (unzipped).
    """
    engine = Engine(store=RunStore(runs_dir), manager=JobManager(), hosted=hosted,
                    limits=UploadLimits(max_mb=max_upload_mb, max_files=max_upload_files))
    with gr.Blocks(title="Zoobot: finetune on your galaxies", analytics_enabled=False) as demo:
        session = gr.BrowserState(None, storage_key="zoobot_app_session")
        gr.Markdown(INTRO + ("\n\n*Hosted mode: upload your catalog and images; files on the server are not "
                             "reachable.*" if hosted else ""))
        run_version = gr.State(None)
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("1. Data", id="data", elem_id="tab-data"):
                data = build_data_tab(engine, session)
            with gr.Tab("2. Task", id="task", elem_id="tab-task"):
                task = build_task_tab(engine, session, data["version"])
            with gr.Tab("3. Schema", id="schema", elem_id="tab-schema"):
                schema = build_schema_tab(engine, session)
            with gr.Tab("4. Train", id="train", elem_id="tab-train"):
                train = build_train_tab(engine, session)
            with gr.Tab("5. Results", id="results", elem_id="tab-results"):
                results = build_results_tab(engine, session, run_version)
            with gr.Tab("6. Explore", id="explore", elem_id="tab-explore"):
                explore = build_explore_tab(engine, session)
            with gr.Tab("Runs", id="runs", elem_id="tab-runs") as runs_tab:
                runs = build_runs_tab(engine, session, tabs, run_version)
        # A new catalog may bring a suggested tree: draw it once the Task tab has suggested it.
        task["suggested"].then(schema["restore"], [session], schema["outputs"])
        train["finished_run"].change(lambda run: run, [train["finished_run"]], [run_version])
        # Past runs are read when the Runs tab is opened, not on every page load.
        runs_tab.select(runs["refresh"], [session], [runs["table"], runs["picker"]])

        load_outputs = [*data["view"], data["timer"], task["task"], task["labels"], task["status"],
                        schema["name"], schema["editor"], schema["status"], schema["figure"],
                        *train["poll_outputs"], *train["restore_outputs"], *explore["restore_outputs"]]
        attached = demo.load(partial(attach_session, engine), [session], [session])
        filled = attached.then(partial(on_load, engine, data, task, schema, train, explore), [session], load_outputs)
        # Listing the encoders imports torch and timm (seconds, once per process): done after the rest
        # of the page is filled in, so that does not wait for it (this also loads them for training).
        filled.then(partial(encoder_dropdowns, engine), [session],
                    [train["encoder"], explore["encoder"], train["local_path"]])
        attached.then(partial(restore_results, engine), [session], results["outputs"])
    return demo


def on_load(engine: Engine, data: dict, task: dict, schema: dict, train: dict, explore: dict,
            session_id: str) -> tuple[Any, ...]:
    """Page load (and reload), once the session is attached: show everything it has done so far,
    re-attaching to a queued or running job."""
    state = engine.state(session_id)
    data_view = list(show_catalog(engine, session_id))
    data_timer = gr.Timer(active=False)
    catalog_job = engine.manager.latest(session_id, "catalog")
    if catalog_job is not None and catalog_job.active:
        data_timer = gr.Timer(active=True)
    elif engine.check(session_id) is None and state.catalog_path and Path(state.catalog_path).is_file():
        # The app restarted: check the saved working catalog again (its file_loc are absolute).
        path = Path(state.catalog_path)
        engine.submit_catalog(session_id, state.catalog_name or path.name, engine.file_source(path, (path.parent,)))
        data_view[0] = "Checking your catalog again…"
        data_timer = gr.Timer(active=True)
    return (*data_view, data_timer,
            *task["restore"](session_id),
            *schema["restore"](session_id),
            *train["poll"](session_id, None),
            *train["restore"](session_id),
            *explore["restore"](session_id, None))


def encoder_dropdowns(engine: Engine, session_id: str | None) -> tuple[Any, ...]:
    """The Train and Explore encoder dropdowns: every listed encoder (Train also offers a local one),
    the session's latest run's encoder chosen if it has one, else the bundled demo encoder; and the
    Train tab's local path when that run used one."""
    choices = encoder_choices(engine.hosted)
    listed = [c for c in choices if c[1] != LOCAL_ENCODER]
    default = "demo" if any(c[1] == "demo" for c in listed) else (listed[0][1] if listed else None)
    saved, local_path = saved_encoder(engine, session_id)
    return (gr.Dropdown(choices=choices, value=saved or default), gr.Dropdown(choices=listed, value=default),
            local_path if local_path else gr.skip())


def restore_results(engine: Engine, stored: str | None) -> tuple[Any, ...]:
    """Show the session's current run on the Results tab after a reload, if it has finished."""
    empty = plots.empty_figure("Results appear here when a run has finished.")
    blank = ("Results appear here when a run has finished.", empty, empty, [], [], None, None, "", "")
    if not stored:
        return blank
    try:
        state = engine.store.load_state(stored)
    except SessionError:
        return blank
    if not state.run_dir or not (Path(state.run_dir) / "test_metrics.json").is_file():
        return blank
    return show_results(engine, stored)


def _inside(path: Path, folder: str | Path) -> bool:
    return path.resolve().is_relative_to(Path(folder).resolve())


def launch_options(runs_dir: Path, hosted: bool, max_upload_mb: float) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: no server-side rendering (no node process), no
    monitoring endpoint, no MCP server, and as few served folders as possible.

    Gradio hands out the files the app puts into a session's components as copies in its own cache,
    and serves every file of an ``allowed_paths`` folder to anyone who asks for its path. It may copy
    from the working folder and the temp folder without them being allowed paths, so a runs folder
    there is not made one; elsewhere it has to be (hosted mode logs a warning).
    """
    served = not (_inside(runs_dir, os.getcwd()) or _inside(runs_dir, tempfile.gettempdir()))
    if served and hosted:
        logger.warning("the runs folder %s is outside the working folder and the temp folder, so Gradio serves "
                       "any file in it to whoever knows its path (paths hold the random session id); put "
                       "--runs-dir inside %s to serve only the copies handed to each session", runs_dir, os.getcwd())
    return dict(theme=theme(), css=CSS, allowed_paths=[str(runs_dir)] if served else [],
                max_file_size=f"{int(max_upload_mb)}mb", show_error=True, footer_links=["gradio"],
                ssr_mode=False, enable_monitoring=False, mcp_server=False)


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``zoobot-app`` console script."""
    parser = argparse.ArgumentParser(prog="zoobot-app", description="Finetune Zoobot on your galaxies, point and click.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this computer only)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--share", action="store_true", help="also make a temporary public gradio.live link")
    parser.add_argument("--runs-dir", default="zoobot_runs", help="folder for runs, uploads and caches")
    parser.add_argument("--hosted", action="store_true",
                        help="hosted mode (also on when SPACE_ID is set): uploads only, no server paths")
    parser.add_argument("--max-upload-mb", type=float, default=500.0, help="largest upload in MB (unzipped)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Read when the page is built: no telemetry or version check, and up to 8 events at once (set
    # here rather than by demo.queue(), which would build the server app a second time).
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("GRADIO_DEFAULT_CONCURRENCY_LIMIT", "8")
    hosted = args.hosted or bool(os.environ.get("SPACE_ID"))
    runs_dir = Path(args.runs_dir).expanduser().resolve()
    options = launch_options(runs_dir, hosted, args.max_upload_mb)
    demo = build_app(runs_dir, hosted=hosted, max_upload_mb=args.max_upload_mb)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **options)

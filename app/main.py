"""The ``zoobot-app`` command: build the Gradio app and serve it.

The page is assembled from one builder per tab (``app/tabs``); long work runs as jobs in the
engine's job manager; every browser session gets a random session id kept in the browser's local
storage, so a reload (or an app restart: the key it is kept with is saved in the runs folder) finds the
session's catalog, choices and runs again.
"""

from __future__ import annotations

import argparse
import logging
import os
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from app.cleanup import start_janitor
from app.engine import Engine
from app.engine.training import LOCAL_ENCODER
from app.jobs import JobManager
from app.limits import Limits, add_limit_flags
from app.runs import RunStore, SessionError, new_session_id
from app.tabs import data, explore, files, label_next, predict, results, schema, task, train, train_plan
from app.tabs import runs as runs_tab_module
from app.tabs.runs import build_runs_tab, list_runs
from app.wiring import listen, pick, prefixed

logger = logging.getLogger(__name__)

SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
# Gallery captions wrap instead of being cut to a few characters; a long encoder name ends in "…"
# before the dropdown's arrow instead of running under it.
CSS = (
    ".zoobot-gallery .caption-label { white-space: normal; max-width: 100%; }\n"
    "#train-encoder input, #explore-encoder input { text-overflow: ellipsis; padding-right: 1.5em; }"
)
INTRO = (
    "## Zoobot: finetune a galaxy model on your own labels\n"
    "Go through the tabs in order: **Data** → **Task** → (**Schema** for vote counts) → **Train** → "
    "**Results** → **Explore** → **Label next** (the galaxies whose labels would help most); then **Predict** "
    "new galaxies with your model. Nothing here needs code; every run can be re-run headless from its "
    "config file."
)


def theme() -> gr.themes.Base:
    """The app's theme, with system fonts only (nothing fetched from font services)."""
    return gr.themes.Soft(font=SYSTEM_FONTS, font_mono=MONO_FONTS)


def attach_session(engine: Engine, session_id: str | None) -> dict[str, Any]:
    """The ``session_id`` a page should use: the one its browser kept, or a new one."""
    if session_id:
        try:
            engine.store.session_dir(session_id)
            return {"session_id": session_id}
        except SessionError:
            logger.info("ignoring an invalid stored session id")
    session_id = new_session_id()
    engine.store.session_dir(session_id)
    return {"session_id": session_id}


def build_app(
    runs_dir: str | Path, hosted: bool = False, limits: Limits | None = None, expire_sessions: bool = False
) -> gr.Blocks:
    """Build the app's page (without serving it).

    Args:
        runs_dir: Folder for sessions, uploads, runs and caches (created if missing).
        hosted: Hosted mode: uploads only, no server-side paths, file_loc kept inside the session's uploads.
        limits: What one session and all together may use; default: the mode's defaults (and the
            ``ZOOBOT_APP_MAX_...`` environment variables).
        expire_sessions: Start the thread that deletes sessions idle for ``limits.session_hours``.
    """
    limits = limits or Limits.from_options(hosted)
    engine = Engine(store=RunStore(runs_dir), manager=JobManager(), hosted=hosted, limits=limits)
    if expire_sessions:
        start_janitor(engine)
    cache_s = int(limits.cache_hours * 3600) if limits.cache_hours else None
    with gr.Blocks(
        title="Zoobot: finetune on your galaxies",
        analytics_enabled=False,
        delete_cache=(max(60, cache_s // 4), cache_s) if cache_s else None,
    ) as demo:
        session = gr.BrowserState(None, storage_key="zoobot_app_session", secret=engine.store.browser_secret())
        gr.Markdown(
            INTRO
            + (
                "\n\n*Hosted mode: upload your catalog and images; files on the server are not reachable.*"
                if hosted
                else ""
            )
        )
        run_version = gr.State(None)
        with gr.Tabs(elem_id="tabs") as tabs:
            with gr.Tab("1. Data", id="data", elem_id="tab-data"):
                data_tab = data.build_data_tab(engine, session)
            with gr.Tab("2. Task", id="task", elem_id="tab-task"):
                task_tab = task.build_task_tab(engine, session, data_tab["catalog_version"])
            with gr.Tab("3. Schema", id="schema", elem_id="tab-schema"):
                schema_tab = schema.build_schema_tab(engine, session)
            with gr.Tab("4. Train", id="train", elem_id="tab-train") as train_tab_button:
                train_tab = train.build_train_tab(engine, session, pick(task_tab, "task", "label_cols"))
            with gr.Tab("5. Results", id="results", elem_id="tab-results"):
                results_tab = results.build_results_tab(engine, session, run_version)
            with gr.Tab("6. Explore", id="explore", elem_id="tab-explore"):
                explore_tab = explore.build_explore_tab(engine, session)
            with gr.Tab("7. Label next", id="label", elem_id="tab-label") as label_tab:
                label_next_tab = label_next.build_label_next_tab(engine, session, run_version)
            with gr.Tab("8. Predict", id="predict", elem_id="tab-predict") as predict_tab_button:
                predict_tab = predict.build_predict_tab(engine, session)
            with gr.Tab("Runs", id="runs", elem_id="tab-runs") as runs_tab:
                runs = build_runs_tab(engine, session, tabs, run_version)
        files_panel = files.build_files_panel(engine, session)
        session_id = {"session_id": session}
        # A new catalog may bring a suggested tree: draw it once the Task tab has suggested it.
        listen(
            task_tab["suggested"].then,
            partial(schema.restore_schema, engine),
            session_id,
            pick(schema_tab, *schema.VIEW),
        )
        listen(
            train_tab["finished_run"].change,
            lambda finished_run: {"run_version": finished_run},
            pick(train_tab, "finished_run"),
            {"run_version": run_version},
        )
        # Labels added make a new working catalog: the Data tab shows it (its name, counts, labels) at once.
        listen(
            label_next_tab["labels_added"].success,
            partial(data.show_catalog, engine),
            pick(data_tab, "session_id"),
            pick(data_tab, *data.VIEW),
            show_progress="hidden",
        )
        # The next round is a run like one Start started: the Train tab follows it from now, not after a reload.
        listen(
            label_next_tab["round_started"].success,
            partial(train.poll_training, engine),
            pick(train_tab, "session_id", "seen"),
            pick(train_tab, *train.POLL),
            show_progress="hidden",
        )
        # What Start will train is worked out when the Train tab is opened (it reads encoder cards: torch).
        plan_inputs = pick(train_tab, "session_id", "task", "label_cols", "encoder", "local_path", *train.FORM)
        listen(train_tab_button.select, partial(train_plan.show_plan, engine), plan_inputs, pick(train_tab, "plan"))
        listen(predict_tab_button.select, partial(predict.list_models, engine), session_id, pick(predict_tab, "run"))
        listen(
            label_tab.select,
            partial(label_next.open_tab, engine),
            session_id,
            pick(label_next_tab, *label_next.OPENED),
        )
        # Past runs are read when the Runs tab is opened, not on every page load.
        listen(runs_tab.select, partial(list_runs, engine), session_id, pick(runs, *runs_tab_module.LIST))

        page = {
            **prefixed("data", pick(data_tab, *data.VIEW, "timer")),
            **prefixed("task", pick(task_tab, *task.CHOICE)),
            **prefixed("schema", pick(schema_tab, *schema.VIEW)),
            **prefixed("train", pick(train_tab, *train.POLL, *train.FORM)),
            **prefixed("explore", pick(explore_tab, *explore.VIEW)),
            "tabs": tabs,
        }
        attached = listen(demo.load, partial(attach_session, engine), session_id, session_id)
        filled = listen(attached.then, partial(on_load, engine), session_id, page)
        # Listing the encoders imports torch and timm (seconds, once per process): done after the rest
        # of the page is filled in, so that does not wait for it (this also loads them for training).
        listed = listen(
            filled.then,
            partial(encoder_dropdowns, engine),
            session_id,
            {
                **prefixed("train", pick(train_tab, "encoder", "local_path")),
                **prefixed("explore", pick(explore_tab, "encoder")),
            },
        )
        # and once the page is filled in, so a reload that opens on the Train tab shows it too
        listen(listed.then, partial(train_plan.show_plan, engine), plan_inputs, pick(train_tab, "plan"))
        listen(attached.then, partial(results.restore_results, engine), session_id, pick(results_tab, *results.VIEW))
        listen(attached.then, partial(predict.poll_prediction, engine), session_id, pick(predict_tab, *predict.VIEW))
        listen(attached.then, partial(files.show_files, engine), session_id, pick(files_panel, *files.VIEW))
    return demo


def on_load(engine: Engine, session_id: str) -> dict[str, Any]:
    """Page load (and reload), once the session is attached: show everything it has done so far,
    re-attaching to a queued or running job. Values named ``<tab>.<component>``."""
    data_view = data.restore_catalog(engine, session_id)
    busy = active_tab(engine, session_id)
    return {
        **({"tabs": gr.Tabs(selected=busy)} if busy else {}),
        **prefixed("data", data_view),
        **prefixed("task", task.suggest_task(engine, session_id, prefer_saved=True)),
        **prefixed("schema", schema.restore_schema(engine, session_id)),
        **prefixed(
            "train", {**train.poll_training(engine, session_id, None), **train.restore_train_form(engine, session_id)}
        ),
        **prefixed("explore", explore.show_map(engine, session_id)),
    }


JOB_TABS = (("train", "train"), ("predict", "predict"), ("umap", "explore"), ("catalog", "data"))
"""Which tab shows a job of each kind, in the order a reload prefers them."""


def active_tab(engine: Engine, session_id: str) -> str | None:
    """The tab of the session's queued or running job (a training run first), so a reload opens where it is."""
    for kind, tab in JOB_TABS:
        job = engine.manager.latest(session_id, kind)
        if job is not None and job.active:
            return tab
    return None


def encoder_dropdowns(engine: Engine, session_id: str | None) -> dict[str, Any]:
    """The Train and Explore encoder dropdowns: every listed encoder (Train also offers a local one),
    the session's latest run's encoder chosen if it has one, else the bundled demo encoder; and the
    Train tab's local path when that run used one."""
    choices = train.encoder_choices(engine.hosted)
    listed = [c for c in choices if c[1] != LOCAL_ENCODER]
    default = "demo" if any(c[1] == "demo" for c in listed) else (listed[0][1] if listed else None)
    saved, local_path = train.saved_encoder(engine, session_id)
    dropdowns = {
        "train.encoder": gr.Dropdown(choices=choices, value=saved or default),
        "explore.encoder": gr.Dropdown(choices=listed, value=default),
    }
    return {**dropdowns, "train.local_path": local_path} if local_path else dropdowns


def _inside(path: Path, folder: str | Path) -> bool:
    return path.resolve().is_relative_to(Path(folder).resolve())


def launch_options(runs_dir: Path, hosted: bool, max_upload_mb: float | None) -> dict[str, Any]:
    """Keyword arguments for ``Blocks.launch``: no server-side rendering (no node process), no
    monitoring endpoint, no MCP server, and as few served folders as possible.

    Gradio hands out the files the app puts into a session's components as copies in its own cache,
    and serves every file of an ``allowed_paths`` folder to anyone who asks for its path. It may copy
    from the working folder and the temp folder without them being allowed paths, so a runs folder
    there is not made one; elsewhere it has to be (hosted mode logs a warning).
    """
    served = not (_inside(runs_dir, os.getcwd()) or _inside(runs_dir, tempfile.gettempdir()))
    if served and hosted:
        logger.warning(
            "the runs folder %s is outside the working folder and the temp folder, so Gradio serves "
            "any file in it to whoever knows its path (paths hold the random session id); put "
            "--runs-dir inside %s to serve only the copies handed to each session",
            runs_dir,
            os.getcwd(),
        )
    # show_error=False: an error a handler did not turn into plain words (``app.common.plain_errors``) shows
    # as "Error", never as its raw text.
    return dict(
        theme=theme(),
        css=CSS,
        allowed_paths=[str(runs_dir)] if served else [],
        max_file_size=f"{int(max_upload_mb)}mb" if max_upload_mb else None,
        show_error=False,
        footer_links=["gradio"],
        ssr_mode=False,
        enable_monitoring=False,
        mcp_server=False,
    )


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``zoobot-app`` console script."""
    parser = argparse.ArgumentParser(
        prog="zoobot-app",
        description="Finetune Zoobot on your galaxies, point and click.",
        epilog="Hosted mode caps what each visitor may use (the limits above); on your own computer most are off.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: this computer only)")
    parser.add_argument("--port", type=int, default=7860, help="port to listen on")
    parser.add_argument("--share", action="store_true", help="also make a temporary public gradio.live link")
    parser.add_argument("--runs-dir", default="zoobot_runs", help="folder for runs, uploads and caches")
    parser.add_argument(
        "--hosted",
        action="store_true",
        help="hosted mode (also on when SPACE_ID is set): uploads only, no server paths",
    )
    add_limit_flags(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # Read when the page is built: no telemetry or version check, and up to 8 events at once (set
    # here rather than by demo.queue(), which would build the server app a second time).
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("GRADIO_DEFAULT_CONCURRENCY_LIMIT", "8")
    hosted = args.hosted or bool(os.environ.get("SPACE_ID"))
    runs_dir = Path(args.runs_dir).expanduser().resolve()
    try:
        limits = Limits.from_options(hosted, vars(args))
    except ValueError as err:
        parser.error(str(err))
    options = launch_options(runs_dir, hosted, limits.upload_mb)
    demo = build_app(runs_dir, hosted=hosted, limits=limits, expire_sessions=True)
    demo.launch(server_name=args.host, server_port=args.port, share=args.share, **options)

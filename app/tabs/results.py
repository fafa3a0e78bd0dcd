"""Tab 5, Results: test metrics and plots, the most confident and the most wrong galaxies, the
predictions table and downloads, the run's config and the command that re-runs it headless."""

from __future__ import annotations

import logging
from functools import partial
from typing import TYPE_CHECKING, Any

import gradio as gr
import numpy as np
import pandas as pd

from app import plots
from app.common import galaxy_gallery, gallery_items, plain_errors, short_id, short_value
from app.engine import Engine
from app.engine.training import current_run, run_state
from app.errors import plain_text
from app.escape import code, escape_md
from app.runs import SessionError
from app.tabs import calibration
from app.wiring import listen, pick
from zoobot.prediction_table import CATALOG_PREFIX, zoobot_columns
from zoobot.runs import RunFolder

if TYPE_CHECKING:
    from pathlib import Path

    from zoobot.tasks import Task

logger = logging.getLogger(__name__)

TABLE_ROWS = 200
VIEW = (
    "summary",
    "plot_1",
    "plot_2",
    "confident",
    "confident_box",
    "wrong",
    "wrong_note",
    "table",
    "downloads",
    "config",
    "command",
)
"""Everything the Results tab shows (:func:`show_results`'s names)."""
WAITING = "Results appear here when a run has finished."


Shown = tuple[str, Any, Any, pd.DataFrame, pd.DataFrame]
"""A task's summary, its two plots, and its confident and wrong galaxies (with a ``caption`` column)."""


def _score(metrics: dict, task: Task) -> str:
    """The score beside its baseline and any warning, in the library's words (those ``zoobot finetune`` and
    ``evaluate_predictions`` print: :func:`zoobot.evaluate.score_and_warnings`), each warning in bold."""
    from zoobot.evaluate import score_and_warnings

    sentence, warnings = score_and_warnings(metrics, task)
    return "\n\n".join([escape_md(sentence), *(f"**{escape_md(warning)}**" for warning in warnings)])


def _classification(config: dict, metrics: dict, preds: pd.DataFrame) -> Shown:
    label = config["label_cols"][0]
    summary = _score(metrics, "classification")
    plot1 = (
        plots.confusion_matrix(metrics["confusion_matrix"], metrics["classes"])
        if "confusion_matrix" in metrics
        else plots.empty_figure("No test metrics.")
    )
    plot2 = plots.precision_recall(metrics.get("precision", {}), metrics.get("recall", {}))
    # The class probabilities are Zoobot's columns; classes are named alike in predicted_class and catalog_<label>.
    if "confidence" not in preds:
        preds = preds.assign(confidence=preds[zoobot_columns(preds)].max(axis=1))
    true = CATALOG_PREFIX + label
    labelled = preds[preds[true].notna() & preds["split"].isin(["test", "val"])]
    confident = preds.sort_values("confidence", ascending=False)
    wrong = labelled[labelled[true].astype(str) != labelled["predicted_class"].astype(str)]
    wrong = wrong.sort_values("confidence", ascending=False)
    confident, wrong = (
        frame.assign(
            caption=[
                f"{short_id(i)} · {short_value(p)}{f' ({c:.0%})' if pd.notna(c) else ''} · true {short_value(t)}"
                for i, p, c, t in zip(
                    frame["id_str"], frame["predicted_class"], frame["confidence"], frame[true], strict=True
                )
            ]
        )
        for frame in (confident, wrong)
    )
    return summary, plot1, plot2, confident, wrong


def _regression(config: dict, metrics: dict, preds: pd.DataFrame) -> Shown:
    col = config["label_cols"][0]
    summary = (
        f"{_score(metrics, 'regression')}\n\n"
        f"RMSE is the typical size of a prediction's error, in the units of {escape_md(col)} (big misses count "
        f"more); MAE ({metrics.get('mae', float('nan')):.3g} here) is the average error. R² is the share of the "
        f"spread of the true values the model explains: 1 is perfect, 0 is no better than always predicting the "
        f"average {escape_md(col)}."
    )
    true = CATALOG_PREFIX + col  # the predicted value is Zoobot's column, under the target's own name
    test = preds[(preds["split"] == metrics.get("split", "test")) & preds[true].notna()]
    plot1 = plots.predicted_vs_true(test[true], test[col], test["id_str"], col)
    labelled = preds[preds[true].notna() & preds["split"].isin(["test", "val"])].copy()
    labelled["error"] = (labelled[col] - labelled[true]).abs()
    best = labelled.sort_values("error")
    wrong = labelled.sort_values("error", ascending=False)
    for frame in (best, wrong):
        frame["caption"] = [
            f"{short_id(i)} · {p:.3g} · true {t:.3g}"
            for i, p, t in zip(frame["id_str"], frame[col], frame[true], strict=True)
        ]
    # the same galaxies as the scatter and the summary (the test split), so the counts agree
    errors = test[col] - test[true]
    plot2 = plots.label_distribution(errors.rename("error"), f"prediction error of {col} (predicted − true)")
    return summary, plot1, plot2, best, wrong


def _tree(config: dict, metrics: dict, preds: pd.DataFrame) -> Shown:
    from zoobot.evaluate import question_vote_fractions, vote_fraction_errors, vote_fraction_interval_widths
    from zoobot.runs import resolve_schema

    schema = resolve_schema(config["schema"])
    per_question = metrics.get("vote_fraction_mae", {})
    summary = (
        f"{_score(metrics, 'tree')}\n\n"
        f"The vote-fraction error is how far the predicted share of volunteers giving each answer is from the "
        f"share who did, on average over the {len(per_question)} questions: 0.05 means 5 percentage points off."
    )
    plot1 = plots.question_errors(per_question) if per_question else plots.empty_figure("No test metrics.")
    first_question = schema.questions[0]
    answers = [a.text for a in first_question.answers]
    widths = vote_fraction_interval_widths(preds, first_question)
    error = vote_fraction_errors(preds, first_question)
    true, predicted = question_vote_fractions(preds, first_question)
    lead = predicted.argmax(axis=1)
    top = [first_question.answers[k].short_text for k in lead]
    voted = true[np.arange(len(lead)), lead]
    captions = [
        f"{short_id(i)} · {t} {p:.0%}" + (f" · votes {v:.0%}" if not np.isnan(v) else "")
        for i, t, p, v in zip(preds["id_str"], top, predicted.max(axis=1), voted, strict=True)
    ]
    # One concat, not a column at a time: a tree's predictions have hundreds of columns already.
    added = pd.DataFrame({"width": widths, "error": error, "caption": captions}, index=preds.index)
    frame = pd.concat([preds.drop(columns=[c for c in added.columns if c in preds]), added], axis=1)
    confident = frame.sort_values("width")
    wrong = frame[frame["error"].notna() & frame["split"].isin(["test", "val"])].sort_values("error", ascending=False)
    example = np.flatnonzero(frame["split"] == metrics.get("split", "test"))[:1]
    if len(example):
        truth = true[example[0]]
        plot2 = plots.predicted_fractions(frame.iloc[example[0]], answers, None if np.isnan(truth).any() else truth)
    else:
        plot2 = plots.empty_figure("No test galaxies.")
    return summary, plot1, plot2, confident, wrong


def _wrong_note(task: str | None, wrong: pd.DataFrame, shown: list) -> str:
    """Why the "most wrong" gallery is empty, when it is (else nothing)."""
    if shown:
        return ""
    if len(wrong):
        return "*The most wrong galaxies' images cannot be read (moved or deleted?).*"
    if task == "classification":
        return "*No galaxy to show: every validation and test galaxy got its right class.*"
    return "*No galaxy to show: no validation or test galaxy has a label.*"


def _downloads(folder: RunFolder, preds: pd.DataFrame | None) -> list[str]:
    """The run's config, its predictions (CSV and Parquet) and its finetuned model (zipped), as far as
    the run has them."""
    files: list[Path | None] = [folder.config_path]
    if preds is not None:
        files += [folder.predictions_path, folder.write_predictions_parquet(preds)]
    files.append(folder.write_model_archive())
    return [str(f) for f in files if f is not None and f.is_file()]


UNFINISHED = {
    "queued": "is waiting in the queue; its results appear here when it has finished.",
    "running": "is still training; its results appear here when it has finished.",
    "cancelled": "was cancelled before it started, so it has no results. Earlier runs are in the **Runs** tab.",
    "interrupted": "was interrupted (the app stopped while it trained), so it has no results. Start it again "
    "on the Train tab; earlier runs are in the **Runs** tab.",
    "not started": "has not started yet; its results appear here when it has finished.",
}
"""What to say about a run without results, by its status."""


def _unfinished_summary(engine: Engine, session_id: str, folder: RunFolder) -> str:
    """What to say about a run that has no results: failed (with its error), still going, or not started."""
    state = run_state(engine, session_id, folder)
    if state.status == "failed":
        which = "Your latest run" if state.latest else f"Run {code(folder.name)}"
        reason = escape_md(plain_text(str(state.error or "no error was recorded"))).rstrip(".")
        return f"**{which} failed:** {reason}. Earlier runs are in the **Runs** tab."
    return f"Run {code(folder.name)} " + UNFINISHED.get(
        state.status, f"has no results yet (status: {escape_md(state.status)})."
    )


def _no_results(
    shown: dict[str, Any], summary: str, message: str, table: Any, downloads: list[str] | None
) -> dict[str, Any]:
    """The view of a run whose results cannot be drawn: the summary says why, the empty plots say ``message``."""
    empty = plots.empty_figure(message)
    return {
        **shown,
        "summary": summary,
        "plot_1": empty,
        "plot_2": empty,
        "confident": [],
        "confident_box": gr.Column(visible=True),
        "wrong": [],
        "wrong_note": "",
        "table": table,
        "downloads": downloads,
    }


@plain_errors
def show_results(engine: Engine, session_id: str) -> dict[str, Any]:
    """Everything the Results tab shows for the session's current run: values for :data:`VIEW`."""
    from zoobot.runs import rerun_command

    folder = current_run(engine, session_id)
    config_text = folder.read_config_text() or ""
    config = folder.read_config_values()
    metrics = folder.read_test_metrics()
    preds = folder.read_predictions()
    shown = {"config": config_text, "command": rerun_command(folder.config_path)}
    if metrics is None or preds is None:
        summary = _unfinished_summary(engine, session_id, folder)
        return _no_results(shown, summary, "Results appear when the run has finished.", None, _downloads(folder, None))
    task = config.get("task")
    if any(CATALOG_PREFIX + col not in preds for col in config.get("label_cols") or []):
        summary = (
            f"Run {code(folder.name)}'s predictions were written by an older version (without "
            f"the `{CATALOG_PREFIX}` columns); start the run again to see its results here."
        )
        table = readable(preds.head(TABLE_ROWS))
        return _no_results(shown, summary, "Predictions in an older format.", table, _downloads(folder, preds))
    try:
        if task == "classification":
            summary, plot1, plot2, confident, wrong = _classification(config, metrics, preds)
        elif task == "regression":
            summary, plot1, plot2, confident, wrong = _regression(config, metrics, preds)
        else:
            summary, plot1, plot2, confident, wrong = _tree(config, metrics, preds)
    except (KeyError, IndexError, TypeError, ValueError) as err:  # files cut short or edited: say so, not pandas
        logger.warning("run %s has damaged results: %r", folder.path, err)
        summary = (
            f"### Run {code(folder.name)}\nIts result files ({RunFolder.PREDICTIONS_FILE}, "
            f"{RunFolder.TEST_METRICS_FILE}, {RunFolder.CONFIG_FILE}) are damaged (cut short or edited), so its "
            "results cannot be shown. Download them below, or run it again."
        )
        return _no_results(shown, summary, "The run's result files are damaged.", None, _downloads(folder, None))
    status = folder.read_progress().get("status", "finished")
    wrong_items = gallery_items(wrong["file_loc"].astype(str), wrong["caption"])
    table = readable(preds.drop(columns=[c for c in ("file_loc",) if c in preds]).head(TABLE_ROWS))
    return {
        **shown,
        "summary": f"### Run {code(folder.name)} ({escape_md(task)}, {escape_md(status)})\n{summary}",
        "plot_1": plot1,
        "plot_2": plot2,
        # a regressor has no confidence to rank by: no "most confident" gallery
        "confident": [] if task == "regression" else gallery_items(confident.file_loc.astype(str), confident.caption),
        "confident_box": gr.Column(visible=task != "regression"),
        "wrong": wrong_items,
        "wrong_note": _wrong_note(task, wrong, wrong_items),
        "table": table,
        "downloads": _downloads(folder, preds),
    }


def restore_results(engine: Engine, session_id: str | None) -> dict[str, Any]:
    """Page load: the session's current run's results if it has finished, else the empty tab."""
    blank = _no_results({"config": "", "command": ""}, WAITING, WAITING, None, None)
    if not session_id:
        return blank
    try:
        run_dir = engine.store.load_state(session_id).run_dir
    except SessionError:
        return blank
    if not run_dir or not RunFolder(run_dir).test_metrics_path.is_file():
        return blank
    return show_results(engine, session_id)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its decimals cut to 4 significant digits, for reading (the downloads keep them all)."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{col: table[col].map(lambda v: float(f"{v:.4g}")) for col in floats})


def build_results_tab(engine: Engine, session: gr.BrowserState, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Results tab and wire its events; returns its components by name."""
    ui: dict[str, Any] = {"session_id": session}
    ui["refresh"] = gr.Button("Show the results of my latest run", elem_id="results-refresh")
    ui["summary"] = gr.Markdown(elem_id="results-summary")
    with gr.Row():
        ui["plot_1"] = gr.Plot(show_label=False, elem_id="results-plot-1")
        ui["plot_2"] = gr.Plot(show_label=False, elem_id="results-plot-2")
    ui.update(calibration.build_calibration_fold(engine, session, run_version, ui["refresh"]))
    with gr.Row():
        with gr.Column() as ui["confident_box"]:
            ui["confident"] = galaxy_gallery(
                "Most confident predictions (predicted · true)", "results-confident", columns=3, height=380
            )
        with gr.Column():
            ui["wrong"] = galaxy_gallery(
                "Most wrong validation and test galaxies (predicted · true)", "results-wrong", columns=3, height=380
            )
            ui["wrong_note"] = gr.Markdown(elem_id="results-wrong-note")
    ui["table"] = gr.Dataframe(
        label=f"Predictions (first {TABLE_ROWS} rows; download for all)",
        interactive=False,
        max_height=360,
        elem_id="results-table",
    )
    ui["downloads"] = gr.File(
        label="Downloads: config, predictions (CSV, Parquet), finetuned model",
        file_count="multiple",
        interactive=False,
        elem_id="results-downloads",
    )
    with gr.Row():
        ui["config"] = gr.Code(
            label=f"Run config ({RunFolder.CONFIG_FILE})", language="yaml", interactive=False, elem_id="results-config"
        )
        ui["command"] = gr.Code(
            label="Re-run this headless (e.g. on a GPU cluster)",
            language="shell",
            interactive=False,
            elem_id="results-command",
        )
    for trigger in (ui["refresh"].click, run_version.change):
        listen(trigger, partial(show_results, engine), pick(ui, "session_id"), pick(ui, *VIEW))
    return ui

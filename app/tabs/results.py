"""Tab 5, Results: test metrics and plots, the most confident and the most wrong galaxies, the
predictions table and downloads, the run's config and the command that re-runs it headless."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from app import plots
from app.common import gallery_items, plain_errors, short_id, short_value
from app.engine import AppInputError, Engine
from app.runs import read_config_text, read_predictions, read_progress, read_test_metrics

TABLE_ROWS = 200


def _run_dir(engine: Engine, session_id: str) -> Path:
    run_dir = engine.state(session_id).run_dir
    if not run_dir or not Path(run_dir).is_dir():
        raise AppInputError("No run yet: train a model on the Train tab, or open a past run on the Runs tab.")
    if not engine.store.owns(session_id if engine.hosted else None, run_dir):
        raise AppInputError("That run is not one of yours; open a run from the Runs tab.")
    return Path(run_dir)


def _classification(config: dict, metrics: dict, preds: pd.DataFrame) -> tuple[str, Any, Any, pd.DataFrame, pd.DataFrame]:
    label = config["label_cols"][0]
    summary = (f"**Accuracy {metrics.get('accuracy', float('nan')):.1%}** on {metrics.get('n', '?')} "
               f"{metrics.get('split', 'test')} galaxies.")
    if isinstance(metrics.get("majority_accuracy"), (int, float)):
        summary += (f" Always answering the most common class would score {metrics['majority_accuracy']:.0%}, "
                    "so that is the score to beat.")
    if metrics.get("predicted_classes") == 1:
        summary += ("\n\n**Warning: the model predicts only one class for every galaxy: it has not learned to tell "
                    "the classes apart.** Try more epochs, a full finetune, more labels, or another encoder.")
    plot1 = plots.confusion_matrix(metrics["confusion_matrix"], metrics["classes"]) \
        if "confusion_matrix" in metrics else plots.empty_figure("No test metrics.")
    plot2 = plots.precision_recall(metrics.get("precision", {}), metrics.get("recall", {}))
    if "confidence" not in preds:
        prob_cols = [c for c in preds.columns if c.startswith("prob_")]
        preds = preds.assign(confidence=preds[prob_cols].max(axis=1) if prob_cols else np.nan)
    labelled = preds[preds[label].notna() & preds["split"].isin(["test", "val"])]
    confident = preds.sort_values("confidence", ascending=False)
    wrong = labelled[labelled[label].astype(int) != labelled["pred_class"].astype(int)]
    wrong = wrong.sort_values("confidence", ascending=False)
    names = list(config.get("class_names") or [])

    def class_text(value: Any) -> str:  # the class's name when the run has one (e.g. 'weak'), else its number
        index = int(value) if pd.notna(value) and float(value).is_integer() else -1
        return names[index] if 0 <= index < len(names) else short_value(value)

    confident, wrong = (frame.assign(caption=[
        f"{short_id(i)} · {class_text(p)}{f' ({c:.0%})' if pd.notna(c) else ''} · true {class_text(t)}"
        for i, p, c, t in zip(frame["id_str"], frame["pred_class"], frame["confidence"], frame[label])])
        for frame in (confident, wrong))
    return summary, plot1, plot2, confident, wrong


def _regression(config: dict, metrics: dict, preds: pd.DataFrame) -> tuple[str, Any, Any, pd.DataFrame, pd.DataFrame]:
    col = config["label_cols"][0]
    summary = (f"**RMSE {metrics.get('rmse', float('nan')):.3g}**, MAE {metrics.get('mae', float('nan')):.3g}, "
               f"**R² {metrics.get('r2', float('nan')):.3f}** on {metrics.get('n', '?')} {metrics.get('split', 'test')} galaxies.")
    if isinstance(metrics.get("r2"), (int, float)) and metrics["r2"] < 0:
        summary += (f"\n\n**Warning: R² is below 0, so these predictions are worse than always predicting the "
                    f"average {col}.** The model has not learned the target yet: try more epochs, a full finetune, "
                    "more labels, or another encoder.")
    test = preds[preds["split"] == metrics.get("split", "test")]
    plot1 = plots.predicted_vs_true(test[col], test[f"pred_{col}"], test["id_str"], col)
    labelled = preds[preds[col].notna() & preds["split"].isin(["test", "val"])].copy()
    labelled["error"] = (labelled[f"pred_{col}"] - labelled[col]).abs()
    best = labelled.sort_values("error")
    wrong = labelled.sort_values("error", ascending=False)
    for frame in (best, wrong):
        frame["caption"] = [f"{short_id(i)} · {p:.3g} · true {t:.3g}"
                            for i, p, t in zip(frame["id_str"], frame[f"pred_{col}"], frame[col])]
    errors = labelled[f"pred_{col}"] - labelled[col]
    plot2 = plots.label_distribution(errors.rename("error"), f"prediction error of {col}")
    return summary, plot1, plot2, best, wrong


def _tree(config: dict, metrics: dict, preds: pd.DataFrame) -> tuple[str, Any, Any, pd.DataFrame, pd.DataFrame]:
    from zoobot.schemas import Schema
    from zoobot.trees import get_schema

    schema = get_schema(config["schema"]) if isinstance(config["schema"], str) else Schema.from_dict(config["schema"])
    per_question = metrics.get("vote_fraction_mae", {})
    summary = (f"**Mean vote-fraction error {metrics.get('mean_vote_fraction_mae', float('nan')):.3f}** "
               f"(averaged over {len(per_question)} questions, {metrics.get('n', '?')} {metrics.get('split', 'test')} galaxies).")
    plot1 = plots.question_errors(per_question) if per_question else plots.empty_figure("No test metrics.")
    first_question = schema.questions[0]
    answers = [a.text for a in first_question.answers]
    widths = np.mean([preds[plots.interval_column(preds, a, "high")] - preds[plots.interval_column(preds, a, "low")]
                      for a in answers], axis=0)
    counts = preds[answers].to_numpy(dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    true = np.divide(counts, totals, out=np.full_like(counts, np.nan), where=totals > 0)
    predicted = preds[[f"{a}_fraction" for a in answers]].to_numpy(dtype=float)
    diff = np.abs(predicted - true)
    asked = (~np.isnan(diff)).sum(axis=1)
    error = np.divide(np.nansum(diff, axis=1), asked, out=np.full(len(preds), np.nan), where=asked > 0)
    lead = predicted.argmax(axis=1)
    top = [answers[k].removeprefix(first_question.text).lstrip("_-") for k in lead]
    voted = true[np.arange(len(lead)), lead]
    captions = [f"{short_id(i)} · {t} {p:.0%}" + (f" · votes {v:.0%}" if not np.isnan(v) else "")
                for i, t, p, v in zip(preds["id_str"], top, predicted.max(axis=1), voted)]
    # One concat, not a column at a time: a tree's predictions have hundreds of columns already.
    added = pd.DataFrame({"width": widths, "error": error, "caption": captions}, index=preds.index)
    frame = pd.concat([preds.drop(columns=[c for c in added.columns if c in preds]), added], axis=1)
    confident = frame.sort_values("width")
    wrong = frame[frame["error"].notna() & frame["split"].isin(["test", "val"])].sort_values("error", ascending=False)
    example = frame[frame["split"] == metrics.get("split", "test")].head(1)
    if len(example):
        row = example.iloc[0]
        total = float(row[answers].sum())
        truth = [float(row[a]) / total for a in answers] if total > 0 else None
        plot2 = plots.predicted_fractions(row, answers, truth)
    else:
        plot2 = plots.empty_figure("No test galaxies.")
    return summary, plot1, plot2, confident, wrong


def _downloads(run_dir: Path, preds: pd.DataFrame | None) -> list[str]:
    files = [run_dir / "config.yaml"]
    if preds is not None:
        files.append(run_dir / "predictions.csv")
        parquet = run_dir / "predictions.parquet"
        if not parquet.is_file():
            preds.to_parquet(parquet, index=False)
        files.append(parquet)
    if (run_dir / "model").is_dir():
        archive = run_dir / "finetuned_model.zip"
        if not archive.is_file():
            shutil.make_archive(str(archive.with_suffix("")), "zip", run_dir / "model")
        files.append(archive)
    return [str(f) for f in files if f.is_file()]


def _unfinished_summary(engine: Engine, session_id: str, run_dir: Path) -> str:
    """What to say about a run that has no results: failed (with its error), still going, or not started."""
    progress = read_progress(run_dir) or {}
    status = progress.get("status", "not started")
    error = progress.get("error")
    job = engine.manager.latest(session_id, "train")
    is_job = job is not None and job.run_dir is not None and Path(job.run_dir).resolve() == run_dir.resolve()
    if is_job and job.status in ("queued", "failed", "cancelled"):
        status, error = job.status, job.error or error
    elif status == "running" and not is_job:
        status = "interrupted"
    if status == "failed":
        newest = engine.store.run_dirs(session_id)
        which = ("Your latest run" if is_job or (newest and newest[0].resolve() == run_dir.resolve())
                 else f"Run `{run_dir.name}`")
        reason = str(error or "no error was recorded").rstrip(".")
        return f"**{which} failed:** {reason}. Earlier runs are in the **Runs** tab."
    phrases = {
        "queued": "is waiting in the queue; its results appear here when it has finished.",
        "running": "is still training; its results appear here when it has finished.",
        "cancelled": "was cancelled before it started, so it has no results. Earlier runs are in the **Runs** tab.",
        "interrupted": "was interrupted (the app stopped while it trained), so it has no results. Start it again "
                       "on the Train tab; earlier runs are in the **Runs** tab.",
        "not started": "has not started yet; its results appear here when it has finished.",
    }
    return f"Run `{run_dir.name}` " + phrases.get(status, f"has no results yet (status: {status}).")


@plain_errors
def show_results(engine: Engine, session_id: str) -> tuple[Any, ...]:
    """Everything the Results tab shows for the session's current run.

    Returns:
        ``(summary, plot 1, plot 2, confident gallery, wrong gallery, predictions table, downloads,
        config text, re-run command)``.
    """
    import yaml
    from zoobot.config import rerun_command

    run_dir = _run_dir(engine, session_id)
    config_text = read_config_text(run_dir) or ""
    config = yaml.safe_load(config_text) or {}
    metrics = read_test_metrics(run_dir)
    preds = read_predictions(run_dir)
    command = rerun_command(run_dir / "config.yaml")
    if metrics is None or preds is None:
        empty = plots.empty_figure("Results appear when the run has finished.")
        return (_unfinished_summary(engine, session_id, run_dir), empty, empty, [], [],
                None, _downloads(run_dir, None), config_text, command)
    task = config.get("task")
    if task == "classification":
        summary, plot1, plot2, confident, wrong = _classification(config, metrics, preds)
    elif task == "regression":
        summary, plot1, plot2, confident, wrong = _regression(config, metrics, preds)
    else:
        summary, plot1, plot2, confident, wrong = _tree(config, metrics, preds)
    status = (read_progress(run_dir) or {}).get("status", "finished")
    summary = f"### Run `{run_dir.name}` ({task}, {status})\n{summary}"
    table = readable(preds.drop(columns=[c for c in ("file_loc",) if c in preds]).head(TABLE_ROWS))
    return (summary, plot1, plot2,
            gallery_items(confident["file_loc"].astype(str), confident["caption"]),
            gallery_items(wrong["file_loc"].astype(str), wrong["caption"]),
            table, _downloads(run_dir, preds), config_text, command)


def readable(table: pd.DataFrame) -> pd.DataFrame:
    """The table with its decimals cut to 4 significant digits, for reading (the downloads keep them all)."""
    floats = table.select_dtypes("float").columns
    return table.assign(**{col: table[col].map(lambda v: float(f"{v:.4g}")) for col in floats})


def build_results_tab(engine: Engine, session: gr.BrowserState, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Results tab and wire its events; returns its components by name."""
    refresh = gr.Button("Show the results of my latest run", elem_id="results-refresh")
    summary = gr.Markdown(elem_id="results-summary")
    with gr.Row():
        plot1 = gr.Plot(show_label=False, elem_id="results-plot-1")
        plot2 = gr.Plot(show_label=False, elem_id="results-plot-2")
    with gr.Row():
        confident = gr.Gallery(label="Most confident predictions (predicted · true)", columns=3, height=380,
                               elem_id="results-confident", elem_classes=["zoobot-gallery"])
        wrong = gr.Gallery(label="Most wrong validation and test galaxies (predicted · true)", columns=3, height=380,
                           elem_id="results-wrong", elem_classes=["zoobot-gallery"])
    table = gr.Dataframe(label=f"Predictions (first {TABLE_ROWS} rows; download for all)", interactive=False,
                         max_height=360, elem_id="results-table")
    downloads = gr.File(label="Downloads: config, predictions (CSV, Parquet), finetuned model", file_count="multiple",
                        interactive=False, elem_id="results-downloads")
    with gr.Row():
        config = gr.Code(label="Run config (config.yaml)", language="yaml", interactive=False, elem_id="results-config")
        command = gr.Code(label="Re-run this headless (e.g. on a GPU cluster)", language="shell", interactive=False,
                          elem_id="results-command")
    outputs = [summary, plot1, plot2, confident, wrong, table, downloads, config, command]
    refresh.click(partial(show_results, engine), [session], outputs)
    run_version.change(partial(show_results, engine), [session], outputs)
    return {"summary": summary, "outputs": outputs}

"""The Results tab: what the numbers mean (baselines and warnings), why a run has no results, the
galleries' captions, the predictions table and the downloads, and a reload showing a finished run."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import gradio as gr
import numpy as np
import pandas as pd
import pytest
from app_sessions import finished_run, finished_tree_run, new_engine

from app.engine import Engine
from app.runs import new_session_id
from app.tabs import results, runs
from zoobot.runs import RunFolder

CLASSIFICATION = {
    "accuracy": 0.5,
    "classes": [0, 1],
    "confusion_matrix": [[3, 0], [3, 0]],
    "precision": {"0": 0.5, "1": 0.0},
    "recall": {"0": 1.0, "1": 0.0},
}


@pytest.fixture
def engine(tmp_path) -> Engine:
    return new_engine(tmp_path)


@pytest.fixture
def hosted_engine(tmp_path) -> Engine:
    return new_engine(tmp_path, hosted=True)


@pytest.fixture
def image(make_catalog) -> str:
    return make_catalog(n=1, size=32).file_loc[0]


def _as_read(markdown: str) -> str:
    """What a reader sees of the tab's Markdown: no emphasis, escapes or paragraph breaks."""
    return markdown.replace("**", "").replace("\\", "").replace("\n\n", " ")


@pytest.mark.parametrize(
    "task, truth, predicted, warned",
    [
        ("classification", [0, 1, 0, 1, 0, 0], [0, 0, 0, 0, 0, 0], "predicts one class for every galaxy"),
        ("classification", [0, 1, 0, 1, 0, 0], [0, 1, 0, 1, 0, 1], None),
        ("regression", [0.1, 0.5, 0.9], [0.9, 0.1, 0.5], "no better than always predicting the average"),
        ("regression", [0.1, 0.5, 0.9], [0.15, 0.5, 0.8], None),
    ],
)
def test_results_give_the_score_beside_its_baseline_in_the_words_the_cli_prints(
    engine, image, task, truth, predicted, warned
):
    from zoobot.evaluate import classification_metrics, regression_metrics, summarize

    if task == "classification":
        scored = classification_metrics(truth, predicted, ["label_0", "label_1"])
    else:
        scored = regression_metrics(np.array(truth), np.array(predicted))
    metrics = summarize({"split": "test", **scored}, task)  # as a run writes test_metrics.json
    sid = new_session_id()
    finished_run(engine, sid, image, task, metrics)
    shown = results.show_results(engine, sid)
    assert set(shown) == set(results.VIEW)
    assert metrics["summary"] in _as_read(shown["summary"])  # what `zoobot finetune` prints, word for word
    assert bool(metrics["warnings"]) is bool(warned)
    if warned:
        assert f"**{metrics['warnings'][0]}**" in shown["summary"] and warned in shown["summary"]


def test_results_of_a_run_saved_without_baselines_or_warnings_get_them_from_the_library(engine, image):
    sid = new_session_id()
    finished_run(engine, sid, image, "classification", dict(CLASSIFICATION, majority_accuracy=0.5, predicted_classes=1))
    summary = _as_read(results.show_results(engine, sid)["summary"])
    assert "Accuracy 50.0% on 3 test galaxies; always answering the most common class would score 50.0%." in summary
    assert "Warning: the model predicts one class for every galaxy" in summary

    finished_run(engine, sid, image, "classification", dict(CLASSIFICATION, predicted_classes=2))
    summary = results.show_results(engine, sid)["summary"]
    assert "Accuracy 50.0% on 3 test galaxies." in summary  # no baseline recorded: the score alone
    assert "most common class" not in summary and "nan" not in summary and "Warning" not in summary


def test_a_failed_latest_run_is_explained_with_its_error(engine):
    sid = new_session_id()
    folder = RunFolder(engine.store.new_run_dir(sid, "classification"))
    folder.config_path.write_text("task: classification\nlabel_cols: [label]\n")

    def failing(ctx):
        folder.write_progress(status="failed")
        raise ValueError("Column 'ring' has only one class; choose a column with at least two classes.")

    engine.store.update_state(sid, run_dir=str(folder.path))
    job = engine.manager.submit("train", sid, failing, run_dir=str(folder.path))
    engine.manager.wait(job.id, timeout=5)
    summary = results.show_results(engine, sid)["summary"]
    assert summary == (
        "**Your latest run failed:** Column 'ring' has only one class; choose a column with at "
        "least two classes. Earlier runs are in the **Runs** tab."
    )
    assert "is failed" not in summary


def test_a_failed_run_found_after_a_restart_reads_its_error_from_progress(engine):
    sid = new_session_id()
    folder = RunFolder(engine.store.new_run_dir(sid, "regression"))
    folder.config_path.write_text("task: regression\nlabel_cols: [target]\n")
    folder.write_progress(status="failed", error="CUDA out of memory.")
    engine.store.update_state(sid, run_dir=str(folder.path))
    shown = results.show_results(engine, sid)
    assert shown["summary"].startswith("**Your latest run failed:** CUDA out of memory. Earlier runs")
    assert shown["command"].startswith("zoobot finetune --config") and shown["table"] is None


def test_result_galleries_name_the_classes_when_the_run_has_names():
    config = {"label_cols": ["bar"], "class_names": ["none", "strong", "weak"]}
    metrics = {
        "accuracy": 0.5,
        "n": 2,
        "confusion_matrix": [[1, 0, 0], [0, 0, 0], [1, 0, 0]],
        "classes": ["none", "strong", "weak"],
        "precision": {},
        "recall": {},
    }
    # a run's predictions.csv names the classes: probability columns, predicted_class and catalog_<label>
    preds = pd.DataFrame(
        {
            "none": [0.9, 0.8],
            "strong": [0.05, 0.1],
            "weak": [0.05, 0.1],
            "id_str": ["a", "b"],
            "predicted_class": ["none", "none"],
            "split": ["test", "test"],
            "catalog_bar": ["none", "weak"],
        }
    )
    _, _, _, confident, wrong = results._classification(config, metrics, preds)
    assert list(confident["caption"]) == ["a · none (90%) · true none", "b · none (80%) · true weak"]
    assert list(wrong["caption"]) == ["b · none (80%) · true weak"]
    numbered = preds.rename(columns={"none": "bar_0", "strong": "bar_1", "weak": "bar_2"}).assign(
        predicted_class=["bar_0", "bar_0"], catalog_bar=["bar_0", "bar_2"]
    )  # a run whose classes have no names
    _, _, _, numbered, _ = results._classification({"label_cols": ["bar"]}, metrics, numbered)
    assert numbered["caption"].iloc[1] == "b · bar_0 (80%) · true bar_2"


def test_the_predictions_table_shows_four_significant_digits_and_the_download_keeps_them_all(engine, image):
    sid = new_session_id()
    folder = finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": 0.5})
    preds = folder.read_predictions()
    preds["target"] = 0.081043236459685 * (1 + np.arange(len(preds)))
    folder.write_predictions(preds)
    shown = results.show_results(engine, sid)
    table, downloads = shown["table"], shown["downloads"]
    assert table["target"].iloc[0] == 0.08104 and table["target"].iloc[1] == 0.1621
    parquet = next(f for f in downloads if f.endswith(".parquet"))
    assert pd.read_parquet(parquet)["target"].iloc[0] == 0.081043236459685


def test_tree_results_show_without_pandas_performance_warnings(engine, image):
    sid = new_session_id()
    finished_tree_run(engine, sid, Path(image))
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        shown = results.show_results(engine, sid)
    assert "Mean vote-fraction error" in shown["summary"]
    assert len(shown["confident"]) == 12 and len(shown["wrong"]) == 8


def test_tree_galleries_show_the_leading_answer(engine, image):
    sid = new_session_id()
    finished_tree_run(engine, sid, Path(image))
    shown = results.show_results(engine, sid)
    for _, caption in [*shown["confident"], *shown["wrong"]]:
        assert re.fullmatch(r"…\d{6} · (smooth|featured-or-disk|artifact) \d+%( · votes \d+%)?", caption), caption
    assert not any("synthetic" in c or "smooth-or-featured" in c for _, c in [*shown["confident"], *shown["wrong"]])


def test_hosted_sessions_only_see_and_download_their_own_runs(hosted_engine, image):
    mine, theirs = new_session_id(), new_session_id()
    my_run = finished_tree_run(hosted_engine, mine, Path(image))
    their_run = finished_tree_run(hosted_engine, theirs, Path(image))
    my_folder = hosted_engine.store.session_dir(mine)

    downloads = results.show_results(hosted_engine, mine)["downloads"]
    assert {Path(f).name for f in downloads} >= {"config.yaml", "predictions.csv", "finetuned_model.zip"}
    assert all(Path(f).resolve().is_relative_to(my_folder) for f in downloads)

    listed = runs.list_runs(hosted_engine, mine)
    assert list(listed["table"]["name"]) == [my_run.name]
    assert [value for _, value in listed["picker"].choices] == [str(my_run.path)]
    with pytest.raises(gr.Error, match="not in your runs folder"):
        runs.open_run(hosted_engine, mine, str(their_run.path))
    hosted_engine.store.update_state(mine, run_dir=str(their_run.path))  # e.g. a state file edited by hand
    with pytest.raises(gr.Error, match="not one of yours"):
        results.show_results(hosted_engine, mine)


def test_a_reload_shows_a_finished_run_and_otherwise_the_empty_tab(engine, image):
    sid = new_session_id()
    assert results.restore_results(engine, None)["summary"] == results.WAITING
    assert results.restore_results(engine, sid)["summary"] == results.WAITING
    finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": 0.5})
    restored = results.restore_results(engine, sid)
    assert set(restored) == set(results.VIEW) and "RMSE" in restored["summary"]


def test_a_run_with_predictions_in_the_old_format_says_to_run_it_again(engine, image):
    sid = new_session_id()
    folder = finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": 0.5})
    folder.write_predictions(folder.read_predictions().drop(columns=["catalog_target"]))
    shown = results.show_results(engine, sid)
    assert "older version" in shown["summary"] and shown["confident"] == [] and len(shown["table"]) == 6


def test_regression_results_explain_their_scores_and_count_the_same_galaxies_everywhere(engine, image):
    sid = new_session_id()
    finished_run(engine, sid, image, "regression", {"rmse": 0.3, "mae": 0.2, "r2": 0.5})
    shown = results.show_results(engine, sid)
    assert "typical size of a prediction's error" in shown["summary"] and "1 is perfect" in shown["summary"]
    assert shown["confident_box"].visible is False and shown["confident"] == []  # no confidence to rank by
    assert "on 3 test galaxies" in shown["summary"]
    assert len(shown["plot_1"].data[0].x) == 3
    assert sum(shown["plot_2"].data[0].y) == 3  # the errors of the same 3 test galaxies


def test_an_empty_most_wrong_gallery_says_why(engine, image):
    sid = new_session_id()
    folder = finished_run(engine, sid, image, "classification", CLASSIFICATION)
    predictions = folder.read_predictions()
    folder.write_predictions(predictions.assign(catalog_label="label_0"))  # every galaxy right
    shown = results.show_results(engine, sid)
    assert shown["wrong"] == [] and "every validation and test galaxy got its right class" in shown["wrong_note"]
    assert shown["confident_box"].visible is True and len(shown["confident"]) > 0


def test_tree_results_explain_the_vote_fraction_error(engine, image):
    sid = new_session_id()
    finished_tree_run(engine, sid, Path(image))
    assert "percentage points" in results.show_results(engine, sid)["summary"]

"""Test-set metrics from prediction tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from zoobot.evaluate import classification_metrics, regression_metrics, tree_metrics


def test_classification_metrics_against_hand_counts():
    metrics = classification_metrics([0, 0, 0, 1, 1, 2], [0, 0, 1, 1, 0, 2], ["a", "b", "c"])
    assert metrics["accuracy"] == pytest.approx(4 / 6)
    assert metrics["confusion_matrix"] == [[2, 1, 0], [1, 1, 0], [0, 0, 1]]
    assert metrics["precision"] == {"a": pytest.approx(2 / 3), "b": 0.5, "c": 1.0}
    assert metrics["recall"] == {"a": pytest.approx(2 / 3), "b": 0.5, "c": 1.0}
    assert metrics["majority_accuracy"] == pytest.approx(3 / 6)
    assert metrics["predicted_classes"] == 3


def test_a_model_answering_one_class_is_exposed():
    metrics = classification_metrics([0, 0, 0, 1], [0, 0, 0, 0], ["no ring", "ring"])
    assert metrics["accuracy"] == metrics["majority_accuracy"] == 0.75
    assert metrics["predicted_classes"] == 1
    assert metrics["recall"]["ring"] == 0.0


def test_regression_metrics():
    metrics = regression_metrics(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 4.0]))
    assert metrics["rmse"] == pytest.approx(np.sqrt(4 / 3))
    assert metrics["mae"] == pytest.approx(2 / 3)
    assert metrics["r2"] == pytest.approx(1 - 4 / 2)


def test_tree_metrics_skip_unasked_questions(tiny_schema_pairs):
    from zoobot.schemas import Schema

    schema = Schema(*tiny_schema_pairs)
    rows = pd.DataFrame(
        {  # a run's predictions.csv: the catalog's vote counts are catalog_<answer>
            "catalog_smooth-or-featured_smooth": [3, 0],
            "catalog_smooth-or-featured_featured": [1, 4],
            "catalog_has-bar_yes": [0, 2],
            "catalog_has-bar_no": [0, 2],
            "smooth-or-featured_smooth_fraction": [0.75, 0.0],
            "smooth-or-featured_featured_fraction": [0.25, 1.0],
            "has-bar_yes_fraction": [0.9, 0.7],
            "has-bar_no_fraction": [0.1, 0.3],
        }
    )
    metrics = tree_metrics(rows, schema)
    assert metrics["vote_fraction_mae"]["smooth-or-featured"] == 0.0
    assert metrics["vote_fraction_mae"]["has-bar"] == pytest.approx(0.2)  # only row 2 was asked
    bare = rows.rename(columns=lambda c: c.removeprefix("catalog_"))  # counts under the answer names
    assert tree_metrics(bare, schema, count_prefix="") == metrics


def test_vote_fractions_per_galaxy_with_their_errors_and_interval_widths(tiny_schema_pairs):
    from zoobot.evaluate import (
        question_vote_fractions,
        vote_fraction_errors,
        vote_fraction_interval_widths,
        vote_fractions,
    )
    from zoobot.schemas import Schema

    has_bar = Schema(*tiny_schema_pairs).questions[1]
    assert np.array_equal(vote_fractions([[3, 1], [0, 0]]), [[0.75, 0.25], [np.nan, np.nan]], equal_nan=True)
    rows = pd.DataFrame(
        {
            "catalog_has-bar_yes": [0, 2, 1],
            "catalog_has-bar_no": [0, 2, np.nan],
            "has-bar_yes_fraction": [0.9, 0.7, 0.5],
            "has-bar_no_fraction": [0.1, 0.3, 0.5],
            "has-bar_yes_90pc-lower": [0.8, 0.5, 0.0],
            "has-bar_yes_90pc-upper": [1.0, 0.9, 1.0],
            "has-bar_no_90pc-lower": [0.0, 0.2, 0.0],
            "has-bar_no_90pc-upper": [0.2, 0.4, 1.0],
        }
    )
    true, predicted = question_vote_fractions(rows, has_bar)
    assert np.isnan(true[[0, 2]]).all() and true[1].tolist() == [0.5, 0.5]  # not asked; a blank count
    assert predicted[1].tolist() == [0.7, 0.3]
    errors = vote_fraction_errors(rows, has_bar)
    assert np.isnan(errors[[0, 2]]).all() and errors[1] == pytest.approx(0.2)
    assert vote_fraction_interval_widths(rows, has_bar) == pytest.approx([0.2, 0.3, 1.0])


@pytest.mark.parametrize(
    ("task", "metrics", "baseline", "warned"),
    [
        ("classification", classification_metrics([0, 0, 0, 1], [0, 0, 0, 0], ["no ring", "ring"]), "75.0%", True),
        ("classification", classification_metrics([0, 0, 1, 1], [0, 0, 1, 1], ["no ring", "ring"]), "50.0%", False),
        ("regression", regression_metrics(np.array([0.0, 1.0, 2.0]), np.array([0.0, 1.0, 4.0])), "0.816", True),
        ("regression", regression_metrics(np.array([0.0, 1.0, 2.0]), np.array([0.1, 1.0, 2.0])), "0.816", False),
    ],
)
def test_the_summary_puts_the_baseline_beside_the_score_and_warns_when_nothing_was_learned(
    task, metrics, baseline, warned, caplog
):
    from zoobot.evaluate import summarize

    with caplog.at_level("WARNING", logger="zoobot.evaluate"):
        summary = summarize(metrics, task)
    assert baseline in summary["summary"]
    assert bool(summary["warnings"]) == warned == bool(caplog.records)
    if warned and task == "classification":
        assert "predicts one class for every galaxy" in summary["summary"]


def test_the_tree_baseline_predicts_the_average_vote_fractions():
    from zoobot.schemas import Schema

    schema = Schema({"smooth-or-featured": ["_smooth", "_featured"]}, {"smooth-or-featured": None})
    rows = pd.DataFrame(
        {
            "catalog_smooth-or-featured_smooth": [4.0, 0.0],
            "catalog_smooth-or-featured_featured": [0.0, 4.0],
            "smooth-or-featured_smooth_fraction": [1.0, 0.0],
            "smooth-or-featured_featured_fraction": [0.0, 1.0],
        }
    )
    metrics = tree_metrics(rows, schema)
    assert metrics["mean_vote_fraction_mae"] == 0.0
    assert metrics["baseline_mean_vote_fraction_mae"] == pytest.approx(0.5)  # always (0.5, 0.5)


def test_evaluate_predictions_scores_predict_on_catalogs_table_against_the_catalog():
    """What the README's Python example prints: the test galaxies' score beside the baseline, from the model."""
    from types import SimpleNamespace

    from zoobot.evaluate import evaluate_predictions

    classifier = SimpleNamespace(num_classes=2, label_cols=["ring"], multilabel=False)
    predictions = pd.DataFrame(
        {"ring": [0.1, 0.2, 0.3, 0.9], "id_str": ["a", "b", "c", "d"], "predicted_class": ["ring_0"] * 3 + ["ring_1"]}
    )
    catalog = pd.DataFrame({"id_str": ["a", "b", "c", "d", "e"], "ring": [0, 0, 1, 1, None]})
    metrics = evaluate_predictions(predictions, catalog, classifier)
    assert metrics["n"] == 4 and metrics["accuracy"] == 0.75 and metrics["majority_accuracy"] == 0.5
    assert metrics["summary"].startswith("Accuracy 75.0% on 4 galaxies; always answering the most common class")
    one_class = predictions.assign(predicted_class="ring_0")
    assert "predicts one class" in evaluate_predictions(one_class, catalog, classifier)["warnings"][0]

    regressor = SimpleNamespace(label_cols=["bulge_to_total"])
    values = pd.DataFrame({"bulge_to_total": [0.2, 0.4], "id_str": ["a", "b"]})
    truth = pd.DataFrame({"id_str": ["a", "b"], "bulge_to_total": [0.1, 0.5]})
    metrics = evaluate_predictions(values, truth, regressor)
    assert metrics["rmse"] == pytest.approx(0.1) and metrics["baseline_rmse"] == pytest.approx(0.2)
    with pytest.raises(ValueError, match="no 'bulge_to_total' column"):
        evaluate_predictions(values, truth.drop(columns="bulge_to_total"), regressor)


def test_score_and_warnings_are_the_summary_in_two_parts_and_need_no_baseline():
    from zoobot.evaluate import score_and_warnings, summarize

    metrics = summarize(classification_metrics([0, 0, 0, 1], [0, 0, 0, 0], ["no ring", "ring"]), "classification")
    sentence, warnings = score_and_warnings(metrics, "classification")
    assert " ".join([sentence, *warnings]) == metrics["summary"] and len(warnings) == 1
    saved_long_ago = {k: v for k, v in metrics.items() if k not in ("summary", "warnings", "majority_accuracy")}
    sentence, again = score_and_warnings(saved_long_ago, "classification")
    assert sentence == "Accuracy 75.0% on 4 galaxies." and again == warnings

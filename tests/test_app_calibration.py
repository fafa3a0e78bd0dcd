"""The Results tab's calibration fold: a run's calibration.json as plots and plain words; the tree's
example plot compares the volunteers' fraction with the predictive interval and names both intervals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from app_sessions import finished_run, finished_tree_run, new_engine

from app import plots
from app.plots_calibration import calibration_view
from app.runs import new_session_id
from app.tabs.calibration import show_calibration
from zoobot.trees import get_schema
from zoobot.uncertainty import calibrate_predictions, interval_column


@pytest.fixture
def image(make_catalog) -> str:
    return make_catalog(n=1, size=32).file_loc[0]


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _classifier_report() -> dict:
    """An overconfident classifier (logits 3x too large) on 300 validation and 300 test galaxies."""
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2.0, (600, 3))
    labels = (rng.random((600, 1)) > _softmax(logits).cumsum(1)[:, :-1]).sum(1)
    probs = _softmax(3 * logits)
    return calibrate_predictions("classification", probs[:300], labels[:300], probs[300:], labels[300:])


def _tree_report() -> dict:
    """An overconfident tree model (concentrations 5x too large), votes drawn from the true Dirichlets."""
    schema = get_schema("decals_dr5")
    rng = np.random.default_rng(1)
    n = 400
    concentrations = rng.uniform(0.5, 8, (n, len(schema.label_cols))) * rng.uniform(1, 5, (n, 1))
    counts = np.zeros_like(concentrations)
    for start, end in schema.question_index_groups:
        p = np.array([rng.dirichlet(a) for a in concentrations[:, start : end + 1]])
        volunteers = rng.integers(1, 40, n)
        counts[:, start : end + 1] = [rng.multinomial(v, row) for v, row in zip(volunteers, p, strict=True)]
    c = 5 * concentrations
    return calibrate_predictions("tree", c[:200], counts[:200], c[200:], counts[200:], schema=schema)


def _regressor_report() -> dict:
    rng = np.random.default_rng(2)
    mean = rng.uniform(0, 1, (600, 1))
    targets = mean + rng.normal(0, 0.1, mean.shape)
    return calibrate_predictions("regression", mean[:300], targets[:300], mean[300:], targets[300:], names=["b_t"])


def test_a_classifiers_reliability_diagram_and_scores_show_the_correction():
    report = _classifier_report()
    summary, diagram, scores = calibration_view(report)
    before, after = report["test"]["before"], report["test"]["after"]
    assert f"{before['ece']:.3f} → {after['ece']:.3f}" in summary and "temperature" in summary
    low, high = report["correction"]["temperature_range"]
    assert f"allow anything from {low:.2f} to {high:.2f} (95%)" in summary  # how far the fit itself is known
    names = [trace.name for trace in diagram.data]
    assert names == ["calibrated", "before the correction", "after the correction"]
    bins = [i for i, count in enumerate(after["reliability"]["count"]) if count]
    assert list(diagram.data[2].y) == pytest.approx([after["reliability"]["accuracy"][i] for i in bins])
    assert list(scores.data[0].y) == pytest.approx([before["ece"], before["brier"]])
    assert list(scores.data[1].y) == pytest.approx([after["ece"], after["brier"]])
    # the shaded band is what a calibrated model shows from noise alone on as many galaxies
    assert scores.layout.shapes[0].y1 == pytest.approx(after["ece_reference"]["q95"])
    # the axis leaves room for the numbers written above the tallest bar (plotly clips them otherwise)
    tallest = max(before["ece"], before["brier"], after["ece"], after["brier"], after["ece_reference"]["q95"])
    assert scores.layout.yaxis.range[1] >= 1.15 * tallest


def test_a_trees_coverage_per_question_and_by_volunteers():
    report = _tree_report()
    summary, per_question, by_volunteers = calibration_view(report)
    after = report["test"]["after"]["predictive"]
    assert [trace.name for trace in per_question.data] == ["50% interval", "80% interval", "90% interval"]
    questions = list(after["90"]["per_question"])
    assert list(per_question.data[2].x) == pytest.approx(
        [after["90"]["per_question"][q]["pit_coverage"] for q in questions]
    )
    # dashed lines where a calibrated model lies
    assert sorted(shape.x0 for shape in per_question.layout.shapes) == pytest.approx([0.5, 0.8, 0.9])
    assert {trace.name for trace in by_volunteers.data} >= {"90% before", "90% after"}
    assert "predictive interval" in summary and "latent interval" in summary
    # the headline is the coverage of the table's intervals, the figure zoobot calibrate prints
    before_90 = report["test"]["before"]["predictive"]["90"]["coverage"]
    assert f"held **{100 * before_90:.0f}%** of observed fractions" in summary
    assert f"**{100 * after['90']['coverage']:.0f}%** after" in summary
    assert f"(after: {100 * after['90']['pit_coverage']:.0f}%)" in summary
    assert "whole votes" not in summary  # the randomised interval holds its level at any number of volunteers


def test_a_regressors_interval_coverage_before_and_after():
    report = _regressor_report()
    summary, coverage, widths = calibration_view(report)
    after = report["test"]["after"]["coverage"]
    bars = next(trace for trace in coverage.data if trace.name == "after the correction")
    assert list(bars.y) == pytest.approx([after[level]["all"] for level in ("50", "80", "90")])
    assert [trace.name for trace in widths.data] == ["50% interval", "80% interval", "90% interval"]
    assert f"90% intervals {100 * after['90']['all']:.0f}%" in summary


def test_a_run_without_a_report_says_how_to_get_one():
    summary, first, _ = calibration_view(None)
    assert "zoobot calibrate" in summary and first.layout.annotations[0].text == "No calibration report."


def test_the_fold_reads_the_sessions_current_run(tmp_path, image):
    engine, sid = new_engine(tmp_path), new_session_id()
    assert "No run yet" in show_calibration(engine, sid)["calibration_summary"]
    folder = finished_run(engine, sid, image, "classification", {"accuracy": 0.5})
    assert "no calibration report" in show_calibration(engine, sid)["calibration_summary"]
    report = _classifier_report()
    folder.write_calibration(report)
    shown = show_calibration(engine, sid)
    assert f"{report['test']['after']['ece']:.3f}" in shown["calibration_summary"]
    assert shown["calibration_plot_1"].data[-1].name == "after the correction"


def test_the_trees_example_compares_the_volunteers_with_the_predictive_interval(tmp_path, image):
    folder = finished_tree_run(new_engine(tmp_path), new_session_id(), image)
    row = folder.read_predictions().iloc[0].copy()
    answers = list(get_schema("decals_dr5").questions[0].answers)
    names = [a.text for a in answers]
    for a in names:
        row[interval_column(a, "predictive", 0.9, "lower")] = 0.0
        row[interval_column(a, "predictive", 0.9, "upper")] = 1.0
    figure = plots.predicted_fractions(row, names, [0.5] * len(names))
    legend = [trace.name for trace in figure.data]
    assert legend[0].startswith("90% predictive: what its volunteers would answer")
    assert legend[1].startswith("90% latent") and legend[2] == "volunteers (observed)"
    middle = np.array([row[f"{a}_fraction"] for a in names])
    assert list(figure.data[0].error_x.array) == pytest.approx(1.0 - middle)  # the predictive upper end
    # Without a number of volunteers there is no predictive interval: only the latent one is drawn.
    plain = plots.predicted_fractions(pd.Series(folder.read_predictions().iloc[0]), names, None)
    assert [trace.name for trace in plain.data] == ["90% latent: the fraction of very many volunteers"]

"""Intervals that hold what they say, information measures, calibration reports and their corrections.

The statistical tests draw data from known distributions (a Dirichlet and volunteers' votes from it;
labels from known class probabilities; Gaussian residuals), so a calibrated prediction is known and
what the reports say about it can be checked, not only their shapes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy.special import betainc
from scipy.stats import betabinom

from zoobot.losses import vote_fraction_intervals
from zoobot.trees import get_schema
from zoobot.uncertainty import (
    apply_correction,
    calibrate_predictions,
    categorical_information,
    classifier_calibration,
    dirichlet_multinomial_information,
    ece_reference,
    fit_concentration_scales,
    fit_residual_scale,
    fit_temperature,
    format_calibration,
    fraction_interval_columns,
    interval_column,
    latent_intervals,
    predictive_intervals,
    question_totals,
    regressor_calibration,
    regressor_intervals,
    regressor_scale,
    tree_calibration,
)

GROUPS = [(0, 1), (2, 4)]


def _rest(concentrations: np.ndarray) -> np.ndarray:
    rest = np.empty_like(concentrations)
    for start, end in GROUPS:
        q = concentrations[..., start : end + 1]
        rest[..., start : end + 1] = q.sum(-1, keepdims=True) - q
    return rest


def test_one_pass_latent_interval_is_the_dirichlet_marginal():
    c = np.random.default_rng(0).uniform(1, 40, (30, 5))
    low, high = latent_intervals(c, GROUPS, 0.9)
    old_low, old_high = vote_fraction_intervals(torch.as_tensor(c), GROUPS, 0.9)
    np.testing.assert_allclose(low, old_low.numpy())
    np.testing.assert_allclose(high, old_high.numpy())


def test_latent_interval_of_several_passes_has_the_mixtures_tail_probabilities():
    c = np.random.default_rng(1).uniform(1, 80, (8, 25, 5))
    low, high = latent_intervals(c, GROUPS, 0.8)
    cdf = lambda x: betainc(c, _rest(c), x[None]).mean(0)  # noqa: E731
    np.testing.assert_allclose(cdf(low), 0.1, atol=1e-8)
    np.testing.assert_allclose(cdf(high), 0.9, atol=1e-8)


def test_predictive_interval_is_the_beta_binomial_for_the_volunteers_and_reaches_0_and_1():
    rng = np.random.default_rng(2)
    c = rng.uniform(1, 30, (40, 5))
    n = rng.integers(1, 41, (40, 2))
    low, high = predictive_intervals(c, GROUPS, n, 0.9, method="conservative")
    per_answer = np.concatenate([np.repeat(n[:, :1], 2, 1), np.repeat(n[:, 1:], 3, 1)], 1)
    np.testing.assert_allclose(low, betabinom.ppf(0.05, per_answer, c, _rest(c)) / per_answer)
    np.testing.assert_allclose(high, betabinom.ppf(0.95, per_answer, c, _rest(c)) / per_answer)
    # the randomised interval (the default) lies inside the conservative one, its ends one count in at most
    r_low, r_high = predictive_intervals(c, GROUPS, n, 0.9)
    assert (r_low >= low - 1e-12).all() and (r_high <= high + 1e-12).all() and (r_low <= r_high).all()
    assert (np.round((r_low - low) * per_answer) <= 1).all() and (np.round((high - r_high) * per_answer) <= 1).all()
    np.testing.assert_array_equal(predictive_intervals(c, GROUPS, n, 0.9)[0], r_low)  # seeded: repeatable
    confident = np.array([[1.2, 60.0, 1.0, 1.0, 1.0]])
    low, high = predictive_intervals(confident, GROUPS, 5, 0.9)
    assert low[0, 0] == 0.0 and high[0, 1] == 1.0  # the latent interval never reaches either
    latent_low, latent_high = latent_intervals(confident, GROUPS, 0.9)
    assert latent_low[0, 0] > 0 and latent_high[0, 1] < 1


@pytest.mark.parametrize("volunteers", [1, 3, 30])
def test_the_predictive_interval_holds_its_level_at_any_number_of_volunteers(volunteers):
    # Votes drawn from the predicted distribution itself: the randomised interval holds 90% (and 80%)
    # even for one volunteer, where the conservative one holds nearly everything.
    rng = np.random.default_rng(volunteers)
    c = rng.uniform(0.5, 6, (4000, 2))
    p = rng.beta(c[:, 0], c[:, 1])
    k = rng.binomial(volunteers, p)
    for level in (0.8, 0.9):
        low, high = predictive_intervals(c, [(0, 1)], volunteers, level)
        inside = (k / volunteers >= low[:, 0] - 1e-12) & (k / volunteers <= high[:, 0] + 1e-12)
        assert inside.mean() == pytest.approx(level, abs=0.02)
    low, high = predictive_intervals(c, [(0, 1)], volunteers, 0.9, method="conservative")
    conservative = ((k / volunteers >= low[:, 0] - 1e-12) & (k / volunteers <= high[:, 0] + 1e-12)).mean()
    assert conservative >= 0.9 - 0.01
    if volunteers == 1:
        assert conservative > 0.97


def test_a_question_nobody_answered_has_no_predictive_interval():
    low, high = predictive_intervals(np.full((2, 5), 3.0), GROUPS, np.array([[10, 0], [0, 4]]))
    assert np.isnan(low[0, 2:]).all() and np.isnan(low[1, :2]).all() and np.isfinite(high[0, :2]).all()


@pytest.mark.parametrize(
    "bad, match", [(np.full((3, 3), 5), "n_volunteers must be"), (np.full((3, 2), 2.5), "whole numbers")]
)
def test_volunteer_counts_that_do_not_fit_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        predictive_intervals(np.full((3, 5), 3.0), GROUPS, bad)


def test_levels_outside_0_1_are_refused():
    with pytest.raises(ValueError, match="between 0 and 1"):
        latent_intervals(np.full((2, 5), 3.0), GROUPS, 90)


def test_interval_columns_say_which_interval_they_are():
    schema = get_schema("decals_dr5")
    c = np.full((3, len(schema.label_cols)), 4.0)
    table = fraction_interval_columns(
        c, schema, n_volunteers=np.full((3, len(schema.questions)), 10), levels=(0.5, 0.9)
    )
    answer = schema.label_cols[0]
    assert interval_column(answer, "predictive", 0.9, "lower") == f"{answer}_predictive-90pc-lower"
    for kind in ("latent", "predictive"):
        for level in ("50", "90"):
            assert f"{answer}_{kind}-{level}pc-upper" in table.columns
    assert len(table.columns) == len(schema.label_cols) * 2 * 2 * 2
    assert not any("predictive" in c for c in fraction_interval_columns(c, schema).columns)
    # one pass: the latent interval is Zoobot's <answer>_90pc-lower / -upper
    from zoobot.tree_summary import interval_columns as zoobot_intervals

    zoobot = zoobot_intervals(c, schema)
    np.testing.assert_allclose(table[f"{answer}_latent-90pc-lower"], zoobot[f"{answer}_90pc-lower"])


def test_categorical_information_is_zero_when_passes_agree_and_positive_when_they_disagree():
    agree = np.tile([[0.5, 0.5]], (10, 1, 1))
    entropy, information = categorical_information(agree)
    assert entropy[0] == pytest.approx(np.log(2)) and information[0] == pytest.approx(0, abs=1e-12)
    disagree = np.array([[[0.99, 0.01]], [[0.01, 0.99]]] * 5)
    entropy, information = categorical_information(disagree)
    assert entropy[0] == pytest.approx(np.log(2)) and information[0] > 0.6


def test_vote_information_of_a_binary_question_is_the_beta_binomial_one():
    rng = np.random.default_rng(3)
    c = rng.uniform(1, 20, (6, 15, 2)) * rng.uniform(0.3, 3, (6, 15, 1))
    entropy, information = dirichlet_multinomial_information(c, [(0, 1)], 25)
    k = np.arange(26)
    p = betabinom.pmf(k, 25, c[..., :1], c[..., 1:])
    mean = p.mean(0)
    expected_entropy = -(mean * np.log(mean)).sum(-1)
    np.testing.assert_allclose(entropy[:, 0], expected_entropy)
    np.testing.assert_allclose(information[:, 0], expected_entropy + (p * np.log(p)).sum(-1).mean(0))


def test_vote_information_drawn_from_the_mixture_agrees_with_the_exact_sum():
    rng = np.random.default_rng(4)
    c = rng.uniform(1, 20, (8, 12, 4)) * rng.uniform(0.3, 3, (8, 12, 1))
    exact_h, exact_mi = dirichlet_multinomial_information(c, [(0, 3)], 12)  # 455 vote splits: listed
    drawn_h, drawn_mi = dirichlet_multinomial_information(c, [(0, 3)], 12, max_outcomes=10, n_draws=4000)
    np.testing.assert_allclose(drawn_h, exact_h, atol=0.06)
    np.testing.assert_allclose(drawn_mi, exact_mi, atol=0.06)
    assert np.corrcoef(drawn_mi[:, 0], exact_mi[:, 0])[0, 1] > 0.95
    none_h, none_mi = dirichlet_multinomial_information(c, [(0, 3)], 0)
    assert not none_h.any() and not none_mi.any()


# --- calibration: trees -------------------------------------------------------------------------


def _tree_world(n: int, seed: int, overconfidence: float = 1.0):
    """Galaxies whose answer probabilities are drawn from a known Dirichlet, and votes from them.

    The calibrated prediction is that Dirichlet; a model ``overconfidence`` times too sure predicts its
    concentrations times that. Volunteers per question are spread as in the synthetic survey (1-40).
    """
    schema = get_schema("decals_dr5")
    rng = np.random.default_rng(seed)
    concentrations = rng.uniform(0.5, 8, (n, len(schema.label_cols))) * rng.uniform(1, 5, (n, 1))
    truth, counts = np.empty_like(concentrations), np.zeros_like(concentrations)
    for start, end in schema.question_index_groups:
        p = np.array([rng.dirichlet(a) for a in concentrations[:, start : end + 1]])
        volunteers = np.maximum(1, (rng.choice([8, 35], n) * rng.uniform(0, 1, n)).astype(int))
        truth[:, start : end + 1] = p
        counts[:, start : end + 1] = [rng.multinomial(v, row) for v, row in zip(volunteers, p, strict=True)]
    return schema, concentrations * overconfidence, counts, truth


@pytest.fixture(scope="module")
def calibrated_tree():
    return _tree_world(500, seed=5)


def test_a_calibrated_tree_model_covers_the_stated_share(calibrated_tree):
    schema, concentrations, counts, truth = calibrated_tree
    report = tree_calibration(concentrations, counts, schema, truth)
    for level, nominal in (("50", 0.5), ("80", 0.8), ("90", 0.9)):
        assert report["latent"][level]["coverage"] == pytest.approx(nominal, abs=0.02)
        assert report["predictive"][level]["pit_coverage"] == pytest.approx(nominal, abs=0.02)
        # the central-quantile interval holds at least its level, more with few volunteers
        assert report["predictive"][level]["conservative_coverage"] >= nominal - 0.01
    for level, nominal in (("80", 0.8), ("90", 0.9)):  # the interval the table holds: its level
        assert report["predictive"][level]["coverage"] == pytest.approx(nominal, abs=0.02)
    # at 50% one count often holds more than half the probability (one volunteer): then it is the interval
    assert 0.48 <= report["predictive"]["50"]["coverage"] <= 0.62
    by_volunteers = report["predictive"]["90"]["by_volunteers"]
    assert by_volunteers["1-2"]["conservative_coverage"] > by_volunteers["20-39"]["conservative_coverage"] + 0.03
    for cell in by_volunteers.values():  # the randomised interval holds 90% at any number of volunteers
        if cell["n_pairs"] >= 500:
            assert cell["coverage"] == pytest.approx(0.9, abs=0.03)
    assert set(report["predictive"]["90"]["per_question"]) == {q.text for q in schema.questions}
    totals = question_totals(counts, schema.question_index_groups)
    sizes = [end - start + 1 for start, end in schema.question_index_groups]
    assert report["n_pairs"] == int(((totals > 0) * np.array(sizes)).sum())


def test_an_overconfident_tree_model_is_caught_and_corrected_on_held_out_galaxies():
    schema, val_c, val_counts, val_truth = _tree_world(500, seed=6, overconfidence=6.0)
    _, test_c, test_counts, test_truth = _tree_world(500, seed=7, overconfidence=6.0)
    report = calibrate_predictions(
        "tree", val_c, val_counts, test_c, test_counts, schema=schema, val_truth=val_truth, test_truth=test_truth
    )
    scales = report["correction"]["scales"]
    assert all(report["correction"]["significant"].values())
    assert np.median(list(scales.values())) == pytest.approx(1 / 6, rel=0.25)
    before, after = report["test"]["before"], report["test"]["after"]
    # With few volunteers the votes' own scatter dominates, so the predictive interval suffers less.
    assert before["latent"]["90"]["coverage"] < 0.6 and before["predictive"]["90"]["coverage"] < 0.88
    assert 0.88 <= after["predictive"]["90"]["coverage"] <= 0.92
    assert 0.88 <= after["predictive"]["90"]["pit_coverage"] <= 0.92
    assert after["latent"]["90"]["coverage"] >= 0.85
    assert after["log_likelihood"] > before["log_likelihood"]
    assert "latent intervals hold" in format_calibration(report)


def test_a_calibrated_tree_model_is_hardly_changed(calibrated_tree):
    schema, concentrations, counts, truth = calibrated_tree
    correction = fit_concentration_scales(concentrations, counts, schema)
    assert sum(correction["significant"].values()) <= 2  # a 5% test on 10 questions
    assert all(0.6 < c < 1.6 for c in correction["scales"].values())
    after = tree_calibration(apply_correction(concentrations, correction, schema), counts, schema, truth)
    assert after["latent"]["90"]["coverage"] == pytest.approx(0.9, abs=0.025)
    assert after["predictive"]["90"]["pit_coverage"] == pytest.approx(0.9, abs=0.02)
    assert after["predictive"]["90"]["coverage"] == pytest.approx(0.9, abs=0.02)


# --- calibration: classifiers --------------------------------------------------------------------


def _classifier_world(n: int, seed: int):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 2.0, (n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = (rng.random((n, 1)) > probs.cumsum(1)[:, :-1]).sum(1)
    return logits, probs, labels


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_a_calibrated_classifier_is_within_its_finite_sample_reference():
    _, probs, labels = _classifier_world(450, seed=8)
    report = classifier_calibration(probs, labels)
    assert report["ece_within_reference"]
    assert 0 < report["ece_reference"]["mean"] < report["ece_reference"]["q95"] < 0.1
    assert sum(report["reliability"]["count"]) == 450
    fitted = fit_temperature(probs, labels)
    assert not fitted["significant"] and fitted["temperature"] == pytest.approx(1, abs=0.15)


def test_an_overconfident_classifier_gets_a_temperature_that_brings_ece_within_reference():
    logits, _, labels = _classifier_world(450, seed=9)
    test_logits, _, test_labels = _classifier_world(450, seed=10)
    report = calibrate_predictions(
        "classification", _softmax(3 * logits), labels, _softmax(3 * test_logits), test_labels
    )
    assert report["correction"]["significant"] and report["correction"]["temperature"] == pytest.approx(3, rel=0.2)
    before, after = report["test"]["before"], report["test"]["after"]
    assert not before["ece_within_reference"] and after["ece_within_reference"]
    assert after["brier"] < before["brier"]
    assert "temperature" in format_calibration(report)
    low, high = report["correction"]["temperature_range"]
    assert low < report["correction"]["temperature"] < high and high < 4.5  # 450 galaxies: a narrow range
    assert f"95% range {low:.2f}-{high:.2f} on 450 validation galaxies" in format_calibration(report)
    assert "Warning" not in format_calibration(report)


def test_a_correction_that_makes_the_test_split_worse_is_said_so():
    logits, _, labels = _classifier_world(450, seed=9)
    test_logits, _, test_labels = _classifier_world(450, seed=10)
    # fitted on overconfident validation predictions, then applied to calibrated test predictions
    report = calibrate_predictions("classification", _softmax(3 * logits), labels, _softmax(test_logits), test_labels)
    report["n_val"] = 450
    before, after = report["test"]["before"], report["test"]["after"]
    assert after["ece"] > before["ece"] and after["brier"] > before["brier"]
    text = format_calibration(report)
    assert "Warning: the correction made the test galaxies' uncertainties worse" in text
    assert "fitted on 450 validation galaxies" in text and "zoobot predict --no-calibration" in text


def test_a_small_temperature_bound_is_not_printed_as_zero():
    from zoobot.uncertainty.report import temperature_range_text

    text = temperature_range_text({"temperature_range": [0.001, 0.6], "n_fitted": 60})
    assert text == "; 95% range 0.001-0.60 on 60 validation galaxies"


def test_the_temperatures_range_holds_the_true_temperature_95_percent_of_the_time_and_narrows_with_galaxies():
    rng = np.random.default_rng(11)
    held, widths = [], {60: [], 600: []}
    for n in (60, 600):
        for _ in range(100 if n == 60 else 20):
            logits = rng.normal(0, 2.0, (n, 3))
            truth = _softmax(logits)  # the model's probabilities are right at T = 1 ...
            labels = (rng.random((n, 1)) > truth.cumsum(1)[:, :-1]).sum(1)
            fitted = fit_temperature(_softmax(2 * logits), labels)  # ... so the overconfident one needs T = 2
            low, high = fitted["temperature_range"]
            widths[n].append(np.log(high / low))
            if n == 60:
                held.append(low <= 2.0 <= high)
    assert 0.88 <= np.mean(held) <= 1.0  # a 95% range: 100 draws hold it 95 +- 2.2 times
    assert np.median(widths[600]) < 0.45 * np.median(widths[60])  # ten times the galaxies: about a third as wide


def test_ece_reference_shrinks_with_more_galaxies():
    _, small, _ = _classifier_world(100, seed=11)
    _, large, _ = _classifier_world(2000, seed=11)
    assert ece_reference(large, n_draws=200)["mean"] < ece_reference(small, n_draws=200)["mean"] / 2


# --- calibration: regressors ---------------------------------------------------------------------


def test_the_regressors_residual_scale_makes_its_intervals_hold():
    rng = np.random.default_rng(12)
    mean = rng.uniform(0, 1, (2, 900, 1))
    targets = mean + rng.normal(0, 0.07, mean.shape)
    spread = np.full_like(mean[0], 0.01)  # a dropout spread far smaller than the scatter
    correction = fit_residual_scale(mean[0], spread, targets[0], ["bulge_to_total"])
    assert correction["scales"]["bulge_to_total"] == pytest.approx(0.07, rel=0.1)
    assert correction["multipliers"]["bulge_to_total"]["90"] == pytest.approx(1.645, rel=0.1)  # Gaussian
    scale = regressor_scale(spread, [correction["scales"]["bulge_to_total"]])
    report = regressor_calibration(
        mean[1], scale, targets[1], ["bulge_to_total"], multipliers=correction["multipliers"]
    )
    for level, nominal in (("50", 0.5), ("80", 0.8), ("90", 0.9)):
        assert report["coverage"][level]["all"] == pytest.approx(nominal, abs=0.04)
    low, high = regressor_intervals(mean[1], spread, correction, ["bulge_to_total"], 0.9)
    assert ((targets[1] >= low) & (targets[1] <= high)).mean() == pytest.approx(report["coverage"]["90"]["all"])
    spread_only = regressor_calibration(mean[1], spread, targets[1])
    assert spread_only["coverage"]["90"]["all"] < 0.3


def test_heavy_tailed_residuals_get_intervals_that_hold_at_every_level():
    """Many small residuals and a few large ones: a Gaussian of the fitted scale would cover too much
    at 50% and too little at 90%; the validation multipliers fix each level."""
    rng = np.random.default_rng(13)
    mean = rng.uniform(0, 1, (2, 1500, 1))
    targets = mean + 0.05 * rng.standard_t(2.5, mean.shape)
    spread = np.zeros_like(mean[0])
    report = calibrate_predictions("regression", mean[0], targets[0], mean[1], targets[1], names=["t"])
    gaussian = regressor_calibration(
        mean[1], regressor_scale(spread, [report["correction"]["scales"]["t"]]), targets[1]
    )
    assert gaussian["coverage"]["50"]["all"] > 0.6
    after = report["test"]["after"]
    for level, nominal in (("50", 0.5), ("80", 0.8), ("90", 0.9)):
        assert after["coverage"][level]["all"] == pytest.approx(nominal, abs=0.035)
    assert report["test"]["before"] is None  # one pass: no interval without the fit
    assert "intervals hold" in format_calibration(report)

"""The survey's exact answer probabilities: what the simulated volunteers' vote fractions tend to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from zoobot.survey import (
    SurveyError,
    answer_probabilities,
    catalog_answer_probabilities,
    make_survey,
    params_from_row,
    sample_morphology,
    simulate_votes,
)
from zoobot.survey import volunteers as V
from zoobot.trees import get_schema


@pytest.fixture(scope="module")
def schema():
    return get_schema("decals_dr5")


def _galaxies(n: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    return [sample_morphology(rng) for _ in range(n)]


def test_probabilities_of_each_question_sum_to_one(schema):
    for params in _galaxies(5, seed=0):
        probabilities = answer_probabilities(params, schema)
        for question in schema.questions:
            assert sum(probabilities[a.text] for a in question.answers) == pytest.approx(1, abs=1e-12)


def test_they_are_the_expectation_over_the_volunteers_carelessness(schema):
    """An independent check: the same expectation on a grid of 100,000 carelessness quantiles."""
    carelessness = stats.gamma(4.0, scale=0.25).ppf((np.arange(100_000) + 0.5) / 100_000)
    for params in _galaxies(4, seed=1):
        probabilities = answer_probabilities(params, schema)
        ideal, reach = V._ideal_answers(params), {}
        for question in V._walk_order(schema):
            key = V._question_key(question.text)
            parent = question.asked_after
            asked = np.ones_like(carelessness) if parent is None else reach[parent.text]
            probs = V._answer_probabilities(question, ideal[key], key, params.visibility, carelessness)
            for index, answer in enumerate(question.answers):
                reach[answer.text] = asked * probs[:, index]
                expected = (asked * probs[:, index]).mean() / asked.mean()
                assert probabilities[answer.text] == pytest.approx(expected, abs=2e-5)


def test_many_simulated_volunteers_vote_in_these_proportions(schema):
    params = next(p for p in _galaxies(50, seed=2) if p.morphology == "disk" and p.arm_count)
    probabilities = answer_probabilities(params, schema)
    votes = simulate_votes(params, schema, np.random.default_rng(0), n_volunteers=100_000)
    for question in schema.questions:
        answers = [a.text for a in question.answers]
        asked = sum(votes[a] for a in answers)
        if asked < 2000:
            continue
        for a in answers:
            p = probabilities[a]
            assert votes[a] / asked == pytest.approx(p, abs=4.5 * np.sqrt(p * (1 - p) / asked) + 1e-4)


def test_a_survey_catalog_rebuilds_its_galaxies_and_their_probabilities(tmp_path, schema):
    make_survey(6, 16, out_dir=tmp_path, seed=4)
    catalog = pd.read_csv(tmp_path / "catalog.csv")  # from disk: every value went through the CSV
    rng_params = [sample_morphology(np.random.default_rng([4, i, 0])) for i in range(6)]
    assert [params_from_row(row) for row in catalog.to_dict("records")] == rng_params
    table = catalog_answer_probabilities(catalog, schema)
    assert list(table.columns) == list(schema.label_cols) and len(table) == 6
    assert table.iloc[2].to_dict() == pytest.approx(answer_probabilities(rng_params[2], schema))


def test_a_catalog_without_the_truth_is_refused():
    with pytest.raises(SurveyError, match="true_morphology"):
        catalog_answer_probabilities(pd.DataFrame({"id_str": ["a"], "file_loc": ["a.png"]}))

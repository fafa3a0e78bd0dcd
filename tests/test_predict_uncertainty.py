"""predict_on_catalog with Monte Carlo dropout, intervals for the catalog's volunteers, and a run's calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.predict import predict, predict_on_catalog
from zoobot.schemas import Schema

ENCODER = "test_convnext"


def _predict(catalog: pd.DataFrame, model, **kwargs) -> pd.DataFrame:
    return predict_on_catalog(catalog, model, batch_size=8, accelerator="cpu", **kwargs)


@pytest.fixture
def classifier() -> FinetuneableZoobotClassifier:
    torch.manual_seed(0)
    return FinetuneableZoobotClassifier(num_classes=2, name=ENCODER).eval()


def test_one_pass_gives_the_same_table_as_before(make_catalog, classifier):
    catalog = make_catalog(n=6, size=32, task="classification")
    table = _predict(catalog, classifier)
    assert list(table.columns) == ["label_0", "label_1", "id_str", "predicted_class"]
    assert table["label_0"].dtype == np.float32


def test_several_passes_give_the_mean_and_how_much_the_passes_disagree(make_catalog, classifier):
    catalog = make_catalog(n=6, size=32, task="classification")
    plain = _predict(catalog, classifier)
    table = _predict(catalog, classifier, n_samples=30, seed=1)
    assert list(table.columns)[:4] == list(plain.columns)
    assert {"label_0_std", "label_1_std", "predictive-entropy", "mutual-information"} <= set(table.columns)
    assert (table["label_1_std"] > 0).all() and (table["mutual-information"] > 0).all()
    np.testing.assert_allclose(table["label_0"] + table["label_1"], 1, rtol=1e-5)
    np.testing.assert_allclose(table["label_1"], plain["label_1"], atol=0.15)  # dropout averages out
    pd.testing.assert_frame_equal(table, _predict(catalog, classifier, n_samples=30, seed=1))
    zoobot = predict(
        catalog, classifier, n_samples=30, datamodule_kwargs={"batch_size": 8}, trainer_kwargs={"accelerator": "cpu"}
    )
    pd.testing.assert_frame_equal(zoobot, _predict(catalog, classifier, n_samples=30, seed=0))


def test_a_multi_label_classifiers_passes_give_each_labels_information_summed(make_catalog):
    from zoobot.uncertainty import mc_samples
    from zoobot.uncertainty.information import bernoulli_information

    torch.manual_seed(0)
    model = FinetuneableZoobotClassifier(name=ENCODER, label_cols=["merger", "bar"]).eval()
    catalog = make_catalog(n=6, size=32, task="classification")
    table = _predict(catalog, model, n_samples=12, seed=2)
    passes = mc_samples(model, catalog, n_samples=12, seed=2, batch_size=8, accelerator="cpu")
    entropy, information = bernoulli_information(passes)
    np.testing.assert_allclose(table["predictive-entropy"], entropy, rtol=1e-5)
    np.testing.assert_allclose(table["mutual-information"], information, rtol=1e-5, atol=1e-9)
    assert (table["predictive-entropy"] <= 2 * np.log(2) + 1e-9).all()  # at most one bit per label


def test_a_calibration_temperature_is_applied(make_catalog, classifier):
    catalog = make_catalog(n=6, size=32, task="classification")
    plain = _predict(catalog, classifier)
    softened = _predict(catalog, classifier, calibration={"correction": {"kind": "temperature", "temperature": 4.0}})
    assert (np.abs(softened["label_1"] - 0.5) < np.abs(plain["label_1"] - 0.5) + 1e-7).all()
    assert list(softened.columns) == list(plain.columns)


def test_tree_tables_get_predictive_intervals_for_the_catalogs_volunteers(make_catalog, tiny_schema_pairs):
    catalog = make_catalog(n=8, size=32, task="tree")
    torch.manual_seed(2)
    tree = FinetuneableZoobotTree(schema=Schema(*tiny_schema_pairs), name=ENCODER).eval()
    answers = list(tree.label_cols)
    table = _predict(catalog, tree, interval_levels=(0.5, 0.9))
    for answer in answers:
        low, high = table[f"{answer}_predictive-90pc-lower"], table[f"{answer}_predictive-90pc-upper"]
        asked = low.notna()
        assert ((low >= 0) & (low <= high) & (high <= 1))[asked].all()
        assert f"{answer}_latent-50pc-lower" in table.columns
        assert f"{answer}_latent-90pc-lower" not in table.columns  # one pass: Zoobot's _90pc-lower is that
    counts = catalog[answers].to_numpy(dtype=float)
    unasked = counts[:, 2:].sum(axis=1) == 0  # has-bar: only asked after 'featured'
    assert table.loc[unasked, f"{answers[2]}_predictive-90pc-lower"].isna().all()
    without_votes = _predict(catalog[["id_str", "file_loc"]], tree)
    assert not any("predictive" in c or "latent" in c for c in without_votes.columns)
    given = _predict(catalog[["id_str", "file_loc"]], tree, n_volunteers=40)
    assert given[f"{answers[0]}_predictive-90pc-lower"].notna().all()


def test_tree_passes_give_spread_and_information_per_question(make_catalog, tiny_schema_pairs):
    catalog = make_catalog(n=8, size=32, task="tree")
    torch.manual_seed(3)
    tree = FinetuneableZoobotTree(schema=Schema(*tiny_schema_pairs), name=ENCODER).eval()
    table = _predict(catalog[["id_str", "file_loc"]], tree, n_samples=10)
    assert {
        "smooth-or-featured_mutual-information",
        "has-bar_mutual-information",
        "has-bar_yes_fraction-std",
        "has-bar_yes_latent-90pc-upper",
    } <= set(table.columns)
    fractions = table[["smooth-or-featured_smooth_fraction", "smooth-or-featured_featured_fraction"]].sum(axis=1)
    np.testing.assert_allclose(fractions, 1, rtol=1e-6)


def test_a_regressor_with_a_runs_calibration_gets_predictive_intervals(make_catalog):
    catalog = make_catalog(n=6, size=32, task="regression")
    torch.manual_seed(4)
    regressor = FinetuneableZoobotRegressor(name=ENCODER, label_col="target").eval()
    correction = {"kind": "residual_scale", "scales": {"target": 0.1}, "multipliers": {"target": {"90": 1.7}}}
    table = _predict(catalog, regressor, calibration=correction)
    np.testing.assert_allclose(table["target_predictive-90pc-upper"] - table["target"], 0.17, rtol=1e-5)
    np.testing.assert_allclose(table["target"] - table["target_predictive-90pc-lower"], 0.17, rtol=1e-5)

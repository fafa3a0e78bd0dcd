"""Monte Carlo dropout, acquisition scores and the ranked list of galaxies to label next."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import labelled_survey_run

from zoobot.active_learning import suggest_galaxies, unlabelled_rows
from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.runs import RunFolder
from zoobot.schemas import Schema
from zoobot.trees import get_schema
from zoobot.uncertainty import (
    acquisition_scores,
    calibrate_run,
    encoder_features,
    ensemble_samples,
    expected_question_volunteers,
    format_calibration,
    head_samples,
    mc_samples,
    select_batch,
    summarize_samples,
)

ENCODER = "test_convnext"


@pytest.fixture(scope="module")
def classifier() -> FinetuneableZoobotClassifier:
    torch.manual_seed(0)
    return FinetuneableZoobotClassifier(num_classes=3, name=ENCODER, label_col="label")


def _features(n: int = 40, dim: int = 0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, 1, (n, dim)).astype(np.float32)


def test_one_pass_is_the_ordinary_prediction_and_more_passes_turn_dropout_on(classifier):
    x = _features(dim=classifier.encoder_dim)
    classifier.train()
    one = head_samples(classifier, x, 1)
    classifier.eval()
    with torch.no_grad():
        expected = classifier.outputs_to_predictions(classifier.head(torch.as_tensor(x))).numpy()
    np.testing.assert_allclose(one[0], expected, rtol=1e-6)
    several = head_samples(classifier, x, 8, seed=3)
    assert several.shape == (8, 40, 3) and not np.allclose(several[0], several[1])
    np.testing.assert_array_equal(several, head_samples(classifier, x, 8, seed=3))
    assert not classifier.head.training  # the mode it was in comes back
    with pytest.raises(ValueError, match="n_samples"):
        head_samples(classifier, x, 0)


def test_dropout_passes_average_to_the_ordinary_prediction_of_a_linear_head():
    torch.manual_seed(1)
    regressor = FinetuneableZoobotRegressor(name=ENCODER, label_cols=["a", "b"]).eval()
    x = _features(dim=regressor.encoder_dim, seed=1)
    samples = head_samples(regressor, x, 2000, seed=0)
    one = head_samples(regressor, x, 1)[0]
    spread = samples.std(axis=0)
    assert (spread > 0).all()
    np.testing.assert_allclose(samples.mean(axis=0), one, atol=float(4 * spread.max() / np.sqrt(2000)))
    summary = summarize_samples(samples, "regression")
    assert summary["std"].shape == (40, 2)


def test_mc_samples_read_the_catalog_once_and_sample_the_head(classifier, make_catalog):
    catalog = make_catalog(n=6, size=32)
    samples = mc_samples(classifier, catalog, n_samples=4, seed=1, batch_size=4)
    assert samples.shape == (4, 6, 3)
    features = encoder_features(classifier, catalog, batch_size=4)
    np.testing.assert_allclose(samples, head_samples(classifier, features, 4, seed=1), rtol=1e-6)
    pair = ensemble_samples([classifier, classifier], catalog, n_samples=4, seed=1, num_workers=0)
    np.testing.assert_allclose(pair[:4], samples, rtol=1e-6)  # the first model's passes, seeded alike


def test_an_ensemble_stacks_every_models_passes(classifier):
    torch.manual_seed(2)
    other = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER)
    x = _features(dim=classifier.encoder_dim)
    samples = ensemble_samples([classifier, other], features=[x, x], n_samples=3)
    assert samples.shape == (6, 40, 3)
    summary = summarize_samples(samples, "classification")
    assert summary["mutual_information"].shape == (40,) and (summary["mutual_information"] > 0).all()
    with pytest.raises(ValueError, match="one per model"):
        ensemble_samples([classifier, other], features=[x])


def test_bald_prefers_galaxies_the_passes_disagree_on_and_entropy_the_ambiguous_ones():
    agree_sure = np.tile([[0.95, 0.05]], (10, 1))
    agree_ambiguous = np.tile([[0.5, 0.5]], (10, 1))
    disagree = np.array([[0.9, 0.1], [0.1, 0.9]] * 5)
    samples = np.stack([agree_sure, agree_ambiguous, disagree], axis=1)  # (10 passes, 3 galaxies, 2)
    bald, _ = acquisition_scores(samples, "classification", "bald")
    entropy, _ = acquisition_scores(samples, "classification", "entropy")
    assert np.argmax(bald) == 2 and bald[1] == pytest.approx(0, abs=1e-12)
    assert entropy[1] == pytest.approx(entropy[2]) and entropy[0] < entropy[1]
    random_a, _ = acquisition_scores(samples, "classification", "random", seed=4)
    random_b, _ = acquisition_scores(samples, "classification", "random", seed=4)
    np.testing.assert_array_equal(random_a, random_b)
    with pytest.raises(ValueError, match="needs several samples"):
        acquisition_scores(samples[:1], "classification", "bald")
    with pytest.raises(ValueError, match="strategy must be"):
        acquisition_scores(samples, "classification", "margin")


def test_a_multi_label_classifiers_labels_are_scored_each_as_yes_or_no():
    # Sigmoid outputs need not sum to 1: p = (0.2, 0.2) and (0.8, 0.8) are equally uncertain, and a
    # galaxy whose labels all agree across passes has no mutual information, whatever the probabilities.
    low, high = np.full((6, 2), 0.2), np.full((6, 2), 0.8)
    sure = np.full((6, 2), 0.99)
    disagree = np.array([[0.9, 0.5], [0.1, 0.5]] * 3)
    samples = np.stack([low, high, sure, disagree], axis=1)  # (6 passes, 4 galaxies, 2 labels)
    entropy, _ = acquisition_scores(samples, "classification", "entropy", multilabel=True)
    bald, _ = acquisition_scores(samples, "classification", "bald", multilabel=True)
    binary = -(0.2 * np.log(0.2) + 0.8 * np.log(0.8))
    np.testing.assert_allclose(entropy[:2], 2 * binary)
    assert entropy[2] < entropy[0] and np.argmax(bald) == 3
    np.testing.assert_allclose(bald[:3], 0.0, atol=1e-12)
    # one label's score is that of the two-class outcome it stands for
    one_label, _ = acquisition_scores(samples[..., 1:2], "classification", "bald", multilabel=True)
    pairs = np.concatenate([samples[..., 1:2], 1 - samples[..., 1:2]], axis=-1)
    np.testing.assert_allclose(one_label, acquisition_scores(pairs, "classification", "bald")[0])


def test_suggestions_for_a_multi_label_classifier_sample_dropout_and_score_each_label():
    torch.manual_seed(0)
    model = FinetuneableZoobotClassifier(name=ENCODER, label_cols=["merger", "bar"])
    catalog = pd.DataFrame(
        {"id_str": [f"g{i}" for i in range(30)], "file_loc": [f"g{i}.png" for i in range(30)]}
    ).assign(merger=np.nan, bar=np.nan)
    x = _features(30, model.encoder_dim)
    table = suggest_galaxies(model, catalog, n=30, n_samples=8, features=x, seed=2)  # bald: Laplace has no multi-label
    assert (table["posterior"] == "dropout").all() and {"merger", "bar"} <= set(table.columns)
    samples = head_samples(model, x, 8, seed=2)
    expected, _ = acquisition_scores(samples, "classification", "bald", multilabel=True)
    order = [int(i[1:]) for i in table["id_str"]]
    np.testing.assert_allclose(table["score"], expected[order], rtol=1e-5)


def test_tree_scores_come_per_question_and_follow_the_tree():
    schema = get_schema("decals_dr5")
    rng = np.random.default_rng(5)
    n_answers = len(schema.label_cols)
    smooth = schema.label_cols.index("smooth-or-featured-dr5_smooth")
    base = rng.uniform(2, 20, (1, 6, n_answers))
    base[0, :3, smooth] = 100.0  # three galaxies almost surely smooth: few volunteers see the disk questions
    samples = base * np.exp(rng.normal(0, 0.5, (12, 6, n_answers)))
    volunteers = expected_question_volunteers(samples, schema, 40)
    bar = [q.text for q in schema.questions].index("bar-dr5")
    assert (volunteers[:, 0] == 40).all() and volunteers[:3, bar].max() < volunteers[3:, bar].min()
    scores, per_question = acquisition_scores(samples, "tree", "bald", schema)
    assert list(per_question.columns) == [q.text for q in schema.questions]
    np.testing.assert_allclose(scores, per_question.sum(axis=1))
    only_bar, _ = acquisition_scores(samples, "tree", "bald", schema, question="bar-dr5")
    np.testing.assert_allclose(only_bar, per_question["bar-dr5"])
    assert only_bar[:3].max() < only_bar[3:].min()
    agreeing = np.repeat(base, 12, axis=0)
    calm, _ = acquisition_scores(agreeing, "tree", "bald", schema)
    assert (calm < 1e-9).all() and (scores > 0.05).all()
    with pytest.raises(ValueError, match="not in the schema"):
        acquisition_scores(samples, "tree", "bald", schema, question="rings")


def test_unlabelled_rows_are_those_with_every_label_missing():
    catalog = pd.DataFrame({"a": [1, np.nan, np.nan], "b": [np.nan, 2, np.nan]})
    np.testing.assert_array_equal(unlabelled_rows(catalog, ["a", "b"]), [False, False, True])
    assert unlabelled_rows(catalog, ["c"]).all()


def test_suggestions_rank_unlabelled_galaxies_with_predictions_and_reasons(classifier):
    catalog = pd.DataFrame(
        {
            "id_str": [f"g{i}" for i in range(40)],
            "file_loc": [f"g{i}.png" for i in range(40)],
            "label": [0.0] * 10 + [np.nan] * 30,
        }
    )
    x = _features(dim=classifier.encoder_dim)
    table = suggest_galaxies(classifier, catalog, n=5, strategy="bald", n_samples=10, features=x)
    assert list(table["rank"]) == [1, 2, 3, 4, 5]
    assert set(table["id_str"]) <= {f"g{i}" for i in range(10, 40)}
    assert (np.diff(table["score"]) <= 0).all() and table["reason"].str.contains("mutual information").all()
    # the predictions named as a run's predictions.csv names them
    names = [f"label_{k}" for k in range(3)]
    assert {*names, "predicted_class", "file_loc"} <= set(table.columns)
    assert (table["predicted_class"] == table[names].idxmax(axis=1)).all()
    everything = suggest_galaxies(
        classifier, catalog, n=40, strategy="bald", n_samples=10, features=x, only_unlabelled=False
    )
    assert len(everything) == 40
    spread = suggest_galaxies(classifier, catalog, n=5, n_samples=10, features=x, selection="power", seed=3)
    assert len(set(spread["id_str"])) == 5 and set(spread["id_str"]) <= {f"g{i}" for i in range(10, 40)}
    with pytest.raises(ValueError, match=r"already has a label.*--include-labelled"):
        suggest_galaxies(classifier, catalog.assign(label=1.0), n=5, features=x)
    with pytest.raises(ValueError, match="n must be"):
        suggest_galaxies(classifier, catalog, n=0, features=x)
    for bad in (0, -3, 2.5):  # refused in plain words, not a ZeroDivisionError from the blocks
        with pytest.raises(ValueError, match="n_samples must be a whole number >= 1"):
            suggest_galaxies(classifier, catalog, n=5, n_samples=bad, features=x)


def test_a_large_catalog_is_drawn_and_scored_in_blocks_with_the_same_ranking(classifier, monkeypatch):
    """Draws are held a block of galaxies at a time; each galaxy's score and prediction do not depend on
    the block it was in (dropout off: one pass is the ordinary prediction, so entropy is deterministic)."""
    import zoobot.active_learning as active_learning
    import zoobot.uncertainty.sampling as sampling

    catalog = pd.DataFrame({"id_str": [f"g{i}" for i in range(40)], "label": [np.nan] * 40})
    x = _features(dim=classifier.encoder_dim)
    whole = suggest_galaxies(
        classifier, catalog, n=40, strategy="entropy", n_samples=1, features=x, posterior="dropout"
    )
    sizes: list[int] = []
    head_samples = sampling.head_samples

    def counting(model, features, *args, **kwargs):
        sizes.append(len(features))
        return head_samples(model, features, *args, **kwargs)

    monkeypatch.setattr(sampling, "head_samples", counting)
    monkeypatch.setattr(active_learning, "DRAWS_PER_BLOCK", 7)
    blocks = suggest_galaxies(
        classifier, catalog, n=40, strategy="entropy", n_samples=1, features=x, posterior="dropout"
    )
    assert sizes == [7, 7, 7, 7, 7, 5]
    pd.testing.assert_frame_equal(blocks, whole)
    sizes.clear()
    bald = suggest_galaxies(classifier, catalog, n=6, strategy="bald", n_samples=3, features=x, posterior="dropout")
    assert sizes == [2] * 20 and len(bald) == 6 and (np.diff(bald["score"]) <= 0).all()


def test_power_selection_draws_galaxies_in_proportion_to_their_scores():
    scores = np.array([4.0, 2.0, 1.0, 1.0, 0.0])
    np.testing.assert_array_equal(select_batch(scores, 3), [0, 1, 2])  # 'top'
    firsts = np.bincount([select_batch(scores, 1, "power", seed=s)[0] for s in range(4000)], minlength=5) / 4000
    np.testing.assert_allclose(firsts, [0.5, 0.25, 0.125, 0.125, 0.0], atol=0.03)
    squared = np.bincount([select_batch(scores, 1, "power", 2.0, seed=s)[0] for s in range(4000)], minlength=5)
    np.testing.assert_allclose(squared / 4000, [16 / 22, 4 / 22, 1 / 22, 1 / 22, 0.0], atol=0.03)
    batch = select_batch(scores, 5, "power", seed=1)
    assert sorted(batch) == [0, 1, 2, 3, 4] and batch[-1] == 4  # every galaxy once; a zero score last
    with pytest.raises(ValueError, match="selection must be"):
        select_batch(scores, 2, "best")


def test_power_selection_spreads_a_batch_over_near_copies():
    # 40 near-copies of one galaxy score a little above 200 different ones: 'top' takes only copies.
    scores = np.concatenate([np.full(40, 1.05), np.ones(200)])
    assert (select_batch(scores, 20) < 40).all()
    copies = [(select_batch(scores, 20, "power", seed=s) < 40).mean() for s in range(200)]
    assert np.mean(copies) == pytest.approx(40 * 1.05 / (40 * 1.05 + 200), abs=0.04)


@pytest.fixture(scope="module")
def tiny_tree_run(tmp_path_factory) -> tuple[Path, pd.DataFrame]:
    """A finished two-epoch tree run on 36 galaxies of a synthetic survey, and the survey with 12 more unlabelled."""
    schema = get_schema("decals_dr5")
    return labelled_survey_run(
        tmp_path_factory.mktemp("al"),
        48,
        36,  # 12 new galaxies, not yet classified
        "tree",
        list(schema.label_cols),
        seed=7,
        schema="decals_dr5",
        max_epochs=2,
        train_fraction=0.5,
        val_fraction=0.25,
        test_fraction=0.25,
    )


def test_a_runs_calibration_is_written_and_its_correction_used_for_suggestions(tiny_tree_run):
    run_dir, catalog = tiny_tree_run
    folder = RunFolder(run_dir)
    one_pass = folder.read_calibration()  # every run writes it
    report = calibrate_run(run_dir, n_samples=3, accelerator="cpu")
    assert folder.read_calibration(3)["correction"] == report["correction"]
    assert folder.calibration_path_for(3).name == "calibration_3passes.json"
    assert folder.read_calibration() == one_pass  # single-pass predictions keep their own correction
    assert report["n_val"] == 9 and report["n_test"] == 9
    assert "latent" in report["test"]["before"]  # the synthetic survey's true probabilities were found
    assert "predictive intervals hold" in format_calibration(report)
    table = suggest_galaxies(run_dir, catalog, n=4, strategy="bald", n_samples=4, accelerator="cpu")
    assert len(table) == 4 and set(table["id_str"]) <= set(catalog["id_str"].iloc[36:])
    assert table["question"].isin([q.text for q in get_schema("decals_dr5").questions]).all()
    fractions = [c for c in table.columns if c.endswith("_fraction")]
    assert len(fractions) == 34


def test_a_model_without_a_head_is_refused():
    with pytest.raises(ValueError, match="finetuning head"):
        head_samples(torch.nn.Linear(3, 2), np.zeros((2, 3)), 2)


def test_tree_models_sample_concentrations(tiny_schema_pairs):
    pairs, dependencies = tiny_schema_pairs
    tree = FinetuneableZoobotTree(schema=Schema(pairs, dependencies), name=ENCODER)
    samples = head_samples(tree, _features(dim=tree.encoder_dim), 4)
    assert samples.shape == (4, 40, 4) and (samples > 1).all() and (samples < 101).all()
    summary = summarize_samples(samples, "tree", tree.schema, n_volunteers=20)
    assert summary["fraction_mean"].shape == (40, 4) and summary["mutual_information"].shape == (40, 2)


def test_the_command_line_calibrates_a_run_suggests_galaxies_and_predicts_with_passes(tiny_tree_run, tmp_path, capsys):
    from zoobot.cli import main

    run_dir, catalog = tiny_tree_run
    catalog.to_csv(tmp_path / "new.csv", index=False)
    assert main(["calibrate", "--model", str(run_dir), "--accelerator", "cpu"]) == 0
    printed = capsys.readouterr().out
    assert "Calibration on the test split" in printed
    assert "calibration.json: its correction is applied to the run's predictions with one pass" in printed
    assert (
        main(
            [
                "suggest",
                "--model",
                str(run_dir),
                "--catalog",
                str(tmp_path / "new.csv"),
                "--n",
                "5",
                "--n-samples",
                "4",
                "--out",
                str(tmp_path / "next.csv"),
                "--accelerator",
                "cpu",
            ]
        )
        == 0
    )
    suggested = pd.read_csv(tmp_path / "next.csv")
    assert len(suggested) == 5 and set(suggested["id_str"]) <= set(catalog["id_str"].iloc[36:])
    drawn_args = ["suggest", "--model", str(run_dir), "--catalog", str(tmp_path / "new.csv"), "--n", "5"]
    drawn_args += ["--n-samples", "4", "--selection", "power", "--out", str(tmp_path / "drawn.csv")]
    assert main([*drawn_args, "--accelerator", "cpu"]) == 0
    drawn = pd.read_csv(tmp_path / "drawn.csv")
    assert len(drawn) == 5 and drawn["id_str"].is_unique and set(drawn["id_str"]) <= set(catalog["id_str"].iloc[36:])
    assert (
        main(
            [
                "suggest",
                "--model",
                str(run_dir),
                "--catalog",
                str(tmp_path / "new.csv"),
                "--strategy",
                "bald",
                "--n-samples",
                "1",
                "--out",
                str(tmp_path / "x.csv"),
            ]
        )
        == 2
    )  # a user error, explained
    assert "needs several samples" in capsys.readouterr().err
    assert (
        main(
            [
                "predict",
                "--model",
                str(run_dir),
                "--catalog",
                str(tmp_path / "new.csv"),
                "--n-samples",
                "3",
                "--out",
                str(tmp_path / "p.csv"),
                "--accelerator",
                "cpu",
            ]
        )
        == 0
    )
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert "bar-dr5_mutual-information" in predictions.columns and len(predictions) == 48
    labelled = predictions["smooth-or-featured-dr5_smooth_predictive-90pc-lower"].notna()
    assert labelled.sum() == 36  # the catalog's vote counts give the volunteers; the 12 new galaxies have none


def test_predict_applies_the_calibration_fitted_to_its_passes_unless_told_not_to(tiny_tree_run):
    from zoobot.cli.commands import _predict_options
    from zoobot.cli.parser import build_parser

    run_dir, _ = tiny_tree_run
    folder = RunFolder(run_dir)

    def options(*extra: str) -> dict:
        args = build_parser().parse_args(
            ["predict", "--model", str(run_dir), "--catalog", "c.csv", "--out", "p.csv", *extra]
        )
        return _predict_options(args)

    assert options()["calibration"] == folder.read_calibration()
    assert options("--no-calibration")["calibration"] is None
    assert options("--n-samples", "7")["calibration"] == folder.read_calibration()  # none for 7: the one-pass one
    folder.write_calibration({**folder.read_calibration(), "n_samples": 7, "marker": "seven"})
    assert options("--n-samples", "7")["calibration"]["marker"] == "seven"
    folder.calibration_path_for(7).unlink()

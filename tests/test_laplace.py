"""The last-layer Laplace posterior of a finetuned head: where it is uncertain, its prior, its samples, and
every way to ask for it (suggest_galaxies, the command line, a run folder)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import labelled_survey_run

from zoobot.active_learning import default_posterior, suggest_galaxies
from zoobot.finetune import FinetuneableZoobotClassifier, FinetuneableZoobotRegressor, FinetuneableZoobotTree
from zoobot.schemas import Schema
from zoobot.uncertainty import acquisition_scores, fit_laplace, fit_run_laplace, head_samples, laplace_samples
from zoobot.uncertainty.laplace import output_covariance

ENCODER = "test_convnext"


def _galaxies(n: int, dim: int, seed: int, far: bool = False) -> np.ndarray:
    """Features that vary in their first two dimensions only; ``far`` ones also in all the others,
    where no labelled galaxy ever was."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 0.05, (n, dim))
    x[:, :2] = rng.normal(0, 1.5, (n, 2))
    if far:
        x[:, 2:] = rng.normal(0, 2.0, (n, dim - 2))
    return x.astype(np.float32)


def _ring_labels(x: np.ndarray, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    flip = rng.random(len(y)) < 0.1  # some galaxies the volunteers got wrong: no weight runs off to infinity
    return np.where(flip, 1 - y, y)


def _train_head(model, x: np.ndarray, targets: np.ndarray, steps: int = 150, prior_precision: float = 0.0):
    """The head fitted to the labelled galaxies from zero weights (a head-only finetune, full batch): the
    weights that maximise the likelihood times a Gaussian prior of this precision."""
    torch.manual_seed(0)
    for p in model.head.parameters():
        torch.nn.init.zeros_(p)
    optimiser = torch.optim.Adam(model.head.parameters(), lr=0.05)
    features = torch.as_tensor(x)
    y = torch.as_tensor(targets)
    y = y.long() if isinstance(model, FinetuneableZoobotClassifier) else y.float()
    model.head.eval()
    for _ in range(steps):
        optimiser.zero_grad()
        penalty = sum((p**2).sum() for p in model.head.parameters())
        (len(x) * model.compute_loss(model.head(features), y) + 0.5 * prior_precision * penalty).backward()
        optimiser.step()
    return model.eval()


@pytest.fixture(scope="module")
def ring_classifier():
    torch.manual_seed(0)
    model = FinetuneableZoobotClassifier(num_classes=2, name=ENCODER, label_col="ring")
    x = _galaxies(120, model.encoder_dim, seed=1)
    y = _ring_labels(x, seed=1)
    return _train_head(model, x, y, steps=300, prior_precision=1.0), x, y


@pytest.fixture(scope="module")
def regressor():
    torch.manual_seed(0)
    model = FinetuneableZoobotRegressor(name=ENCODER, label_cols=["a", "b"])
    return model


def _regression_data(n: int, dim: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = _galaxies(n, dim, seed)
    noise = np.random.default_rng(seed + 100).normal(0, 0.3, (n, 2))
    return x, np.stack([x[:, 0] - x[:, 1], 0.5 * x[:, 0]], axis=1) + noise


def test_read_only_targets_fit_without_a_warning(regressor):
    x, y = _regression_data(40, regressor.encoder_dim, seed=4)
    y.setflags(write=False)  # as a catalog's column can come
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit_laplace(regressor, x, y)


@pytest.mark.parametrize("structure", ["full", "kron"])
def test_the_posterior_is_sure_where_the_labelled_galaxies_are_and_unsure_away_from_them(regressor, structure):
    x, y = _regression_data(200, regressor.encoder_dim, seed=2)
    model = _train_head(regressor, x, y)
    laplace = fit_laplace(model, x, y, structure=structure)
    assert laplace.structure == structure
    assert np.all((laplace.noise_variance > 0.03) & (laplace.noise_variance < 0.12))  # 0.3**2, less the overfit
    near = output_covariance(model, laplace, _galaxies(50, model.encoder_dim, seed=3))
    far = output_covariance(model, laplace, _galaxies(50, model.encoder_dim, seed=3, far=True))
    near_sd, far_sd = np.sqrt(np.trace(near, axis1=1, axis2=2)), np.sqrt(np.trace(far, axis1=1, axis2=2))
    assert np.median(far_sd) > 5 * np.median(near_sd)
    # fewer labels, the same kind of galaxies: less sure of them
    few_x, few_y = _regression_data(40, model.encoder_dim, seed=4)
    few = fit_laplace(_train_head(regressor, few_x, few_y), few_x, few_y, structure=structure)
    fewer = output_covariance(regressor, few, _galaxies(50, regressor.encoder_dim, seed=3))
    assert np.median(np.trace(fewer, axis1=1, axis2=2)) > 2 * np.median(np.trace(near, axis1=1, axis2=2))


def test_the_heads_dropout_counts_as_a_prior(regressor):
    x, y = _regression_data(200, regressor.encoder_dim, seed=2)
    model = _train_head(regressor, x, y)
    near = _galaxies(50, model.encoder_dim, seed=3)
    spread = {}
    for structure in ("full", "kron"):
        for rate in (0.0, 0.5):  # the regressor's head drops half its inputs while it trains
            laplace = fit_laplace(model, x, y, structure=structure, dropout=None if rate else 0.0)
            spread[structure, rate] = np.median(np.trace(output_covariance(model, laplace, near), axis1=1, axis2=2))
        assert spread[structure, 0.5] < 0.8 * spread[structure, 0.0]
    with pytest.raises(ValueError, match="dropout must be"):
        fit_laplace(model, x, y, dropout=1.0)


def test_samples_are_centred_on_the_finetuned_head_and_spread_as_the_posterior_says(regressor):
    x, y = _regression_data(200, regressor.encoder_dim, seed=2)
    model = _train_head(regressor, x, y)
    laplace = fit_laplace(model, x, y)
    galaxies = _galaxies(6, model.encoder_dim, seed=5, far=True)
    samples = laplace_samples(model, laplace, galaxies, n_samples=4000, seed=1)
    assert samples.shape == (4000, 6, 2)
    covariance = output_covariance(model, laplace, galaxies)
    sd = np.sqrt(np.diagonal(covariance, axis1=1, axis2=2))
    np.testing.assert_allclose(samples.mean(axis=0), head_samples(model, galaxies)[0], atol=float(5 * sd.max() / 63))
    for g in range(6):
        error = np.abs(np.cov(samples[:, g].T) - covariance[g])
        assert (error < 4 * np.outer(sd[g], sd[g]) / np.sqrt(4000)).all()  # 4 standard errors
    np.testing.assert_array_equal(samples[:50], laplace_samples(model, laplace, galaxies, n_samples=50, seed=1)[:50])


def test_the_marginal_likelihood_finds_the_prior_and_predicts_new_galaxies_better_than_an_extreme_one(ring_classifier):
    model, x, y = ring_classifier
    chosen = fit_laplace(model, x, y, dropout=0)  # trained without dropout: the prior is all there is
    assert 0.4 < chosen.prior_precision < 2.5 and chosen.structure == "full"  # the head was trained under 1.0
    broad = fit_laplace(model, x, y, prior_precision=1e-4, dropout=0)
    narrow = fit_laplace(model, x, y, prior_precision=1e4, dropout=0)
    assert chosen.log_marginal_likelihood > max(broad.log_marginal_likelihood, narrow.log_marginal_likelihood)
    new_x = _galaxies(400, model.encoder_dim, seed=6)
    new_y = _ring_labels(new_x, seed=6)

    def held_out_nll(laplace) -> float:
        p = laplace_samples(model, laplace, new_x, n_samples=200, seed=0).mean(axis=0)
        return float(-np.log(p[np.arange(len(new_y)), new_y]).mean())

    assert held_out_nll(chosen) < held_out_nll(broad) - 0.02
    assert held_out_nll(chosen) < held_out_nll(narrow) + 0.005  # as good as no spread at all, where the data is


def test_bald_from_the_laplace_posterior_ranks_galaxies_unlike_the_labelled_ones_first(ring_classifier):
    model, x, y = ring_classifier
    laplace = fit_laplace(model, x, y)
    among = x[:20]
    away = _galaxies(20, model.encoder_dim, seed=7, far=True)
    samples = laplace_samples(model, laplace, np.concatenate([among, away]), n_samples=30, seed=0)
    scores, _ = acquisition_scores(samples, "classification", "bald")
    assert np.median(scores[20:]) > 3 * np.median(scores[:20])
    assert (np.argsort(-scores)[:10] >= 20).mean() >= 0.8


@pytest.mark.parametrize("task", ["classification", "regression", "tree"])
def test_samples_have_the_shape_of_dropout_passes_for_every_task(task, tiny_schema_pairs):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    if task == "classification":
        model = FinetuneableZoobotClassifier(num_classes=3, name=ENCODER)
        targets = rng.integers(0, 3, 30)
    elif task == "regression":
        model = FinetuneableZoobotRegressor(name=ENCODER, label_cols=["a"], unit_interval=True)
        targets = rng.uniform(0, 1, (30, 1))
    else:
        model = FinetuneableZoobotTree(schema=Schema(*tiny_schema_pairs), name=ENCODER)
        smooth = rng.integers(0, 20, 30)
        bar = rng.integers(0, 20 - smooth + 1)
        targets = np.stack([smooth, 20 - smooth, bar, 20 - smooth - bar], axis=1)
    model.eval()
    x = rng.normal(0, 1, (30, model.encoder_dim)).astype(np.float32)
    laplace = fit_laplace(model, x, targets)
    samples = laplace_samples(model, laplace, x[:7], n_samples=5)
    assert samples.shape == head_samples(model, x[:7], 5).shape
    if task == "classification":
        np.testing.assert_allclose(samples.sum(axis=-1), 1.0, rtol=1e-6)
    elif task == "regression":
        assert ((samples > 0) & (samples < 1)).all()  # the sigmoid of a unit-interval target still applies
    else:
        assert ((samples >= 1) & (samples <= 101)).all() and samples.std(axis=0).max() > 0
    with pytest.raises(ValueError, match="n_samples"):
        laplace_samples(model, laplace, x, n_samples=0)
    with pytest.raises(ValueError, match="none were given"):
        fit_laplace(model, x[:0], targets[:0])


def test_suggest_galaxies_samples_the_posterior_the_strategy_does_best_with(ring_classifier):
    model, x, y = ring_classifier
    far = _galaxies(20, model.encoder_dim, seed=8, far=True)
    features = np.concatenate([x[:40], far])
    catalog = pd.DataFrame(
        {"id_str": [f"g{i}" for i in range(60)], "ring": np.concatenate([y[:40], np.full(20, np.nan)])}
    )
    assert default_posterior("bald") == "laplace" and default_posterior("entropy") == "dropout"
    table = suggest_galaxies(model, catalog, n=5, strategy="bald", features=features, n_samples=20)
    assert (table["posterior"] == "laplace").all() and table["reason"].str.contains("Laplace").all()
    dropout = suggest_galaxies(model, catalog, n=5, features=features, n_samples=20, posterior="dropout")
    assert (dropout["posterior"] == "dropout").all() and dropout["reason"].str.contains("dropout").all()
    assert (
        suggest_galaxies(model, catalog, n=5, strategy="entropy", features=features)["posterior"] == "dropout"
    ).all()
    with pytest.raises(ValueError, match="posterior must be one of laplace, dropout"):
        suggest_galaxies(model, catalog, n=5, features=features, posterior="ensemble")
    unlabelled = catalog.assign(ring=np.nan)
    with pytest.raises(ValueError, match=r"no rows with ring filled in.*posterior='dropout'"):
        suggest_galaxies(model, unlabelled, n=5, features=features, posterior="laplace")
    assert len(suggest_galaxies(model, unlabelled, n=5, features=features, posterior="dropout")) == 5


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished one-epoch run classifying ``ring`` on 24 galaxies of a synthetic survey, and the survey with
    8 more whose rings are not yet known."""
    return labelled_survey_run(
        tmp_path_factory.mktemp("laplace_run"), 32, 24, "classification", ["ring"], 3, max_epochs=1
    )


def test_a_run_fits_on_its_training_split_and_the_command_line_chooses_the_posterior(tiny_run, tmp_path, capsys):
    from zoobot.cli import main
    from zoobot.runs import RunFolder, load_run_model, run_split

    run_dir, catalog = tiny_run
    model = load_run_model(run_dir)
    laplace = fit_run_laplace(run_dir, model, accelerator="cpu")
    train = run_split(RunFolder(run_dir).read_config(), model.card).train_catalog
    assert laplace.n_labelled == len(train) > 0 and laplace.task == "classification"
    catalog.to_csv(tmp_path / "new.csv", index=False)
    for posterior in ("laplace", "dropout"):
        out = tmp_path / f"{posterior}.csv"
        args = ["suggest", "--model", str(run_dir), "--catalog", str(tmp_path / "new.csv"), "--n", "4"]
        assert main([*args, "--posterior", posterior, "--out", str(out), "--accelerator", "cpu"]) == 0
        suggested = pd.read_csv(out)
        assert len(suggested) == 4 and (suggested["posterior"] == posterior).all()
        assert f"bald, {posterior} posterior" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*args, "--posterior", "bayes", "--out", str(tmp_path / "x.csv")])
    assert "invalid choice: 'bayes'" in capsys.readouterr().err


def test_a_run_whose_labels_are_gone_is_told_what_to_do(tiny_run, tmp_path):
    import shutil

    from zoobot.runs import RunConfig, RunFolder

    run_dir, catalog = tiny_run
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    config = RunFolder(copy).read_config()
    catalog.assign(ring=np.nan).to_csv(tmp_path / "no_labels.csv", index=False)
    values = config.to_dict() | {"catalog": str(tmp_path / "no_labels.csv"), "run_dir": str(copy)}
    RunFolder(copy).write_config(RunConfig.from_dict(values))
    with pytest.raises(ValueError, match=r"run's training galaxies, but its training split.*posterior='dropout'"):
        suggest_galaxies(copy, catalog, n=4, posterior="laplace", accelerator="cpu")
    assert len(suggest_galaxies(copy, catalog, n=4, posterior="dropout", accelerator="cpu")) == 4

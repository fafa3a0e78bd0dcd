"""Representations: features from every kind of encoder input, PCA, UMAP and nearest neighbours."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from zoobot.encoders import load_encoder, save_encoder
from zoobot.finetune import FinetuneableZoobotClassifier
from zoobot.representations import compute_umap, get_representations, nearest_neighbours


def test_features_from_source_module_and_finetuned_model_agree(make_catalog, tmp_path):
    catalog = make_catalog(n=9, size=32, task="classification")
    encoder, card = load_encoder("test_convnext")
    save_encoder(encoder, card, tmp_path / "enc")
    from_module = get_representations(catalog, encoder, batch_size=4, input_size=32, accelerator="cpu")
    from_source = get_representations(
        catalog,
        str(tmp_path / "enc"),
        batch_size=4,
        input_size=32,
        accelerator="cpu",
        save_loc=tmp_path / "features.parquet",
    )
    model = FinetuneableZoobotClassifier(num_classes=2, encoder=encoder)
    from_model = get_representations(catalog, model, batch_size=4, input_size=32, accelerator="cpu")
    assert list(from_module.columns) == ["id_str"] + [f"feat_{i}" for i in range(64)]
    assert list(from_module["id_str"]) == list(catalog["id_str"])
    pd.testing.assert_frame_equal(from_module, from_source, atol=1e-5)
    pd.testing.assert_frame_equal(from_module, from_model, atol=1e-5)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "features.parquet"), from_source)


def test_pca_reduces_features(make_catalog):
    catalog = make_catalog(n=8, size=32, task="classification")
    table = get_representations(
        catalog, "test_convnext", batch_size=8, input_size=32, pca_components=3, accelerator="cpu"
    )
    assert list(table.columns) == ["id_str", "feat_0", "feat_1", "feat_2"]
    variances = table[["feat_0", "feat_1", "feat_2"]].var().to_numpy()
    assert variances[0] >= variances[1] >= variances[2]
    with pytest.raises(ValueError, match="pca_components=50"):
        get_representations(catalog, "test_convnext", input_size=32, pca_components=50)


def test_nearest_neighbours_by_cosine():
    features = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [2.0, 0.05], [-1.0, 0.0]])
    assert list(nearest_neighbours(features, 0, k=2)) == [3, 1]
    assert list(nearest_neighbours(features, 0, k=10)) == [3, 1, 2, 4]
    with pytest.raises(ValueError, match="outside the 5 rows"):
        nearest_neighbours(features, 7)


@pytest.mark.slow
def test_umap_is_seeded_and_two_dimensional():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(0, 1, (15, 8)), rng.normal(6, 1, (15, 8))])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = compute_umap(features, n_neighbors=5, seed=1)
    assert not [w for w in caught if "n_jobs" in str(w.message)]  # a seeded map runs on one thread, unwarned
    again = compute_umap(features, n_neighbors=5, seed=1)
    assert first.shape == (30, 2)
    np.testing.assert_allclose(first, again)
    # The two clusters stay apart.
    gap = np.linalg.norm(first[:15].mean(0) - first[15:].mean(0))
    spread = first[:15].std(0).max()
    assert gap > 2 * spread


def test_umap_refuses_too_few_rows():
    with pytest.raises(ValueError, match="at least 3 rows"):
        compute_umap(np.zeros((2, 4)))

"""Representations: one feature vector per galaxy from an encoder, plus UMAP maps and similarity search."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import cast

import numpy as np
import pandas as pd
from torch import nn

from zoobot.datasets import GalaxyDataset
from zoobot.encoders import EncoderCard, card_for_module, load_encoder
from zoobot.inference import inference_device, machine_loader, run_batches
from zoobot.transforms import get_transforms

EncoderLike = str | Path | nn.Module


def resolve_encoder(
    encoder: EncoderLike, card: EncoderCard | None, channels: int | None
) -> tuple[nn.Module, EncoderCard]:
    """An encoder module and its card from a source string, a finetuned model or a module."""
    if isinstance(encoder, (str, Path)):
        return load_encoder(encoder, channels=channels)
    inner = getattr(encoder, "encoder", None)
    if isinstance(inner, nn.Module):  # a finetuned or from-scratch model: use its encoder
        return inner, card or cast(EncoderCard, encoder.card)
    if card is None:
        card = card_for_module(encoder)
    return encoder, card


def get_representations(
    catalog: pd.DataFrame,
    encoder: EncoderLike,
    batch_size: int | None = None,
    save_loc: str | Path | None = None,
    pca_components: int | None = None,
    card: EncoderCard | None = None,
    channels: int | None = None,
    input_size: int | tuple[int, int] | None = None,
    num_workers: int | None = None,
    accelerator: str = "auto",
) -> pd.DataFrame:
    """One feature vector per galaxy (the encoder's pooled features), streamed from disk.

    Args:
        catalog: rows with ``id_str`` and ``file_loc``.
        encoder: an encoder source (``'demo'``, ``'hf_hub:...'``, a directory, a checkpoint), a
            finetuned model (its encoder is used), or an encoder module.
        batch_size: images per batch (default: the machine's, :mod:`zoobot.machine`).
        save_loc: ``.csv`` or ``.parquet`` path to write, or None.
        pca_components: reduce the features to this many principal components (scikit-learn PCA).
        card: the encoder's card for a bare module (default: its input size, mean 0, std 1).
        channels: image channels when loading a source for different images (1 for greyscale).
        input_size: image side fed to the encoder (default: the card's).
        num_workers: data-loading worker processes (default: the machine's). For catalogs too big for
            memory, see :func:`zoobot.shards.representations_to_shards`.
        accelerator: ``'auto'``, ``'cpu'`` or ``'gpu'``.

    Returns:
        ``id_str`` then ``feat_0 .. feat_{D-1}`` (D = feature dim, or ``pca_components``).
    """
    module, card = resolve_encoder(encoder, card, channels)
    if pca_components is not None and not 1 <= pca_components <= min(len(catalog), card.feature_dim):
        raise ValueError(
            f"pca_components={pca_components} must be between 1 and min(rows, feature dim) = "
            f"{min(len(catalog), card.feature_dim)}."
        )
    size = input_size or card.input_size
    dataset = GalaxyDataset(
        catalog,
        transform=get_transforms(size, card.channels, card.mean, card.std),
        input_size=size,
        channels=card.channels,
    )
    device = inference_device(accelerator)
    loader, _ = machine_loader(dataset, device, batch_size, num_workers)
    was_training = module.training
    module.to(device).eval()
    try:
        features = run_batches(module, loader, device, precision="32-true").numpy()
    finally:
        module.train(was_training)
    if not len(features):
        features = np.zeros((0, card.feature_dim), dtype=np.float32)
    if pca_components is not None:
        from sklearn.decomposition import PCA

        features = PCA(n_components=pca_components, random_state=0).fit_transform(features)
    table = pd.DataFrame(features, columns=[f"feat_{i}" for i in range(features.shape[1])])
    table.insert(0, "id_str", dataset.id_strs)
    if save_loc is not None:
        from zoobot.predict import write_table

        write_table(table, save_loc)
    return table


# umap-learn itself finds exact neighbours below 4,096 rows; above this, up to here, we do (brute force).
EXACT_KNN_MIN_ROWS = 4096
EXACT_KNN_MAX_ROWS = 50_000
UMAP_JIT_MODULES = ("umap.umap_", "umap.layouts", "umap.utils", "umap.spectral", "umap.distances", "umap.sparse")


def _cache_umap_jit() -> None:
    """Keep umap-learn's numba-compiled functions in numba's on-disk cache.

    Many of them are compiled without ``cache=True``, which costs ~15 s in every new process;
    with caching only the first process on a machine pays it.
    """
    import importlib

    from numba.core.dispatcher import Dispatcher

    for name in UMAP_JIT_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:  # modules differ between umap-learn versions
            continue
        for value in vars(module).values():
            if isinstance(value, Dispatcher):
                value.enable_caching()


def compute_umap(
    features: np.ndarray,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    seed: int = 42,
    pca_components: int | None = 50,
    n_epochs: int | None = 200,
) -> np.ndarray:
    """A 2-D UMAP embedding ``(N, 2)`` of ``features`` ``(N, D)`` (umap-learn, seeded).

    ``n_neighbors`` is capped at ``N - 1`` so small catalogs work. Features wider than
    ``pca_components`` are first reduced by PCA (the usual step before UMAP: same neighbourhoods,
    much faster); ``n_epochs`` layout epochs (None: umap-learn's default, 500 below 10,000 rows).
    See ``benchmarks/README.md`` for timings.
    """
    import umap

    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or len(features) < 3:
        raise ValueError(f"UMAP needs a (N, D) feature array with at least 3 rows, got shape {features.shape}.")
    if pca_components is not None and features.shape[1] > pca_components and len(features) > pca_components:
        from sklearn.decomposition import PCA

        pca = PCA(n_components=pca_components, svd_solver="randomized", random_state=seed)
        features = pca.fit_transform(features)
    _cache_umap_jit()
    n_neighbors = min(n_neighbors, len(features) - 1)
    knn: tuple[np.ndarray | None, ...] = (None, None, None)
    if EXACT_KNN_MIN_ROWS <= len(features) <= EXACT_KNN_MAX_ROWS:
        # Exact neighbours in a second or two; umap-learn's approximate search (pynndescent) would
        # recompile its numba code in every new process (~1 min on 2 cores).
        from sklearn.neighbors import NearestNeighbors

        distances, indices = (
            NearestNeighbors(n_neighbors=n_neighbors, algorithm="brute").fit(features).kneighbors(features)
        )
        knn = (indices, distances.astype(np.float32))
    reducer = umap.UMAP(
        n_components=2,
        n_neighbors=n_neighbors,
        min_dist=min_dist,
        n_epochs=n_epochs,
        low_memory=True,
        random_state=seed,
        n_jobs=1,  # what a seed makes UMAP use anyway (said, else, in a warning at every map)
        precomputed_knn=knn[:2] if knn[0] is not None else knn,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"precomputed_knn\[2\]")  # no index: fine, no .transform
        return reducer.fit_transform(features)


def nearest_neighbours(features: np.ndarray, index: int, k: int = 8) -> np.ndarray:
    """Rows most similar (cosine) to row ``index``, most similar first, excluding ``index`` itself.

    Args:
        features: ``(N, D)`` array.
        index: the query row.
        k: how many neighbours (fewer if the catalog is smaller).

    Returns:
        Integer row indices, shape ``(min(k, N - 1),)``.
    """
    features = np.asarray(features, dtype=np.float64)
    if not 0 <= index < len(features):
        raise ValueError(f"index {index} is outside the {len(features)} rows.")
    norms = np.linalg.norm(features, axis=1)
    unit = features / np.where(norms > 0, norms, 1.0)[:, None]
    similarity = unit @ unit[index]
    similarity[index] = -np.inf
    order = np.argsort(-similarity, kind="stable")
    return order[: min(k, len(features) - 1)]

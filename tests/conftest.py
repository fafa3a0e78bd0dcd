"""Shared, seeded test fixtures: small galaxy catalogs written to disk under ``tmp_path``.

Fixtures other test files rely on (keep the names stable):

- ``tiny_schema_pairs``: ``(question_answer_pairs, dependencies)`` of a two-question tree.
- ``make_catalog``: factory writing images and returning a catalog ``DataFrame``.

And one plain function, :func:`labelled_survey_run`: a finished tiny run on part of a synthetic survey.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
import pytest
from PIL import Image

TINY_PAIRS = {"smooth-or-featured": ["_smooth", "_featured"], "has-bar": ["_yes", "_no"]}
TINY_DEPENDENCIES = {"smooth-or-featured": None, "has-bar": "smooth-or-featured_featured"}
TINY_LABEL_COLS = [q + a for q, answers in TINY_PAIRS.items() for a in answers]


@pytest.fixture
def tiny_schema_pairs() -> tuple[dict[str, list[str]], dict[str, str | None]]:
    """A two-question decision tree in Zoobot's ``(pairs, dependencies)`` form.

    ``has-bar`` is asked only of galaxies whose volunteers answered ``smooth-or-featured_featured``.
    Label columns, in order: smooth-or-featured_smooth, smooth-or-featured_featured, has-bar_yes, has-bar_no.
    """
    return (
        {q: list(a) for q, a in TINY_PAIRS.items()},
        dict(TINY_DEPENDENCIES),
    )


def _galaxy(
    size: int,
    rng: np.random.Generator,
    brightness: float,
    axis_ratio: float,
    bar: float,
    colour: tuple[float, float, float],
) -> np.ndarray:
    """A float (H, W, 3) image in [0, 1]: an elliptical Gaussian blob, an optional bar, noise."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    c = (size - 1) / 2 + rng.normal(0, size * 0.02, size=2)
    angle = rng.uniform(0, np.pi)
    dx, dy = xx - c[0], yy - c[1]
    u = dx * np.cos(angle) + dy * np.sin(angle)
    v = -dx * np.sin(angle) + dy * np.cos(angle)
    sigma = size * 0.15
    blob = np.exp(-0.5 * ((u / sigma) ** 2 + (v / (sigma * axis_ratio)) ** 2))
    bar_img = np.exp(-0.5 * ((u / (sigma * 1.6)) ** 2 + (v / (sigma * 0.15)) ** 2))
    grey = brightness * blob + bar * bar_img
    img = grey[..., None] * np.asarray(colour)[None, None, :]
    img = img + rng.normal(0, 0.03, size=img.shape)
    return np.clip(img, 0, 1)


def _write_image(pixels: np.ndarray, path: Path, image_format: str) -> None:
    if image_format == "fits":
        from astropy.io import fits

        # A single-band float image, as surveys deliver them (arbitrary flux units).
        fits.PrimaryHDU(data=(pixels.mean(axis=-1) * 1000.0).astype(np.float32)).writeto(path)
        return
    img = Image.fromarray((pixels * 255).round().astype(np.uint8))
    if image_format == "jpg":
        img.save(path, quality=95)
    else:
        img.save(path)


CatalogFactory = Callable[..., pd.DataFrame]


@pytest.fixture
def make_catalog(tmp_path: Path) -> CatalogFactory:
    """Factory writing a small seeded catalog of synthetic galaxy images under ``tmp_path``.

    Call as ``make_catalog(n=24, size=48, task='classification', image_format='png', n_classes=2,
    seed=0, n_unlabelled=0)``. Each call writes into its own sub-folder and returns a DataFrame with
    ``id_str``, absolute ``file_loc`` and labels:

    - ``'classification'``: ``label`` (int, 0..n_classes-1, balanced). Class k is brighter, more
      elongated and bluer as k grows, so even a tiny model can separate classes.
    - ``'regression'``: ``target`` (float in [0, 1]); brightness and elongation grow with it.
    - ``'tree'``: the vote counts of ``tiny_schema_pairs`` (int columns, ``TINY_LABEL_COLS``), consistent
      with the tree: ``has-bar`` votes sum to the ``featured`` votes. Featured galaxies are elongated;
      barred ones carry a bar.

    The last ``n_unlabelled`` rows get NaN labels (for tree: NaN counts are NOT written; tree rows
    are all labelled). The catalog's folder is ``Path(df.file_loc[0]).parent.parent``; the factory
    also writes it to ``catalog.csv`` there.
    """
    counter = itertools.count()

    def factory(
        n: int = 24,
        size: int = 48,
        task: Literal["classification", "regression", "tree"] = "classification",
        image_format: Literal["png", "jpg", "fits"] = "png",
        n_classes: int = 2,
        seed: int = 0,
        n_unlabelled: int = 0,
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        root = tmp_path / f"catalog_{next(counter)}"
        image_dir = root / "images"
        image_dir.mkdir(parents=True)
        rows = []
        for i in range(n):
            row: dict[str, object] = {"id_str": f"gal_{i:05d}"}
            if task == "classification":
                k = i % n_classes
                t = k / max(n_classes - 1, 1)
                pixels = _galaxy(size, rng, 0.4 + 0.5 * t, 1.0 - 0.6 * t, 0.0, (1.0 - 0.7 * t, 0.6, 0.3 + 0.7 * t))
                row["label"] = k
            elif task == "regression":
                t = float(rng.uniform(0, 1))
                pixels = _galaxy(size, rng, 0.4 + 0.5 * t, 1.0 - 0.6 * t, 0.0, (1.0, 0.8, 0.6))
                row["target"] = t
            elif task == "tree":
                total = int(rng.integers(5, 40))
                p_featured = float(rng.choice([0.1, 0.9]))
                featured = int(rng.binomial(total, p_featured))
                p_bar = float(rng.choice([0.1, 0.9]))
                bar_yes = int(rng.binomial(featured, p_bar))
                pixels = _galaxy(size, rng, 0.8, 1.0 - 0.6 * p_featured, 0.6 * p_bar * p_featured, (1.0, 0.8, 0.6))
                row.update(
                    {
                        "smooth-or-featured_smooth": total - featured,
                        "smooth-or-featured_featured": featured,
                        "has-bar_yes": bar_yes,
                        "has-bar_no": featured - bar_yes,
                    }
                )
            else:
                raise ValueError(f"unknown task {task!r}")
            path = image_dir / f"{row['id_str']}.{image_format}"
            _write_image(pixels, path, image_format)
            row["file_loc"] = str(path.resolve())
            rows.append(row)
        df = pd.DataFrame(rows)
        if n_unlabelled and task in ("classification", "regression"):
            col = "label" if task == "classification" else "target"
            df[col] = df[col].astype(float)
            df.loc[df.index[-n_unlabelled:], col] = np.nan
        df.to_csv(root / "catalog.csv", index=False)
        return df

    return factory


def labelled_survey_run(
    root: Path, n: int, n_labelled: int, task: str, label_cols: list[str], seed: int, **settings: object
) -> tuple[Path, pd.DataFrame]:
    """A finished run (``root/run``) trained on the first ``n_labelled`` of ``n`` synthetic galaxies (32 px,
    ``test_convnext``, batches of 8, learning rate 1e-3; ``settings`` add to or replace these), and the
    survey's catalog with the labels of the other galaxies blanked: galaxies not yet labelled."""
    from zoobot.runs import RunConfig, run_finetune
    from zoobot.survey import make_survey

    catalog = make_survey(n, 32, out_dir=root / "survey", seed=seed)
    catalog.iloc[:n_labelled].to_csv(root / "survey" / "labelled.csv", index=False)  # the run trains on these
    catalog[label_cols] = catalog[label_cols].astype(float)
    catalog.loc[n_labelled:, label_cols] = np.nan
    options: dict[str, object] = {"encoder": "test_convnext", "image_size": 32, "batch_size": 8, "learning_rate": 1e-3}
    config = RunConfig(
        task=task,
        catalog=str(root / "survey" / "labelled.csv"),
        label_cols=label_cols,
        run_dir=str(root / "run"),
        **(options | settings),  # type: ignore[arg-type]
    )
    run_finetune(config, accelerator="cpu")
    return root / "run", catalog

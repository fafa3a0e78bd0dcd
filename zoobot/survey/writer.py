"""Writing a whole synthetic survey to disk: images and ``catalog.csv`` (:func:`make_survey`).

Each image and the catalog are written to a temporary file and renamed into place, so a survey cut short
(the process killed) holds only whole images and no catalog, or the previous one: ``make_survey(...,
resume=True)`` finishes it, drawing only the missing galaxies.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from PIL import Image

from zoobot.survey.errors import SurveyError
from zoobot.survey.morphology import BAR_LABELS, sample_morphology
from zoobot.survey.rendering import render_galaxy
from zoobot.survey.volunteers import SCHEMA_NAME, simulate_votes

ImageFormat = Literal["png", "jpg"]

CATALOG_NAME = "catalog.csv"
IMAGE_FOLDER = "images"


def _check_arguments(n: int, size: int, seed: int, image_format: str) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise SurveyError(f"n must be a whole number of galaxies, at least 1; got {n!r}.")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 16 <= size <= 2048:
        raise SurveyError(f"size must be a whole number of pixels from 16 to 2048; got {size!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SurveyError(f"seed must be a whole number, 0 or more; got {seed!r}.")
    if image_format not in ("png", "jpg"):
        raise SurveyError(f"image_format must be 'png' or 'jpg'; got {image_format!r}.")


def _galaxy_rngs(seed: int, index: int) -> tuple[np.random.Generator, ...]:
    """Independent generators for the morphology, the image and the votes of one galaxy.

    Keyed by (seed, index) alone, so galaxy ``index`` is the same whatever ``n`` or ``size``.
    """
    return tuple(np.random.default_rng([seed, index, stream]) for stream in range(3))


def make_survey(
    n: int = 1000,
    size: int = 128,
    *,
    out_dir: str | Path,
    seed: int = 0,
    image_format: ImageFormat = "png",
    overwrite: bool = False,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Render a synthetic survey with simulated GZ DECaLS DR5 votes and known true morphology.

    Writes ``out_dir/images/<id_str>.<image_format>`` and ``out_dir/catalog.csv``. In the CSV,
    ``file_loc`` is relative to ``out_dir`` (so the folder can be moved); in the returned table it
    is absolute. The catalog's columns are:

    - ``id_str``, ``file_loc``;
    - targets: ``ring`` (0/1), ``bar`` (0/1/2 for none/weak/strong), ``bar_label``
      (``'none'``/``'weak'``/``'strong'``), ``bulge_to_total`` (r-band flux ratio, 0-1) and
      ``axis_ratio`` (b/a);
    - every ``decals_dr5`` answer column (vote counts; 0 where not asked) and one
      ``<question>_total-votes`` column per question;
    - the true parameters, ``true_<field>`` for every :class:`GalaxyParams` field, plus
      ``true_visibility``.

    The same ``seed`` gives the same catalog and the same image bytes; galaxy ``i`` does not depend
    on ``n`` or ``size``.

    Args:
        n: number of galaxies.
        size: image side in pixels.
        out_dir: folder to write into (created if needed).
        seed: random seed.
        image_format: ``'png'`` (lossless) or ``'jpg'`` (quality 90, like GZ DECaLS cutouts).
        overwrite: replace a survey already in ``out_dir``.
        resume: finish a survey in ``out_dir`` that was cut short (or extend one with a larger ``n``): the
            images already there, whole and of this ``size``, are kept, the others drawn, and the catalog
            written again. The result is the same as drawing the survey in one go (same ``seed``).
        progress: called as ``progress(done, total)`` after each galaxy (a kept one included).

    Returns:
        The catalog, one row per galaxy, with absolute ``file_loc``.

    Raises:
        SurveyError: if an argument is out of range, or ``out_dir`` already holds a catalog and
            ``overwrite`` is False.
    """
    from zoobot.trees import get_schema

    _check_arguments(n, size, seed, image_format)
    out_dir = Path(out_dir).expanduser().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise SurveyError(f"out_dir {out_dir} is a file; give a folder to write the survey into.")
    if (out_dir / CATALOG_NAME).exists() and not (overwrite or resume):
        raise SurveyError(
            f"{out_dir / CATALOG_NAME} already exists; choose another out_dir, delete it, pass "
            "overwrite=True (--overwrite on the command line) to replace it, or resume=True (--resume) to "
            "finish a survey that was cut short."
        )
    image_dir = out_dir / IMAGE_FOLDER
    image_dir.mkdir(parents=True, exist_ok=True)
    for leftover in image_dir.glob(".*.tmp"):  # an image a killed process was writing
        leftover.unlink(missing_ok=True)
    schema = get_schema(SCHEMA_NAME)

    rows = []
    for index in range(n):
        morphology_rng, image_rng, vote_rng = _galaxy_rngs(seed, index)
        params = sample_morphology(morphology_rng)
        id_str = f"synthetic-{seed}-{index:06d}"
        file_loc = f"{IMAGE_FOLDER}/{id_str}.{image_format}"
        if not (resume and _is_whole_image(out_dir / file_loc, size)):
            _write_image(render_galaxy(params, size, image_rng), out_dir / file_loc, image_format)
        votes = simulate_votes(params, schema, vote_rng)
        row: dict[str, object] = {
            "id_str": id_str,
            "file_loc": file_loc,
            "ring": int(params.ring),
            "bar": BAR_LABELS.index(params.bar),
            "bar_label": params.bar,
            "bulge_to_total": params.bulge_to_total,
            "axis_ratio": params.axis_ratio,
        }
        row.update(votes)
        for question in schema.questions:
            row[f"{question.text}_total-votes"] = sum(votes[a.text] for a in question.answers)
        row.update({f"true_{name}": value for name, value in asdict(params).items()})
        row["true_visibility"] = params.visibility
        rows.append(row)
        if progress is not None:
            progress(index + 1, n)

    catalog = pd.DataFrame(rows)
    temporary = out_dir / f".{CATALOG_NAME}.tmp"
    catalog.to_csv(temporary, index=False)
    os.replace(temporary, out_dir / CATALOG_NAME)
    catalog["file_loc"] = [str(out_dir / loc) for loc in catalog["file_loc"]]
    return catalog


def _write_image(pixels: np.ndarray, path: Path, image_format: ImageFormat) -> None:
    """Save one galaxy's image through a temporary file renamed into place: a killed process leaves the
    whole image or none (the rename is atomic; the temporary file is cleared on the next run)."""
    temporary = path.with_name(f".{path.name}.tmp")
    image = Image.fromarray(pixels)
    if image_format == "png":
        image.save(temporary, format="PNG", compress_level=1)  # same size, 2x faster
    else:
        image.save(temporary, format="JPEG", quality=90)
    os.replace(temporary, path)


def _is_whole_image(path: Path, size: int) -> bool:
    """Whether ``path`` holds a readable RGB image ``size`` pixels wide and high (a survey being resumed)."""
    try:
        with Image.open(path) as image:
            if image.size != (size, size) or image.mode != "RGB":
                return False
            image.load()  # decoded to the end: a file cut short by a crash fails here
    except (OSError, SyntaxError, ValueError):
        return False
    return True

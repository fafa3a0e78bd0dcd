"""Where a catalog comes from: the built-in demo survey, a file on this computer, or an upload.

Each function returns a *source*: a callable run inside a catalog job that returns
``(catalog, base_dir)``, where relative ``file_loc`` resolve against ``base_dir``. The engine's
``submit_catalog`` takes it from there (resolving paths and checking every image).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from app.engine.columns import Columns, map_columns
from app.jobs import JobContext
from app.upload_paths import match_uploaded_files, pick_base_dir
from app.uploads import StoredUpload
from zoobot.runs import write_atomic

DEMO_SURVEY_SIZE = 600
DEMO_IMAGE_SIZE = 128
DEMO_SEED = 0

CatalogSource = Callable[[JobContext, Columns], tuple[pd.DataFrame, Path]]
"""Called in a catalog job with the user's column picks (``None``: the catalog's own ``file_loc``)."""


def demo_source(
    folder: Path, lock: threading.Lock, n: int = DEMO_SURVEY_SIZE, size: int = DEMO_IMAGE_SIZE
) -> CatalogSource:
    """The built-in synthetic survey, drawn once into ``folder`` and read from there afterwards.

    ``folder`` counts as drawn only once its ``.complete`` marker is written (after the catalog): a drawing
    cut short (the app stopped) is finished the next time the survey is asked for, keeping its whole images
    (``make_survey(..., resume=True)``), never read as it is.

    Args:
        folder: The cache folder for the survey (shared by every session).
        lock: Held while drawing, so two sessions asking at once draw it once.
        n: Galaxies in the survey.
        size: Image side in pixels.
    """

    def source(ctx: JobContext, columns: Columns = None) -> tuple[pd.DataFrame, Path]:
        from zoobot.catalog import read_catalog
        from zoobot.survey import CATALOG_NAME, IMAGE_FOLDER, make_survey

        done_marker = folder / ".complete"
        if not lock.acquire(blocking=False):
            ctx.report("Waiting for the demo survey, which another page is drawing")
            lock.acquire()
        try:
            if not done_marker.is_file():
                images = folder / IMAGE_FOLDER
                before = sum(1 for _ in images.glob("*.png")) if images.is_dir() else 0
                again = (
                    f" (picking up the {before} drawn before it stopped)"
                    if before
                    else " (once; later loads reuse them)"
                )
                ctx.report(f"Drawing {n} synthetic galaxies{again}")

                def progress(done: int, total: int) -> None:
                    ctx.report(f"Drawing synthetic galaxies: {done} of {total}{again}")

                make_survey(n, size=size, out_dir=folder, seed=DEMO_SEED, resume=True, progress=progress)
                write_atomic(done_marker, "ok")
        finally:
            lock.release()
        return read_catalog(folder / CATALOG_NAME), folder

    return source


def file_source(catalog_path: Path, base_dirs: tuple[Path, ...], max_rows: int | None = None) -> CatalogSource:
    """A catalog file, its ``file_loc`` relative to the likeliest of ``base_dirs``; one of more than
    ``max_rows`` rows is refused before it is read in full."""

    def source(ctx: JobContext, columns: Columns = None) -> tuple[pd.DataFrame, Path]:
        from zoobot.catalog import read_catalog

        ctx.report(f"Reading {catalog_path.name}")
        # Kept as written: an upload's file_loc may be relative to the zip's root rather than the catalog's folder.
        catalog = map_columns(read_catalog(catalog_path, max_rows=max_rows, resolve_paths=False), columns)
        return catalog, pick_base_dir(list(catalog["file_loc"].astype(str)), list(base_dirs))

    return source


def upload_source(upload: StoredUpload, max_rows: int | None = None) -> CatalogSource:
    """An upload: each ``file_loc`` is matched to the uploaded image it names, by its path inside the
    upload or, when that differs, by file name (see ``match_uploaded_files``)."""
    base_source = file_source(upload.catalog, upload.base_dirs, max_rows)

    def source(ctx: JobContext, columns: Columns = None) -> tuple[pd.DataFrame, Path]:
        catalog, base = base_source(ctx, columns)
        ctx.report("Matching file_loc to the uploaded images")
        catalog = catalog.assign(file_loc=match_uploaded_files(list(catalog["file_loc"]), upload.folder, base))
        return catalog, base

    return source

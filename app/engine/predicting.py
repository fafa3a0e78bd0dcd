"""The engine's predictions with a finished model: a run of this app (or any run folder) or a finetuned
checkpoint (this package's or Zoobot 2.x's ``.ckpt``, or the app's ``finetuned_model.zip``) applied to new
galaxies (a catalog with its images, a zip of images, or single images), as a job. The table is
``zoobot.predict.predict_on_catalog``'s, the same as the ``zoobot predict`` command writes."""

from __future__ import annotations

import csv
import re
import shutil
import zipfile
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

import pandas as pd

from app.engine.columns import ColumnsNeeded
from app.engine.core import AppInputError, Engine
from app.engine.sources import upload_source
from app.jobs import Job, JobContext
from app.upload_paths import check_inside
from app.uploads import UploadError, is_image_name, store_upload
from zoobot.runs import RunFolder

PREDICTIONS_FILE = "predictions.csv"
"""In a predictions folder: the table, as ``zoobot predict`` writes it."""
IMAGES_CATALOG = "images_catalog.csv"
"""The catalog made for an upload of images without one: ``id_str`` (the file name without its suffix)
and ``file_loc`` (the path inside the upload)."""
MODEL_SUFFIXES = (".ckpt", ".zip")


def model_runs(engine: Engine, session_id: str) -> list[RunFolder]:
    """The runs with a finetuned model this session may use (hosted: its own; local: every run here)."""
    dirs = engine.store.run_dirs(session_id if engine.hosted else None)
    return [folder for folder in map(RunFolder, dirs) if folder.has_model()]


def _image_members(files: Sequence[Path]) -> list[str]:
    """The image paths an upload of images holds: inside each zip (its own paths) and loose files (names)."""
    names: list[str] = []
    for path in files:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                names += [
                    n
                    for n in archive.namelist()
                    if is_image_name(n) and not n.endswith("/") and not n.startswith("__MACOSX/")
                ]
        elif is_image_name(path.name):
            names.append(path.name)
    return names


def _images_catalog(files: Sequence[Path], folder: Path) -> Path:
    """A catalog of the uploaded images (see :data:`IMAGES_CATALOG`), written into ``folder``.

    Raises:
        UploadError: The upload holds no image.
    """
    names = _image_members(files)
    if not names:
        raise UploadError("No images found: upload a zip of PNG, JPEG or FITS images, or image files.")
    stems = [PurePosixPath(n).stem for n in names]
    unique = len(set(stems)) == len(stems)
    ids = stems if unique else [str(PurePosixPath(n).with_suffix("")) for n in names]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / IMAGES_CATALOG
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["id_str", "file_loc"])
        writer.writerows(zip(ids, names, strict=True))
    return path


_HUB_NAME = re.compile(r"^(hf[_-]hub:)?[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9][A-Za-z0-9_.-]*$")


def _model_source(
    engine: Engine,
    session_id: str,
    run_dir: str | None,
    model_file: str | None,
    dest: Path,
    hub_name: str | None = None,
) -> str:
    """Where the model comes from: the uploaded file copied to ``dest``, a published model on the Hugging Face
    Hub (``owner/name``: downloaded when the job runs, or read from the local cache offline), or a run folder
    this session may use.

    Raises:
        AppInputError: None given, a run that is not the session's, a file that is not a model, or a Hub name
            that is not ``owner/name``.
    """
    if model_file:
        path = Path(model_file)
        if not path.name.lower().endswith(MODEL_SUFFIXES):
            raise AppInputError(
                f"'{path.name}' is not a finetuned model: upload a .ckpt checkpoint (this app's or Zoobot 2.x's) "
                "or a run's finetuned_model.zip."
            )
        cap = engine.limits.upload.max_mb
        if path.stat().st_size > cap * 1e6:
            raise AppInputError(f"'{path.name}' is over {cap:g} MB, more than this app takes in one upload.")
        dest.mkdir(parents=True, exist_ok=True)
        return str(shutil.copy(path, dest / path.name))
    if hub_name and hub_name.strip():
        name = hub_name.strip()
        if not _HUB_NAME.match(name):
            raise AppInputError(
                f"'{name}' is not a Hugging Face model name: write it as owner/name, e.g. "
                "mwalmsley/zoobot-finetuned-is_tidal."
            )
        return name
    if not run_dir:
        raise AppInputError(
            "Choose a finished run, upload a finetuned checkpoint (.ckpt), or name a published model on the Hub."
        )
    if not engine.store.owns(session_id if engine.hosted else None, run_dir) or not RunFolder(run_dir).has_model():
        raise AppInputError("That run has no finished model here (or is not yours); refresh the list and pick again.")
    return str(run_dir)


def submit_prediction(
    engine: Engine,
    session_id: str,
    catalog_file: str | None,
    image_files: Sequence[str] | None,
    *,
    run_dir: str | None = None,
    model_file: str | None = None,
    hub_name: str | None = None,
) -> Job:
    """Store the upload and queue the prediction job.

    Args:
        engine: The app engine.
        session_id: The browser session.
        catalog_file: An uploaded catalog (``id_str``, ``file_loc``), or ``None`` for images alone.
        image_files: A zip of images, or image files (one image is fine).
        run_dir: A finished run whose model to use (or ``None`` with ``model_file`` or ``hub_name``).
        model_file: An uploaded ``.ckpt`` or ``finetuned_model.zip`` (takes precedence over ``run_dir``).
        hub_name: A published finetuned model on the Hugging Face Hub (``owner/name``), used when no file is
            uploaded (takes precedence over ``run_dir``).

    Raises:
        AppInputError: No model, or nothing to predict.
        UploadError: The upload is refused (limits, not images).
    """
    images = [Path(p) for p in image_files or []]
    if not catalog_file and not images:
        raise AppInputError("Upload what to predict: a zip of images, one or more images, or a catalog with them.")
    out = engine.store.new_predictions_dir(session_id)
    try:
        source = _model_source(engine, session_id, run_dir, model_file, out / "model", hub_name)
        if catalog_file is None and not any(zipfile.is_zipfile(p) and _zip_has_catalog(p) for p in images):
            catalog_file = str(_images_catalog(images, out / "made"))
        folder = engine.store.new_upload_dir(session_id)
        stored = store_upload(
            catalog_file, images, folder, engine.limits.upload, room_mb=engine.upload_room_mb(session_id)
        )
    except BaseException:
        shutil.rmtree(out, ignore_errors=True)
        raise
    read = upload_source(stored, engine.limits.catalog_rows)

    def job(ctx: JobContext) -> Path:
        from zoobot.catalog import resolve_file_locs, validate_catalog
        from zoobot.predict import predict_on_catalog, write_table
        from zoobot.prediction_table import add_catalog_columns, model_class_names, model_label_cols
        from zoobot.runs import load_finetuned_model

        try:
            catalog, base = read(ctx, None)
        except ColumnsNeeded as err:
            if err.image_guess is None:
                raise UploadError(
                    "The catalog has no file_loc column, and no column of image file names: add one."
                ) from None
            catalog, base = read(ctx, {"file_loc": err.image_guess, "id_str": err.id_guess})
        as_uploaded = catalog["file_loc"].astype(str)  # what the table shows: the path inside the upload
        catalog = resolve_file_locs(catalog, base_dir=base)
        if engine.hosted:
            check_inside(catalog["file_loc"].astype(str), folder)
        ctx.report(f"Checking {len(catalog)} images")
        validate_catalog(catalog, check_images=True, raise_on_error=True, max_pixels=engine.limits.image_pixels)
        ctx.report("Loading the model")
        model = load_finetuned_model(source)
        calibration = RunFolder(source).read_calibration() if Path(source).is_dir() else None
        ctx.report(f"Predicting {len(catalog)} galaxies")
        predictions = predict_on_catalog(catalog, model, calibration=calibration)
        # As a run's predictions.csv and `zoobot predict` write them: file_loc and the catalog's labels
        # (catalog_<col>) after the predictions; file_loc as the user wrote it, never a server path.
        inputs = catalog.assign(file_loc=as_uploaded.to_numpy())
        predictions = add_catalog_columns(predictions, inputs, model_label_cols(model), model_class_names(model))
        write_table(predictions, out / PREDICTIONS_FILE)
        return out

    return engine.manager.submit("predict", session_id, job, lane="explore", run_dir=str(out))


def _zip_has_catalog(path: Path) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(n.lower().endswith((".csv", ".parquet", ".pq")) for n in archive.namelist())


def read_predictions(folder: str | Path) -> pd.DataFrame | None:
    """A finished prediction's table, or ``None`` before it is written."""
    path = Path(folder) / PREDICTIONS_FILE
    if not path.is_file():
        return None
    return pd.read_csv(path, dtype={"id_str": str})

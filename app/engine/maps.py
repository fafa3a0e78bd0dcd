"""The engine's maps: a UMAP map of the session's catalog computed as a job, the map joined with
the catalog and the run's predictions, and a galaxy's nearest neighbours on it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from app.engine.core import AppInputError, Engine
from app.jobs import Job, JobContext
from zoobot.runs import RunFolder, atomic_path, write_atomic

MAP_FILE = "map.parquet"
"""In a map folder: ``id_str``, ``umap_x``, ``umap_y`` and the representation's columns."""
MAP_SOURCE_FILE = "source.txt"
"""In a map folder: what the representations came from, in words."""
_COORDINATES = ["id_str", "umap_x", "umap_y"]
FROZEN_NOTE = (
    "This run trained the head only: its encoder stayed frozen, so its map is the same as the pretrained "
    "encoder's. A full finetune changes the encoder, and the map."
)


def head_only(run_dir: str | Path) -> bool:
    """Whether a run trained the head only (its encoder, and so its representations, are the pretrained ones)."""
    return RunFolder(run_dir).read_config_values().get("training_mode") == "head_only"


def submit_map(engine: Engine, session_id: str, encoder: str | None, run_dir: str | None) -> Job:
    """Compute representations and a 2-D UMAP map of the working catalog in the background.

    Args:
        engine: The app engine.
        session_id: The browser session.
        encoder: Pretrained encoder name/source (the map before finetuning), or ``None``.
        run_dir: A finished run whose finetuned encoder to use instead.

    Raises:
        AppInputError: ``run_dir`` has no finetuned model (yet), or no catalog is loaded.
    """
    if run_dir is not None and not RunFolder(run_dir).has_model():
        raise AppInputError("No finished run yet: train one on the Train tab, or choose the pretrained encoder.")
    catalog = engine.catalog(session_id)
    map_dir = engine.store.new_map_dir(session_id)

    def job(ctx: JobContext) -> Path:
        from zoobot.representations import compute_umap, get_representations

        if run_dir is not None:
            from zoobot.runs import load_run_model

            ctx.report("Loading the finetuned model")
            model: Any = load_run_model(run_dir)
        else:
            model = encoder
        ctx.report(f"Computing representations of {len(catalog)} galaxies")
        features = get_representations(catalog, model)
        feature_cols = [c for c in features.columns if c != "id_str"]
        ctx.report("Drawing the UMAP map")
        coords = compute_umap(features[feature_cols].to_numpy())
        features.insert(1, "umap_x", coords[:, 0])
        features.insert(2, "umap_y", coords[:, 1])
        with atomic_path(map_dir / MAP_FILE) as tmp:
            features.to_parquet(tmp, index=False)
        source = f"pretrained encoder {encoder}"
        if run_dir:
            source = f"finetuned model of run {Path(run_dir).name}" + (f". {FROZEN_NOTE}" if head_only(run_dir) else "")
        write_atomic(map_dir / MAP_SOURCE_FILE, source)
        engine.store.update_state(session_id, map_dir=str(map_dir))
        return map_dir

    return engine.manager.submit("umap", session_id, job, lane="explore", run_dir=str(map_dir))


def _map_file(engine: Engine, session_id: str) -> Path | None:
    map_dir = engine.state(session_id).map_dir
    return Path(map_dir) / MAP_FILE if map_dir and (Path(map_dir) / MAP_FILE).is_file() else None


def map_points(engine: Engine, session_id: str) -> pd.DataFrame | None:
    """The session's last map (``id_str``, ``umap_x``, ``umap_y``) joined with the catalog's columns
    and, if there is a run, its predictions; ``None`` before a map is drawn."""
    path = _map_file(engine, session_id)
    if path is None:
        return None
    points = pd.read_parquet(path, columns=_COORDINATES).assign(id_str=lambda d: d["id_str"].astype(str))
    try:
        catalog = engine.catalog(session_id).assign(id_str=lambda d: d["id_str"].astype(str))
        points = points.merge(catalog, on="id_str", how="left")
    except AppInputError:
        pass  # the map outlives its catalog's file: shown without the catalog's columns
    run_dir = engine.state(session_id).run_dir
    preds = RunFolder(run_dir).read_predictions() if run_dir else None
    if preds is not None:
        preds = preds.assign(id_str=preds["id_str"].astype(str))
        extra = [c for c in preds.columns if c not in points.columns]
        points = points.merge(preds[["id_str", *extra]], on="id_str", how="left")
    return points


def map_source(engine: Engine, session_id: str) -> str:
    """What the session's last map was drawn from, e.g. ``'pretrained encoder demo'``."""
    path = _map_file(engine, session_id)
    return path.with_name(MAP_SOURCE_FILE).read_text() if path is not None else ""


def neighbours(engine: Engine, session_id: str, galaxy: str, k: int) -> tuple[list[str], list[float]]:
    """A galaxy on the map and its ``k`` nearest neighbours in representation space.

    Returns:
        ``(ids, cosine similarities to the chosen galaxy)``, the chosen galaxy first.

    Raises:
        AppInputError: No map yet, or the galaxy is not on it.
    """
    from zoobot.representations import nearest_neighbours

    path = _map_file(engine, session_id)
    if path is None:
        raise AppInputError("Draw a map first.")
    features = pd.read_parquet(path)
    ids = features["id_str"].astype(str)
    matches = ids.index[ids == str(galaxy)]
    if not len(matches):
        raise AppInputError(f"Galaxy '{galaxy}' is not on the map; pick an id from the list.")
    vectors = features.drop(columns=_COORDINATES).to_numpy(dtype=float)
    index = int(matches[0])
    rows = [index, *[int(i) for i in nearest_neighbours(vectors, index, k + 1) if int(i) != index][:k]]
    unit = vectors[rows] / np.maximum(np.linalg.norm(vectors[rows], axis=1, keepdims=True), 1e-12)
    return [ids.iloc[i] for i in rows], [float(s) for s in unit @ unit[0]]

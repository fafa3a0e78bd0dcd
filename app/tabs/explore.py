"""Tab 6, Explore: a UMAP map of the representations, coloured by any column, and the nearest
neighbours of a chosen galaxy. The map is computed as a background job."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from app import plots
from app.common import gallery_items, label_captions, plain_errors, short_id
from app.engine import AppInputError, Engine
from app.runs import read_predictions
from app.tabs.train import LOCAL_ENCODER

SOURCE_CHOICES = [("Pretrained encoder (before finetuning)", "pretrained"),
                  ("Finetuned model of my latest run", "finetuned")]


@plain_errors
def start_map(engine: Engine, session_id: str, source: str, encoder: str | None) -> tuple[str, gr.Timer]:
    """Queue the representations + UMAP job for the session's catalog."""
    run_dir = None
    if source == "finetuned":
        run_dir = engine.state(session_id).run_dir
        if not run_dir or not (Path(run_dir) / "model").is_dir():
            raise AppInputError("No finished run yet: train one on the Train tab, or choose the pretrained encoder.")
    elif not encoder or encoder == LOCAL_ENCODER:
        raise AppInputError("Choose one of the listed encoders for the map.")
    engine.submit_map(session_id, None if run_dir else encoder, run_dir)
    return "Computing the map…", gr.Timer(active=True)


def map_table(engine: Engine, session_id: str) -> pd.DataFrame | None:
    """The session's last map joined with the catalog's columns and, if there is a run, its predictions."""
    map_dir = engine.state(session_id).map_dir
    if not map_dir or not (Path(map_dir) / "map.parquet").is_file():
        return None
    points = pd.read_parquet(Path(map_dir) / "map.parquet", columns=None)
    points = points[["id_str", "umap_x", "umap_y"]].assign(id_str=lambda d: d["id_str"].astype(str))
    try:
        catalog = engine.catalog(session_id).assign(id_str=lambda d: d["id_str"].astype(str))
        points = points.merge(catalog, on="id_str", how="left")
    except AppInputError:
        pass
    run_dir = engine.state(session_id).run_dir
    preds = read_predictions(run_dir) if run_dir else None
    if preds is not None:
        preds = preds.assign(id_str=preds["id_str"].astype(str))
        extra = [c for c in preds.columns if c not in points.columns]
        points = points.merge(preds[["id_str", *extra]], on="id_str", how="left")
    return points


def _colour_choices(points: pd.DataFrame) -> list[str]:
    return [c for c in points.columns if c not in ("id_str", "file_loc", "umap_x", "umap_y")]


def poll_map(engine: Engine, session_id: str) -> tuple[Any, ...]:
    """Timer tick: the map job's progress, then the map.

    Returns:
        ``(status, map figure, colour dropdown, galaxy dropdown, timer)``.
    """
    job = engine.manager.latest(session_id, "umap")
    if job is not None and job.active:
        return (f"Working: {job.message or 'Waiting to start'}…", gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=True))
    if job is not None and job.status == "failed":
        return (f"**The map failed:** {job.error}", gr.skip(), gr.skip(), gr.skip(), gr.Timer(active=False))
    return (*show_map(engine, session_id, None), gr.Timer(active=False))


def show_map(engine: Engine, session_id: str, colour: str | None) -> tuple[Any, ...]:
    """The map coloured by ``colour`` (default: the task's label), with a galaxy picker.

    Returns:
        ``(status, map figure, colour dropdown, galaxy dropdown)``.
    """
    points = map_table(engine, session_id)
    if points is None:
        return ("Draw a map to see how the encoder arranges your galaxies.", plots.empty_figure("No map yet."),
                gr.Dropdown(choices=[], value=None), gr.Dropdown(choices=[], value=None))
    state = engine.state(session_id)
    choices = _colour_choices(points)
    if colour not in choices:
        colour = next((c for c in ("pred_class", *state.label_cols) if c in choices), None)
    source = (Path(state.map_dir) / "source.txt").read_text() if state.map_dir else ""
    return (f"Map of {len(points)} galaxies from the {source}. Hover for ids; pick a galaxy below to see its "
            "most similar galaxies.", plots.umap_scatter(points, colour),
            gr.Dropdown(choices=choices, value=colour), gr.Dropdown(choices=list(points["id_str"]), value=None))


@plain_errors
def recolour(engine: Engine, session_id: str, colour: str | None, galaxy: str | None, k: float) -> Any:
    """Redraw the map coloured by another column (keeping the chosen galaxy marked)."""
    points = map_table(engine, session_id)
    if points is None:
        raise AppInputError("Draw a map first.")
    highlight = _neighbours(engine, session_id, galaxy, int(k))[0] if galaxy else []
    return plots.umap_scatter(points, colour, highlight)


def _neighbours(engine: Engine, session_id: str, galaxy: str, k: int) -> tuple[list[str], list[float]]:
    """The chosen galaxy and its ``k`` nearest neighbours: ``(ids, cosine similarities to the chosen one)``."""
    from zoobot.representations import nearest_neighbours

    features = pd.read_parquet(Path(engine.state(session_id).map_dir) / "map.parquet")
    ids = features["id_str"].astype(str)
    matches = ids.index[ids == str(galaxy)]
    if not len(matches):
        raise AppInputError(f"Galaxy '{galaxy}' is not on the map; pick an id from the list.")
    feature_cols = [c for c in features.columns if c not in ("id_str", "umap_x", "umap_y")]
    vectors = features[feature_cols].to_numpy(dtype=float)
    index = int(matches[0])
    rows = [index, *[int(i) for i in nearest_neighbours(vectors, index, k + 1) if int(i) != index][:k]]
    unit = vectors[rows] / np.maximum(np.linalg.norm(vectors[rows], axis=1, keepdims=True), 1e-12)
    return [ids.iloc[i] for i in rows], [float(s) for s in unit @ unit[0]]


@plain_errors
def show_neighbours(engine: Engine, session_id: str, galaxy: str | None, k: float, colour: str | None) -> tuple[Any, Any]:
    """The chosen galaxy and its ``k`` nearest neighbours in representation space, captioned with their
    rank and label (the cosine similarity to the chosen galaxy when no task is chosen yet).

    Returns:
        ``(gallery, map figure with them marked)``.
    """
    if not galaxy:
        raise AppInputError("Pick a galaxy id first.")
    points = map_table(engine, session_id)
    if points is None:
        raise AppInputError("Draw a map first.")
    chosen, similarity = _neighbours(engine, session_id, galaxy, int(k))
    rows = points.set_index("id_str").loc[chosen].reset_index()
    state = engine.state(session_id)
    label = next((c for c in state.label_cols if c in rows), None)
    schema = engine.schema(session_id) if state.task == "tree" else None
    if label is None and schema is None:
        labels = [f"{short_id(g)} · {s:.3f}" for g, s in zip(chosen, similarity)]
    else:
        labels = label_captions(rows, label, schema)
    captions = [f"chosen {labels[0]}", *[f"{rank}. {text}" for rank, text in enumerate(labels[1:], 1)]]
    return gallery_items(rows["file_loc"].astype(str), captions, limit=len(rows)), plots.umap_scatter(points, colour, chosen)


def build_explore_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Explore tab and wire its events; returns its components by name."""
    gr.Markdown("The encoder turns each galaxy into a list of numbers (its representation). UMAP squeezes them "
                "onto a flat map: similar galaxies land close together.")
    with gr.Row():
        source = gr.Radio(label="Representations from", choices=SOURCE_CHOICES, value="pretrained", elem_id="explore-source")
        encoder = gr.Dropdown(label="Pretrained encoder", choices=[("demo", "demo")], value="demo", elem_id="explore-encoder")
        draw = gr.Button("Draw the map", variant="primary", elem_id="explore-draw")
    status = gr.Markdown(elem_id="explore-status")
    colour = gr.Dropdown(label="Colour by", choices=[], elem_id="explore-colour")
    figure = gr.Plot(show_label=False, elem_id="explore-map")
    with gr.Row():
        galaxy = gr.Dropdown(label="Galaxy (type to search its id)", choices=[], filterable=True, elem_id="explore-galaxy")
        k = gr.Slider(3, 24, value=8, step=1, label="Similar galaxies to show", elem_id="explore-k")
    neighbours = gr.Gallery(label="The chosen galaxy and its most similar galaxies, most similar first", columns=6, height=440,
                            elem_id="explore-neighbours", elem_classes=["zoobot-gallery"])
    timer = gr.Timer(1.0, active=False)

    draw.click(partial(start_map, engine), [session, source, encoder], [status, timer])
    timer.tick(partial(poll_map, engine), [session], [status, figure, colour, galaxy, timer], show_progress="hidden")
    colour.input(partial(recolour, engine), [session, colour, galaxy, k], [figure])
    galaxy.input(partial(show_neighbours, engine), [session, galaxy, k, colour], [neighbours, figure])
    k.release(partial(show_neighbours, engine), [session, galaxy, k, colour], [neighbours, figure])
    return {"encoder": encoder, "restore": partial(show_map, engine), "restore_outputs": [status, figure, colour, galaxy],
            "timer": timer}

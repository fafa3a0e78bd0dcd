"""Tab 6, Explore: a UMAP map of the representations, coloured by any column, and the nearest
neighbours of a chosen galaxy. The map is computed as a background job (``app.engine.maps``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr
import pandas as pd

from app import plots
from app.common import galaxy_gallery, gallery_items, job_progress, label_captions, plain_errors, short_id
from app.engine import AppInputError, Engine
from app.engine.maps import FROZEN_NOTE, head_only, map_points, map_source, neighbours, submit_map
from app.engine.training import LOCAL_ENCODER
from app.escape import escape_md
from app.wiring import listen, pick, poll

SOURCE_CHOICES = [
    ("Pretrained encoder (before finetuning)", "pretrained"),
    ("Finetuned model of my latest run", "finetuned"),
]
VIEW = ("status", "figure", "colour", "galaxy", "source")
"""The map, its pickers, and what it was drawn from (:func:`show_map`'s names)."""


@plain_errors
def start_map(engine: Engine, session_id: str, source: str, encoder: str | None) -> dict[str, Any]:
    """Queue the representations + UMAP job for the session's catalog."""
    run_dir = None
    if source == "finetuned":
        run_dir = engine.state(session_id).run_dir
        if not run_dir:
            raise AppInputError("No finished run yet: train one on the Train tab, or choose the pretrained encoder.")
    elif not encoder or encoder == LOCAL_ENCODER:
        raise AppInputError("Choose one of the listed encoders for the map.")
    submit_map(engine, session_id, None if run_dir else encoder, run_dir)
    note = f" {FROZEN_NOTE}" if run_dir and head_only(run_dir) else ""
    return {"status": f"Computing the map…{note}", "timer": gr.Timer(active=True), "neighbours": []}


def _colour_choices(points: pd.DataFrame) -> list[str]:
    return [c for c in points.columns if c not in ("id_str", "file_loc", "umap_x", "umap_y")]


def poll_map(engine: Engine, session_id: str) -> dict[str, Any]:
    """Timer tick: the map job's progress, then the map: values for :data:`VIEW` and the ``timer``."""
    shown = job_progress(engine.manager.latest(session_id, "umap"), failed="The map failed")
    if shown is not None:
        return shown
    return {**show_map(engine, session_id), "timer": gr.Timer(active=False), "neighbours": []}


def show_map(engine: Engine, session_id: str, colour: str | None = None) -> dict[str, Any]:
    """The map coloured by ``colour`` (default: the task's label), with a galaxy picker.

    Returns:
        Values for :data:`VIEW`: ``status``, the map ``figure``, the ``colour`` and ``galaxy`` dropdowns and,
        once there is a map, the ``source`` it was drawn from.
    """
    points = map_points(engine, session_id)
    if points is None:
        return {
            "status": "Draw a map to see how the encoder arranges your galaxies.",
            "figure": plots.empty_figure("No map yet."),
            "colour": gr.Dropdown(choices=[], value=None),
            "galaxy": gr.Dropdown(choices=[], value=None),
        }
    state = engine.state(session_id)
    choices = _colour_choices(points)
    if colour not in choices:
        colour = next((c for c in ("predicted_class", *state.label_cols) if c in choices), None)
    drawn_from = map_source(engine, session_id)
    source = escape_md(drawn_from.rstrip("."))  # a note on the source may end the sentence
    return {
        # the choice the map was drawn with, also after a reload (the radio starts at its default)
        "source": gr.Radio(value="finetuned" if drawn_from.startswith("finetuned") else "pretrained"),
        "status": f"Map of {len(points)} galaxies from the {source}. Hover for ids; "
        "pick a galaxy below to see its most similar galaxies.",
        "figure": plots.umap_scatter(points, colour),
        "colour": gr.Dropdown(choices=choices, value=colour),
        "galaxy": gr.Dropdown(choices=list(points["id_str"]), value=None),
    }


@plain_errors
def recolour(engine: Engine, session_id: str, colour: str | None, galaxy: str | None, k: float) -> dict[str, Any]:
    """Redraw the map coloured by another column (keeping the chosen galaxy marked)."""
    points = map_points(engine, session_id)
    if points is None:
        raise AppInputError("Draw a map first.")
    highlight = neighbours(engine, session_id, galaxy, int(k))[0] if galaxy else []
    return {"figure": plots.umap_scatter(points, colour, highlight)}


@plain_errors
def show_neighbours(
    engine: Engine, session_id: str, galaxy: str | None, k: float, colour: str | None
) -> dict[str, Any]:
    """The chosen galaxy and its ``k`` nearest neighbours in representation space, captioned with their
    rank and label (the cosine similarity to the chosen galaxy when no task is chosen yet).

    Returns:
        The ``neighbours`` gallery and the map ``figure`` with them marked.
    """
    points = map_points(engine, session_id)
    if not galaxy:  # the pick was cleared: so is the gallery
        return {"neighbours": [], **({"figure": plots.umap_scatter(points, colour)} if points is not None else {})}
    if points is None:
        raise AppInputError("Draw a map first.")
    chosen, similarity = neighbours(engine, session_id, galaxy, int(k))
    rows = points.set_index("id_str").loc[chosen].reset_index()
    state = engine.state(session_id)
    label = next((c for c in state.label_cols if c in rows), None)
    schema = engine.schema(session_id) if state.task == "tree" else None
    if label is None and schema is None:
        labels = [f"{short_id(g)} · {s:.3f}" for g, s in zip(chosen, similarity, strict=True)]
    else:
        labels = label_captions(rows, label, schema)
    captions = [f"chosen {labels[0]}", *[f"{rank}. {text}" for rank, text in enumerate(labels[1:], 1)]]
    return {
        "neighbours": gallery_items(rows["file_loc"].astype(str), captions, limit=len(rows)),
        "figure": plots.umap_scatter(points, colour, chosen),
    }


def build_explore_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Explore tab and wire its events; returns its components by name."""
    gr.Markdown(
        "The encoder turns each galaxy into a list of numbers (its representation). UMAP squeezes them "
        "onto a flat map: similar galaxies land close together."
    )
    ui: dict[str, Any] = {"session_id": session}
    with gr.Row():
        ui["source"] = gr.Radio(
            label="Representations from", choices=SOURCE_CHOICES, value="pretrained", elem_id="explore-source"
        )
        ui["encoder"] = gr.Dropdown(
            label="Pretrained encoder", choices=[("demo", "demo")], value="demo", elem_id="explore-encoder"
        )
        ui["draw"] = gr.Button("Draw the map", variant="primary", elem_id="explore-draw")
    ui["status"] = gr.Markdown(elem_id="explore-status")
    ui["colour"] = gr.Dropdown(label="Colour by", choices=[], elem_id="explore-colour")
    ui["figure"] = gr.Plot(show_label=False, elem_id="explore-map")
    with gr.Row():
        ui["galaxy"] = gr.Dropdown(
            label="Galaxy (type to search its id)", choices=[], filterable=True, elem_id="explore-galaxy"
        )
        ui["k"] = gr.Slider(3, 24, value=8, step=1, label="Similar galaxies to show", elem_id="explore-k")
    ui["neighbours"] = galaxy_gallery(
        "The chosen galaxy and its most similar galaxies, most similar first",
        "explore-neighbours",
        columns=6,
        height=440,
    )
    ui["timer"] = gr.Timer(1.0, active=False)

    listen(
        ui["draw"].click,
        partial(start_map, engine),
        pick(ui, "session_id", "source", "encoder"),
        pick(ui, "status", "timer", "neighbours"),
    )
    poll(ui["timer"], partial(poll_map, engine), pick(ui, "session_id"), pick(ui, *VIEW, "timer", "neighbours"))
    listen(
        ui["colour"].input,
        partial(recolour, engine),
        pick(ui, "session_id", "colour", "galaxy", "k"),
        pick(ui, "figure"),
    )
    for trigger in (ui["galaxy"].input, ui["k"].release):
        listen(
            trigger,
            partial(show_neighbours, engine),
            pick(ui, "session_id", "galaxy", "k", "colour"),
            pick(ui, "neighbours", "figure"),
        )
    return ui

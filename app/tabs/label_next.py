"""Tab 7, Label next: the galaxies the run's model would learn most from, labelled right here, then the next
run started from this run's weights (issue #18). The ranking runs as a job (``app.engine.labelling``)."""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr
import numpy as np
import pandas as pd

from app import plots
from app.common import galaxy_gallery, gallery_items, job_progress, plain_errors, short_id
from app.engine import AppInputError, Engine, labelling
from app.errors import plain_text
from app.escape import code, escape_md
from app.wiring import listen, pick, poll, to_gradio

STRATEGY_CHOICES = [
    ("Most to learn: the model's samples disagree (BALD)", "bald"),
    ("Most uncertain (predictive entropy)", "entropy"),
    ("At random (the baseline)", "random"),
]
POSTERIOR_CHOICES = [
    ("Default: a Laplace posterior for BALD, dropout for entropy", labelling.DEFAULT_POSTERIOR),
    ("Laplace posterior of the head, fitted on the run's training galaxies", "laplace"),
    ("Monte Carlo dropout (the head's dropout left on)", "dropout"),
]
POOL_CHOICES = [
    ("Galaxies without labels in the run's catalog", "run"),
    ("Galaxies without labels in the catalog loaded on the Data tab", "data"),
]
VIEW = ("status", "gallery", "galaxy", "answer", "value", "given", "downloads", "selected")
"""The suggestions and the labelling controls (:func:`show_suggestions`'s names)."""
OPENED = (*VIEW, "strategy", "pool", "include_labelled")
"""What opening the tab shows (:func:`open_tab`): the suggestions, and the choices they were ranked with."""
_DRAWN = {"laplace": " (draws from a Laplace posterior)", "dropout": " (Monte Carlo dropout)"}
_SCORE = {"bald": "information {:.3f}", "entropy": "entropy {:.2f}", "random": "random"}
_SHORT_NAME = {"bald": "Most to learn", "entropy": "Most uncertain", "random": "At random"}
"""Each strategy as the status line names it (the start of its choice's label)."""


@plain_errors
def start_suggestions(
    engine: Engine,
    session_id: str,
    strategy: str,
    n: float,
    pool: str,
    posterior: str = labelling.DEFAULT_POSTERIOR,
    include_labelled: bool = False,
) -> dict[str, Any]:
    """Queue the ranking of the pool's unlabelled galaxies (every galaxy with ``include_labelled``)."""
    labelling.submit_suggestions(engine, session_id, strategy, int(n or 0), pool, posterior, bool(include_labelled))
    return {"status": "Ranking the galaxies…", "timer": gr.Timer(active=True)}


def poll_suggestions(engine: Engine, session_id: str) -> dict[str, Any]:
    """Timer tick: the ranking job's progress, then the gallery: values for :data:`VIEW` and the ``timer``."""
    shown = job_progress(engine.manager.latest(session_id, "suggest"), failed="Ranking failed")
    if shown is not None:
        return shown
    return {**show_suggestions(engine, session_id), "timer": gr.Timer(active=False)}


def _prediction(row: pd.Series, config: Any, choices: list[tuple[str, str]]) -> str:
    """The model's prediction for a suggested galaxy, in a few characters."""
    if config.task == "classification":  # the class's name, as the buttons and predictions.csv name it
        name = str(row["predicted_class"])
        probability = row.get(name, row.get(f"prob_{name}", np.nan))
        return f"{name} {probability:.0%}"
    if config.task == "regression":
        col = config.label_cols[0]
        return f"{col} {row[f'pred_{col}']:.3g} ± {row[f'pred_{col}_std']:.2g}"
    fractions = [(row.get(f"{value}_fraction", np.nan), shown) for shown, value in choices]
    fraction, answer = max(fractions, key=lambda pair: -1 if np.isnan(pair[0]) else pair[0])
    return f"{answer} {fraction:.0%}"


def _given(labels: pd.DataFrame, config: Any, choices: list[tuple[str, str]]) -> dict[str, str]:
    """Each labelled galaxy's answer, as the buttons name it."""
    if labels.empty or any(c not in labels for c in config.label_cols):
        return {}
    if config.task == "regression":
        return {i: f"{v:.3g}" for i, v in zip(labels["id_str"], labels[config.label_cols[0]], strict=True)}
    if config.task == "classification":
        names = dict((value, shown) for shown, value in choices)
        values = labels[config.label_cols[0]].map(lambda v: names.get(str(int(v)), str(v)) if pd.notna(v) else "?")
        return dict(zip(labels["id_str"], values, strict=True))
    shown = dict((value, name) for name, value in choices)
    votes = labels[[value for _, value in choices]]
    return {
        i: shown[votes.columns[int(np.argmax(row))]] for i, row in zip(labels["id_str"], votes.to_numpy(), strict=True)
    }


def _nothing_found_yet(engine: Engine, session_id: str) -> str:
    """What to do on a tab with no suggestions: find them for the finished run, or finish a run first."""
    try:
        run = labelling.finished_run(engine, session_id)
    except AppInputError:
        return "Find the galaxies to label once a run has finished."
    return f"Run {code(run.name)} has finished: choose how to pick the galaxies, then **Find the galaxies to label**."


def open_tab(engine: Engine, session_id: str) -> dict[str, Any]:
    """The tab opened (after a reload too): the last suggestions, and the choices beside them set as they were
    when those galaxies were ranked, so the form says how the gallery was made."""
    shown = show_suggestions(engine, session_id)
    found = labelling.suggestions(engine, session_id)
    if found is not None:
        info = found[1]
        shown["include_labelled"] = bool(info.get("include_labelled"))
        if info.get("strategy") in _SHORT_NAME:
            shown["strategy"] = info["strategy"]
        if info.get("pool") in labelling.POOLS:
            shown["pool"] = info["pool"]
    return shown


def show_suggestions(engine: Engine, session_id: str, selected: int | None = None) -> dict[str, Any]:
    """The last suggestions as a gallery (labelled ones ticked), the chosen galaxy and its answer buttons."""
    from app.run_reading import read_config

    found = labelling.suggestions(engine, session_id)
    labels = labelling.read_labels(engine, session_id)
    config = read_config(found[1]["run_dir"]) if found is not None else None
    if found is None or config is None:
        return {
            "status": _nothing_found_yet(engine, session_id)
            if found is None
            else "The run these galaxies were picked for is gone; find them again.",
            "gallery": gr.Gallery(value=[], selected_index=None),
            "galaxy": "",
            "answer": gr.Radio(choices=[], value=None),
            "value": gr.Number(visible=False),
            "given": _given_text(labels),
            "downloads": _downloads(engine, session_id),
            "selected": None,
        }
    table, info = found
    choices = labelling.answer_choices(config)
    given = _given(labels, config, choices)
    captions = [
        f"{rank}. {short_id(i)} · {_prediction(row, config, choices)} · "
        + (f"✓ {given[i]}" if i in given else _SCORE[row["strategy"]].format(row["score"]))
        for rank, i, (_, row) in zip(table["rank"], table["id_str"], table.iterrows(), strict=True)
    ]
    strategy = _SHORT_NAME[info["strategy"]]
    status = (
        f"The {len(table)} galaxies to label next for run {code(Path(info['run_dir']).name)}, by "
        f"*{escape_md(strategy)}*{_DRAWN.get(info.get('posterior') or '', '')}, out of {info['n_pool']} in the "
        "catalog. Click a galaxy, then its answer: "
        "the next galaxy opens."
        + (
            " A caption's prediction is the mean of the model's draws, so it can differ a little from the one"
            " on the Results tab."
            if info.get("posterior") in _DRAWN
            else ""
        )
    )
    return {
        "status": status,
        "gallery": gr.Gallery(
            value=gallery_items(table["file_loc"].astype(str), captions, limit=len(table)), selected_index=selected
        ),
        "galaxy": _galaxy_text(table, selected, given, config),
        "answer": gr.Radio(choices=choices, value=None, visible=bool(choices)),
        "value": gr.Number(visible=not choices, label=f"Its {config.label_cols[0]} (press Enter to save)"),
        "given": _given_text(labels),
        "downloads": _downloads(engine, session_id),
        "selected": selected,
    }


def _galaxy_text(table: pd.DataFrame, selected: int | None, given: dict[str, str], config: Any) -> str:
    if selected is None or not 0 <= selected < len(table):
        return "Click a galaxy to label it."
    row = table.iloc[selected]
    text = f"**{row['rank']}. {escape_md(row['id_str'])}**: picked because {escape_md(row['reason'])}."
    if config.task == "tree":
        first = labelling.first_question(config).text
        text += f" Click its answer to the first question, *{escape_md(first)}*, as one more volunteer would."
        picked = str(row.get("question") or "")
        if picked and picked != first:
            text += f" (To give votes on *{escape_md(picked)}* itself, upload a CSV of vote counts.)"
    if row["id_str"] in given:
        text += f" Your label: **{escape_md(given[row['id_str']])}** (click another answer to change it)."
    return text


def _given_text(labels: pd.DataFrame) -> str:
    if labels.empty:
        return "No labels given yet."
    given = f"{len(labels)} label{'s' if len(labels) != 1 else ''} given"
    return f"**{given}** (kept if you reload). Add them to the catalog, then train the next round."


def _downloads(engine: Engine, session_id: str) -> list[str]:
    folder = labelling.labelling_dir(engine, session_id)
    files = [folder / labelling.SUGGESTIONS_FILE, folder / labelling.LABELS_FILE]
    rounds = sorted(folder.glob("catalog_round_*.csv"), key=lambda p: p.stat().st_mtime)
    return [str(p) for p in [*files, *rounds[-1:]] if p.is_file()]


@plain_errors
def choose_galaxy(engine: Engine, session_id: str, index: int) -> dict[str, Any]:
    """A click on a gallery galaxy: say why it was picked, and make it the one the answer buttons label."""
    return {**pick(show_suggestions(engine, session_id, index), "galaxy", "selected")}


@plain_errors
def label_galaxy(
    engine: Engine, session_id: str, selected: int | None, answer: Any = None, value: float | None = None
) -> dict[str, Any]:
    """Keep the chosen galaxy's answer (a clicked button, or a typed ``value`` for regression) and open the
    next galaxy without a label."""
    answer = value if answer is None else answer
    found = labelling.suggestions(engine, session_id)
    if found is None or selected is None or not 0 <= int(selected) < len(found[0]):
        raise AppInputError("Click a galaxy first, then its answer.")
    table = found[0]
    row = table.iloc[int(selected)]
    labels = labelling.give_label(engine, session_id, row["id_str"], row["file_loc"], answer)
    done = set(labels["id_str"])
    later = [i for i in range(len(table)) if table["id_str"].iloc[i] not in done]
    after = [i for i in later if i > int(selected)]
    return show_suggestions(engine, session_id, next(iter(after or later), None))


@plain_errors
def upload(engine: Engine, session_id: str, path: str | None) -> dict[str, Any]:
    """Labels from a CSV (``id_str`` and the run's label columns)."""
    if not path:
        raise AppInputError("Choose a CSV file with id_str and your label column(s).")
    labelling.upload_labels(engine, session_id, path)
    return show_suggestions(engine, session_id)


@plain_errors
def add_to_catalog(engine: Engine, session_id: str) -> dict[str, Any]:
    """Write the run's catalog with the labels given as a new catalog file (the session's catalog from now on)."""
    path = labelling.add_labels(engine, session_id)
    shown = show_suggestions(engine, session_id)
    shown["given"] = (
        f"Saved {code(path.name)}: the run's catalog with your labels. It is your catalog now; earlier runs keep "
        "theirs. Train the next round when you are ready."
    )
    return shown


@plain_errors
def next_round(engine: Engine, session_id: str, continue_from_previous: bool = True) -> dict[str, Any]:
    """Start the next run on the catalog with the new labels, from this run's weights or afresh."""
    job = labelling.start_next_round(engine, session_id, continue_from_previous)
    start = "the previous run's weights" if continue_from_previous else "the pretrained encoder, with a fresh head"
    return {
        "round": f"Run {code(Path(job.run_dir or '').name)} starts from {start}…",
        "round_timer": gr.Timer(active=True),
    }


def poll_round(engine: Engine, session_id: str) -> dict[str, Any]:
    """Timer tick: where the next round stands; when it has finished, the Results tab shows it."""
    from zoobot.runs import RunFolder

    job = engine.manager.latest(session_id, "train")
    if job is None or job.run_dir is None:
        return {"round_timer": gr.Timer(active=False)}
    progress = RunFolder(job.run_dir).read_progress()
    if job.active:
        return {"round": plots.progress_html(progress), "round_timer": gr.Timer(active=True)}
    if job.status == "failed":
        return {
            "round": f"**The run failed:** {escape_md(plain_text(job.error or ''))}",
            "round_timer": gr.Timer(active=False),
        }
    started = progress.get("warm_start") or "the pretrained encoder, with a fresh head"
    return {
        "round": f"Run {code(Path(job.run_dir).name)} has finished (it started from {escape_md(started)}): "
        "see Results.",
        "round_timer": gr.Timer(active=False),
        "run_version": job.run_dir,
    }


def build_label_next_tab(engine: Engine, session: gr.BrowserState, run_version: gr.State) -> dict[str, Any]:
    """Lay out the Label next tab and wire its events; returns its components by name (and two events other
    tabs follow: ``labels_added``, after which the Data tab shows the new catalog, and ``round_started``,
    the next round, which the Train tab follows)."""
    gr.Markdown(
        "After a run: the galaxies whose labels would teach the model most. Label them with one click each "
        "(or upload a CSV of labels), add them to your catalog, and train the next round (from this run's "
        "weights, or afresh)."
    )
    ui: dict[str, Any] = {"session_id": session, "run_version": run_version, "selected": gr.State(None)}
    with gr.Row():
        ui["strategy"] = gr.Radio(STRATEGY_CHOICES, value="bald", label="Pick the galaxies", elem_id="label-strategy")
        ui["pool"] = gr.Radio(POOL_CHOICES, value="run", label="From", elem_id="label-pool")
        ui["n"] = gr.Slider(4, 48, value=12, step=1, label="How many", elem_id="label-n")
    ui["posterior"] = gr.Dropdown(
        POSTERIOR_CHOICES,
        value=labelling.DEFAULT_POSTERIOR,
        label="The model's uncertainty from",
        elem_id="label-posterior",
    )
    ui["include_labelled"] = gr.Checkbox(
        False,
        label="Rank labelled galaxies too (to see the ranking on a catalog that is all labelled, such as the demo)",
        elem_id="label-include-labelled",
    )
    ui["find"] = gr.Button("Find the galaxies to label", variant="primary", elem_id="label-find")
    ui["status"] = gr.Markdown(elem_id="label-status")
    ui["gallery"] = galaxy_gallery("Click a galaxy, then its answer", "label-gallery", columns=6, height=420)
    ui["galaxy"] = gr.Markdown(elem_id="label-galaxy")
    ui["answer"] = gr.Radio([], label="Its answer (one click saves it)", elem_id="label-answer")
    ui["value"] = gr.Number(visible=False, elem_id="label-value")
    ui["given"] = gr.Markdown(elem_id="label-given")
    with gr.Row():
        ui["add"] = gr.Button("Add my labels to the catalog", elem_id="label-add")
        ui["next"] = gr.Button("Train the next round", variant="primary", elem_id="label-next")
    ui["continue"] = gr.Checkbox(
        True,
        label="Continue from this run's weights (untick: start afresh from the pretrained encoder, which "
        "needed fewer labels on the synthetic survey; see the README)",
        elem_id="label-continue",
    )
    ui["round"] = gr.HTML(elem_id="label-round")
    with gr.Row():
        ui["upload"] = gr.File(
            label="Or upload labels (CSV: id_str and your label columns)", file_types=[".csv"], elem_id="label-upload"
        )
        ui["downloads"] = gr.File(
            label="Downloads: the suggestions, your labels, the new catalog",
            file_count="multiple",
            interactive=False,
            elem_id="label-downloads",
        )
    ui["timer"] = gr.Timer(1.0, active=False)
    ui["round_timer"] = gr.Timer(2.0, active=False)

    listen(
        ui["find"].click,
        partial(start_suggestions, engine),
        pick(ui, "session_id", "strategy", "n", "pool", "posterior", "include_labelled"),
        pick(ui, "status", "timer"),
    )
    poll(ui["timer"], partial(poll_suggestions, engine), pick(ui, "session_id"), pick(ui, *VIEW, "timer"))
    names = ("galaxy", "selected")

    def on_select(session_id: str, evt: gr.SelectData) -> Any:
        return to_gradio(choose_galaxy(engine, session_id, evt.index), names, "choose_galaxy")

    ui["gallery"].select(on_select, [session], [ui[n] for n in names])
    for trigger, component in ((ui["answer"].input, "answer"), (ui["value"].submit, "value")):
        listen(trigger, partial(label_galaxy, engine), pick(ui, "session_id", "selected", component), pick(ui, *VIEW))
    listen(ui["upload"].upload, partial(upload, engine), {"session_id": session, "path": ui["upload"]}, pick(ui, *VIEW))
    ui["labels_added"] = listen(
        ui["add"].click, partial(add_to_catalog, engine), pick(ui, "session_id"), pick(ui, *VIEW)
    )
    ui["round_started"] = listen(
        ui["next"].click,
        partial(next_round, engine),
        {"session_id": session, "continue_from_previous": ui["continue"]},
        pick(ui, "round", "round_timer"),
    )
    poll(
        ui["round_timer"],
        partial(poll_round, engine),
        pick(ui, "session_id"),
        pick(ui, "round", "round_timer", "run_version"),
    )
    return ui

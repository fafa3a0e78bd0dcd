"""Tab 4, Train: choose an encoder and settings, start finetuning as a background job, watch the
loss curves, the progress bar, the ETA and the device; stop early keeping the best weights.

The form's defaults, ranges, labels and help texts are ``zoobot.defaults.SETTINGS``: the same the
finetuning classes, the run config and the ``zoobot`` command use.
"""

from __future__ import annotations

import dataclasses
import functools
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from app import plots
from app.common import duration_text, plain_errors, wait_text
from app.engine import AppInputError, Engine
from app.engine.training import LOCAL_ENCODER, latest_config, latest_run_dir, start_run
from app.errors import plain_text
from app.escape import code, escape_md
from app.run_reading import metrics_signature, read_metrics, read_progress
from app.tabs import train_plan
from app.wiring import listen, pick, poll
from zoobot import defaults
from zoobot.runs import TRAINING_MODES

MODE_CHOICES = [
    ("Fast: train the head only (encoder frozen)", "head_only"),
    ("Full finetune: train every layer (slower, best with a GPU)", "full"),
]
SETTINGS = (
    "max_epochs",
    "learning_rate",
    "batch_size",
    "image_size",
    "train_fraction",
    "val_fraction",
    "weight_decay",
    "layer_decay",
    "patience",
    "seed",
)
"""The form's numbers, by their ``zoobot.defaults`` names."""
FORM = ("training_mode", *SETTINGS)
"""What a reloaded page restores from the latest run (the encoder follows once the encoders are listed)."""
POLL = ("progress", "status", "loss_plot", "metric_plot", "timer", "seen", "finished_run")
"""What each status poll may update."""
FRACTION_STEP = 0.05


@functools.cache
def encoder_choices(hosted: bool) -> list[tuple[str, str]]:
    """Dropdown choices ``(label, source)``: the registry's encoders, plus a local path when not hosted.

    Listed once per process: reading the registry imports torch and timm.
    """
    from zoobot.encoders import list_encoders

    choices = []
    for card in list_encoders():
        size = card.input_size[-1]
        choices.append(
            (f"{card.name}: {card.description} ({card.n_params / 1e6:.1f} M parameters, {size} px)", card.name)
        )
    if not hosted:
        choices.append(("A local encoder folder or checkpoint (path under Advanced settings)", LOCAL_ENCODER))
    return choices


@plain_errors
def start_training(
    engine: Engine,
    session_id: str,
    *,
    encoder: str | None,
    local_path: str | None,
    training_mode: str,
    max_epochs: float | None,
    learning_rate: float | None,
    batch_size: float | None,
    image_size: float | None,
    train_fraction: float,
    val_fraction: float,
    weight_decay: float | None,
    layer_decay: float | None,
    patience: float | None,
    seed: float | None,
    task: str | None = None,
    label_cols: Any = None,
    confirmed: str | None = None,
) -> dict[str, Any]:
    """Start a run with the form's settings (``app.engine.training.start_run``).

    The Task tab's choice on screen (``task``, ``label_cols``; ``None``: not on the page) is the one
    trained: when it was not applied with "Use this task", it is checked and applied first, or Start
    says why it cannot be. A CPU run estimated at more than ten minutes starts only on a second click
    (``confirmed``: the plan the first click warned about).

    Returns:
        ``progress``, ``status``, the ``timer`` that polls the run, the ``plan`` text and ``confirmed``.

    Raises:
        gr.Error: If no catalog or task is chosen yet, the labels have problems, or a setting is invalid.
    """
    settings = dict(
        max_epochs=max_epochs,
        learning_rate=learning_rate,
        batch_size=batch_size,
        image_size=image_size,
        train_fraction=train_fraction,
        val_fraction=val_fraction,
        weight_decay=weight_decay,
        layer_decay=layer_decay,
        patience=patience,
        seed=seed,
    )
    plan = train_plan.make_plan(engine, session_id, task, label_cols, encoder, local_path, training_mode, settings)
    warning = train_plan.confirmation_needed(plan, confirmed)
    if warning is not None:
        return warning
    if plan.choice.pending:
        _apply_task_choice(engine, session_id, task, label_cols)
        plan = dataclasses.replace(plan, choice=dataclasses.replace(plan.choice, pending=False))
    job = start_run(engine, session_id, encoder, local_path, training_mode, settings)
    assert job.run_dir is not None  # a training job always has its run folder
    position = engine.manager.queue_position(job.id)
    eta = f" Expected to take about {duration_text(plan.seconds)}." if plan.seconds else ""
    return {
        "progress": plots.progress_html(None, position),
        "status": f"Run {code(Path(job.run_dir).name)} {'queued' if position else 'started'}.{eta}",
        "timer": gr.Timer(active=True),
        "plan": train_plan.plan_markdown(plan),
        "confirmed": None,
    }


def _apply_task_choice(engine: Engine, session_id: str, task: str | None, label_cols: Any) -> None:
    """Apply the Task tab's choice as "Use this task" would, or say in plain words why it cannot be trained."""
    from app.tabs.task import use_task

    try:
        use_task(engine, session_id, task, label_cols)
    except gr.Error as err:
        raise AppInputError(
            f'The Task tab shows a choice that was not applied ("Use this task" was not clicked), and it '
            f"cannot be used: {err.message} Change it on the Task tab, or click Use this task there to see why."
        ) from None


def restore_train_form(engine: Engine, session_id: str) -> dict[str, Any]:
    """Page load: the form shows the settings of the session's latest run (unchanged if none).

    Returns:
        Values for :data:`FORM`, or nothing when there is no run yet. The encoder is restored by
        :func:`saved_encoder` once the encoders are listed.
    """
    config = latest_config(engine, session_id)
    if config is None:
        return {}
    return {
        **{name: getattr(config, name) for name in FORM},
        "learning_rate": config.effective_learning_rate,
        "image_size": config.image_size or 0,
    }


def saved_encoder(engine: Engine, session_id: str | None) -> tuple[str | None, str | None]:
    """The latest run's encoder as ``(dropdown value, local path)``: ``(name, None)`` for a listed
    encoder, ``(LOCAL_ENCODER, path)`` for a folder or checkpoint, ``(None, None)`` when there is no
    run or its encoder is no longer offered. Lists the encoders (imports torch and timm)."""
    config = latest_config(engine, session_id) if session_id else None
    if config is None:
        return None, None
    offered = {source for _, source in encoder_choices(engine.hosted)}
    if config.encoder in offered:
        return config.encoder, None
    if LOCAL_ENCODER in offered and Path(config.encoder).exists():
        return LOCAL_ENCODER, config.encoder
    return None, None


def poll_training(engine: Engine, session_id: str, seen: Any) -> dict[str, Any]:
    """Timer tick (and page load): progress, loss curves and status of the session's latest run.

    Args:
        engine: The app engine.
        session_id: The browser session.
        seen: ``[run_dir, metrics.csv signature]`` from the last tick, so unchanged plots are not redrawn.

    Returns:
        Values for :data:`POLL`; the plots only when they changed, ``finished_run`` (the run's folder)
        once the run has ended.
    """
    job = engine.manager.latest(session_id, "train")
    run_dir = latest_run_dir(engine, session_id, job)
    if run_dir is None:
        return {"progress": plots.progress_html(None), "status": "", "timer": gr.Timer(active=False)}
    progress = read_progress(run_dir)
    # metrics.csv changes once an epoch: while its size and time stamp match the last tick's, skip
    # reading it and redrawing (the tick then costs a stat and a small JSON read).
    signature = metrics_signature(run_dir)
    view: dict[str, Any] = {"seen": [run_dir, signature], "timer": gr.Timer(active=job is not None and job.active)}
    if seen != [run_dir, signature]:
        metrics = read_metrics(run_dir)
        view.update(loss_plot=plots.loss_curves(metrics), metric_plot=plots.metric_curve(metrics))
    name = code(Path(run_dir).name)
    if job is not None and job.status == "queued":
        waiting = wait_text(engine.manager, job)
        return {
            **view,
            "progress": plots.progress_html(None, engine.manager.queue_position(job.id)),
            "status": f"Run {name} is waiting in the queue" + (f" ({waiting})." if waiting else "."),
        }
    if job is not None and job.status == "running":
        stage = str((progress or {}).get("stage") or "starting")
        if job.stop_event.is_set():
            text = (
                f"Run {name} is finishing: it stops after the current step, then tests and predicts with the best "
                f"weights so far (now: {escape_md(stage)})."
            )
        else:
            text = f"Run {name} is {'training' if stage == 'training' else escape_md(stage)}."
        return {
            **view,
            "progress": plots.progress_html(progress or {"status": "running", "stage": "starting"}),
            "status": text,
        }
    if job is not None and job.status == "failed":
        error = escape_md(plain_text(job.error or (progress or {}).get("error") or "unknown error"))
        return {
            **view,
            "progress": plots.progress_html(dict(progress or {}, status="failed", stage="failed")),
            "status": f"**Run {name} failed:** {error}",
        }
    if job is not None and job.status == "cancelled":
        return {
            **view,
            "progress": '<div id="train-progress-text">Cancelled before it started.</div>',
            "status": f"Run {name} was cancelled.",
        }
    status = (progress or {}).get("status", "unknown")
    if status == "running" and job is None:
        text = f"Run {name} was interrupted (the app stopped while it trained). Start it again."
    elif status in ("finished", "stopped"):
        text = f"Run {name} {status}. See **5. Results**."
        if job is not None and job.timed_out:
            text = (
                f"Run {name} reached the time limit of {engine.limits.run_minutes:g} min and stopped, keeping "
                "its best weights. See **5. Results**."
            )
    else:
        text = f"Run {name}: {escape_md(status)}. {escape_md(plain_text(str((progress or {}).get('error') or '')))}"
    return {**view, "progress": plots.progress_html(progress), "status": text, "finished_run": run_dir}


def learning_rate_for_mode(training_mode: str, learning_rate: float | None) -> dict[str, Any]:
    """Follow the learning-rate default when the training mode changes, unless the user chose their own.

    Args:
        training_mode: ``'head_only'`` or ``'full'``.
        learning_rate: The learning rate now in the form.

    Returns:
        ``learning_rate``: this mode's default (``zoobot.defaults.learning_rate_for``) when the form
        still holds another mode's default; nothing (the user's own value stays) otherwise.
    """
    others = {defaults.learning_rate_for(mode) for mode in TRAINING_MODES if mode != training_mode}
    if learning_rate in others:
        return {"learning_rate": defaults.learning_rate_for(training_mode)}
    return {}


@plain_errors
def stop_training(engine: Engine, session_id: str) -> dict[str, Any]:
    """Stop the session's run: a queued run is cancelled, a training run ends keeping its best weights."""
    job = engine.manager.latest(session_id, "train")
    if job is None or not job.active:
        raise gr.Error("No run is queued or training.")
    engine.manager.stop(job.id, owner=session_id)
    return {
        "status": "Cancelled the queued run."
        if job.status == "cancelled"
        else "Stopping: the run ends after the current step, then tests and predicts with the best weights."
    }


def _number(name: str, **options: Any) -> gr.Number:
    """A number field for a ``zoobot.defaults`` setting: its label, default and help text. Its range
    is checked on start (not by Gradio's minimum/maximum), so that the message names the field."""
    setting = defaults.SETTINGS[name]
    value = setting.default if setting.default is not None else defaults.learning_rate_for(defaults.RUN_TRAINING_MODE)
    return gr.Number(
        label=setting.label, value=value, precision=0 if setting.whole else None, info=setting.help, **options
    )


def _fraction(name: str, **options: Any) -> gr.Slider:
    """A slider for a ``zoobot.defaults`` fraction, over its allowed range (open ends one step in)."""
    setting = defaults.SETTINGS[name]
    low = setting.low + FRACTION_STEP if setting.low_open else setting.low
    high = setting.high - FRACTION_STEP if setting.high_open else setting.high
    return gr.Slider(
        low, high, value=setting.default, step=FRACTION_STEP, label=setting.label, info=setting.help, **options
    )


def build_train_tab(engine: Engine, session: gr.BrowserState, task_tab: dict[str, Any] | None = None) -> dict[str, Any]:
    """Lay out the Train tab and wire its events; returns its components by name (the settings by their
    ``zoobot.defaults`` names). ``task_tab``: the Task tab's ``task`` and ``label_cols``, which Start trains."""
    ui: dict[str, Any] = {"session_id": session, **(task_tab or {})}
    with gr.Row():
        ui["encoder"] = gr.Dropdown(
            label="Pretrained encoder",
            choices=[("demo", "demo")],
            value="demo",
            scale=3,
            elem_id="train-encoder",
            info="Published Zoobot encoders are downloaded from the Hugging Face Hub on first use.",
        )
        ui["training_mode"] = gr.Radio(
            label="Training", choices=MODE_CHOICES, value=defaults.RUN_TRAINING_MODE, scale=2, elem_id="train-mode"
        )
    with gr.Row():
        ui["max_epochs"] = _number("max_epochs", elem_id="train-epochs")
        ui["learning_rate"] = _number("learning_rate", elem_id="train-lr")
        ui["batch_size"] = _number("batch_size", elem_id="train-batch")
        ui["image_size"] = _number("image_size", elem_id="train-image-size")
    with gr.Accordion("Advanced settings", open=False):
        ui["local_path"] = gr.Textbox(
            label="Local encoder folder or checkpoint (choose 'A local encoder' as the encoder above)",
            visible=not engine.hosted,
            placeholder="/models/my_encoder (config.json + model.safetensors) or run.ckpt",
            elem_id="train-local-encoder",
        )
        with gr.Row():
            ui["train_fraction"] = _fraction("train_fraction", elem_id="train-train-fraction")
            ui["val_fraction"] = _fraction("val_fraction", elem_id="train-val-fraction")
        with gr.Row():
            for name in ("weight_decay", "layer_decay", "patience", "seed"):
                ui[name] = _number(name, elem_id=f"train-{name.replace('_', '-')}")
    ui["plan"] = gr.Markdown(elem_id="train-plan")
    ui["confirmed"] = gr.State(None)
    with gr.Row():
        ui["start"] = gr.Button("Start training", variant="primary", elem_id="train-start")
        ui["stop"] = gr.Button("Stop (keep the best weights) / cancel", variant="stop", elem_id="train-stop")
    ui["progress"] = gr.HTML(plots.progress_html(None), elem_id="train-progress")
    ui["status"] = gr.Markdown(elem_id="train-status")
    with gr.Row():
        ui["loss_plot"] = gr.Plot(show_label=False, elem_id="train-loss-plot")
        ui["metric_plot"] = gr.Plot(show_label=False, elem_id="train-metric-plot")
    ui["timer"] = gr.Timer(1.0, active=False)
    ui["seen"] = gr.State(None)
    ui["finished_run"] = gr.State(None)

    # .input, not .change: restoring a run's mode and learning rate on page load must not move the rate
    listen(
        ui["training_mode"].input,
        learning_rate_for_mode,
        pick(ui, "training_mode", "learning_rate"),
        pick(ui, "learning_rate"),
    )
    chosen = ("task", "label_cols") if task_tab else ()
    plan_inputs = pick(ui, "session_id", *chosen, "encoder", "local_path", *FORM)
    listen(
        ui["start"].click,
        partial(start_training, engine),
        {**plan_inputs, "confirmed": ui["confirmed"]},
        pick(ui, "progress", "status", "timer", "plan", "confirmed"),
    )
    for name in ("encoder", "training_mode", "max_epochs", "image_size", "train_fraction", "val_fraction"):
        listen(ui[name].input, partial(train_plan.show_plan, engine), plan_inputs, pick(ui, "plan"))
    listen(ui["stop"].click, partial(stop_training, engine), pick(ui, "session_id"), pick(ui, "status"))
    poll(ui["timer"], partial(poll_training, engine), pick(ui, "session_id", "seen"), pick(ui, *POLL))
    return ui

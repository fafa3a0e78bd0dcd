"""Tab 4, Train: choose an encoder and settings, start finetuning as a background job, watch the
loss curves, the progress bar, the ETA and the device; stop early keeping the best weights."""

from __future__ import annotations

import functools
import shutil
from functools import partial
from pathlib import Path
from typing import Any

import gradio as gr

from app import plots
from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.runs import metrics_signature, read_config, read_metrics, read_progress

LOCAL_ENCODER = "local"
HEAD_ONLY_LEARNING_RATE = 1e-3
FULL_FINETUNE_LEARNING_RATE = 1e-4
MODE_CHOICES = [("Fast: train the head only (encoder frozen)", "head_only"),
                ("Full finetune: train every layer (slower, best with a GPU)", "full")]


@functools.cache
def encoder_choices(hosted: bool) -> list[tuple[str, str]]:
    """Dropdown choices ``(label, source)``: the registry's encoders, plus a local path when not hosted.

    Listed once per process: reading the registry imports torch and timm.
    """
    from zoobot.encoders import list_encoders

    choices = []
    for card in list_encoders():
        size = card.input_size[-1]
        choices.append((f"{card.name}: {card.description} ({card.n_params / 1e6:.1f} M parameters, {size} px)",
                        card.name))
    if not hosted:
        choices.append(("A local encoder folder or checkpoint (path below)", LOCAL_ENCODER))
    return choices


def _encoder_source(engine: Engine, encoder: str | None, local_path: str | None) -> str:
    if not encoder:
        raise gr.Error("Choose an encoder.")
    if encoder != LOCAL_ENCODER:
        return encoder
    if engine.hosted:
        raise gr.Error("This hosted app cannot load encoders from the server's disk; choose a listed encoder.")
    path = Path((local_path or "").strip()).expanduser()
    if not local_path or not path.exists():
        raise gr.Error(f"No encoder folder or checkpoint at '{local_path or ''}'. Give the path of a folder with "
                       "config.json + model.safetensors, or of a .ckpt file written by Zoobot.")
    return str(path.resolve())


# The number fields: label, allowed range, whole number? Checked here (not by Gradio's own
# minimum/maximum) so that a message names the field.
NUMBER_FIELDS = {
    "epochs": ("Epochs (at most)", 1, 1000, True),
    "learning_rate": ("Learning rate", 1e-7, 0.5, False),
    "batch_size": ("Batch size", 1, 1024, True),
    "image_size": ("Image size (px; 0 = the encoder's own)", 0, 1024, True),
    "weight_decay": ("Weight decay", 0, 1, False),
    "layer_decay": ("Layer decay (full finetune)", 0.1, 1, False),
    "patience": ("Early-stopping patience (epochs)", 1, 1000, True),
    "seed": ("Seed", 0, 2**31 - 1, True),
}


def checked_number(name: str, value: float | None) -> float:
    """A number field's value, or an error naming the field and its allowed range.

    Raises:
        AppInputError: If the field is empty or outside its range.
    """
    label, low, high, whole = NUMBER_FIELDS[name]
    allowed = f"{'a whole number ' if whole else ''}from {low:g} to {high:g}"
    if value is None or value != value:  # empty field (None) or NaN
        raise AppInputError(f"'{label}' is empty: enter {allowed}.")
    if not low <= value <= high:
        raise AppInputError(f"'{label}' is {value:g}; it must be {allowed}.")
    return float(round(value)) if whole else float(value)


@plain_errors
def start_training(engine: Engine, session_id: str, encoder: str | None, local_path: str | None, mode: str,
                   epochs: float, learning_rate: float, batch_size: float, image_size: float | None,
                   train_fraction: float, val_fraction: float, weight_decay: float, layer_decay: float,
                   patience: float, seed: float) -> tuple[str, str, gr.Timer]:
    """Write the run's config and queue ``run_finetune`` for it.

    Returns:
        ``(progress HTML, status, timer)``.

    Raises:
        gr.Error: If no catalog or task is chosen yet, the labels have problems, or a setting is invalid.
    """
    from zoobot.config import RunConfig

    state = engine.state(session_id)
    if not state.catalog_path or not Path(state.catalog_path).is_file():
        raise AppInputError("Load a catalog on the Data tab first.")
    if not state.task or not state.label_cols:
        raise AppInputError("Choose a task and the column(s) to predict on the Task tab first.")
    running = engine.manager.latest(session_id, "train")
    if running is not None and running.active:
        raise AppInputError("You already have a run queued or training; stop it first, or wait for it to finish.")
    source = _encoder_source(engine, encoder, local_path)
    numbers = {name: checked_number(name, value) for name, value in (
        ("epochs", epochs), ("learning_rate", learning_rate), ("batch_size", batch_size),
        ("image_size", image_size if image_size is not None else 0), ("weight_decay", weight_decay),
        ("layer_decay", layer_decay), ("patience", patience), ("seed", seed))}
    data_check = engine.check(session_id)
    if data_check is not None and not data_check.report.ok:
        raise AppInputError("Fix the problems listed on the Data tab first: "
                            + " ".join(p.message for p in data_check.report.errors))
    report = engine.check_labels(session_id, state.task, state.label_cols)
    if not report.ok:
        raise AppInputError("The labels have problems to fix first (see the Task tab): "
                            + " ".join(p.message for p in report.errors))
    schema: Any = None
    if state.task == "tree":
        schema = state.schema_name or engine.schema(session_id).to_dict()
    test_fraction = round(1.0 - train_fraction - val_fraction, 6)
    if test_fraction < 0:
        raise AppInputError(f"Train ({train_fraction:.2f}) and validation ({val_fraction:.2f}) fractions add up to "
                            "more than 1; lower one of them.")
    run_dir = engine.store.new_run_dir(session_id, state.task)
    # The run keeps its own copy: the session's catalog file is overwritten by the next catalog
    # loaded, and the run's config must re-run on the data it was trained on.
    run_catalog = run_dir / "catalog.parquet"
    shutil.copyfile(state.catalog_path, run_catalog)
    config = RunConfig(
        task=state.task, catalog=str(run_catalog), label_cols=list(state.label_cols), run_dir=str(run_dir),
        schema=schema, encoder=source, training_mode=mode, max_epochs=int(numbers["epochs"]),
        learning_rate=numbers["learning_rate"], batch_size=int(numbers["batch_size"]),
        image_size=int(numbers["image_size"]) or None, weight_decay=numbers["weight_decay"],
        layer_decay=numbers["layer_decay"], patience=int(numbers["patience"]), train_fraction=float(train_fraction),
        val_fraction=float(val_fraction), test_fraction=test_fraction, seed=int(numbers["seed"]),
    )
    try:
        config.validate()
    except ValueError:
        shutil.rmtree(run_dir)
        raise
    config.to_yaml(run_dir / "config.yaml")
    job = engine.submit_training(session_id, config)
    position = engine.manager.queue_position(job.id)
    return (plots.progress_html(None, position), f"Run `{run_dir.name}` {'queued' if position else 'started'}.",
            gr.Timer(active=True))


def _latest_run_dir(engine: Engine, session_id: str, job: Any = None) -> str | None:
    """The folder of the session's latest run (``job``: its latest train job, if already looked up)."""
    job = job or engine.manager.latest(session_id, "train")
    return job.run_dir if job is not None else engine.state(session_id).run_dir


def _latest_config(engine: Engine, session_id: str) -> Any:
    """The latest run's :class:`~zoobot.config.RunConfig`, or ``None`` (no run, or its config is gone)."""
    run_dir = _latest_run_dir(engine, session_id)
    return read_config(run_dir) if run_dir is not None else None


def restore_train_form(engine: Engine, session_id: str) -> tuple[Any, ...]:
    """Page load: the form shows the settings of the session's latest run (unchanged if none).

    Returns:
        Values for ``(mode, epochs, learning rate, batch size, image size, train fraction, validation
        fraction, weight decay, layer decay, patience, seed)``. The encoder is restored by
        :func:`saved_encoder` once the encoders are listed.
    """
    config = _latest_config(engine, session_id)
    if config is None:
        return (gr.skip(),) * 11
    return (config.training_mode, config.max_epochs, config.learning_rate, config.batch_size,
            config.image_size or 0, config.train_fraction, config.val_fraction, config.weight_decay,
            config.layer_decay, config.patience, config.seed)


def saved_encoder(engine: Engine, session_id: str | None) -> tuple[str | None, str | None]:
    """The latest run's encoder as ``(dropdown value, local path)``: ``(name, None)`` for a listed
    encoder, ``(LOCAL_ENCODER, path)`` for a folder or checkpoint, ``(None, None)`` when there is no
    run or its encoder is no longer offered. Lists the encoders (imports torch and timm)."""
    config = _latest_config(engine, session_id) if session_id else None
    if config is None:
        return None, None
    offered = {source for _, source in encoder_choices(engine.hosted)}
    if config.encoder in offered:
        return config.encoder, None
    if LOCAL_ENCODER in offered and Path(config.encoder).exists():
        return LOCAL_ENCODER, config.encoder
    return None, None


def poll_training(engine: Engine, session_id: str, seen: Any) -> tuple[Any, ...]:
    """Timer tick (and page load): progress, loss curves and status of the session's latest run.

    Args:
        engine: The app engine.
        session_id: The browser session.
        seen: ``[run_dir, metrics.csv signature]`` from the last tick, so unchanged plots are not redrawn.

    Returns:
        ``(progress HTML, status, loss figure, metric figure, timer, seen, finished run dir)``.
    """
    job = engine.manager.latest(session_id, "train")
    run_dir = _latest_run_dir(engine, session_id, job)
    if run_dir is None:
        return (plots.progress_html(None), "", gr.skip(), gr.skip(), gr.Timer(active=False), seen, gr.skip())
    progress = read_progress(run_dir)
    # metrics.csv changes once an epoch: while its size and time stamp match the last tick's, skip
    # reading it and redrawing (the tick then costs a stat and a small JSON read).
    signature = metrics_signature(run_dir)
    redraw = seen != [run_dir, signature]
    figures = (gr.skip(), gr.skip())
    if redraw:
        metrics = read_metrics(run_dir)
        figures = (plots.loss_curves(metrics), plots.metric_curve(metrics))
    shown = [run_dir, signature]
    name = Path(run_dir).name
    if job is not None and job.status == "queued":
        position = engine.manager.queue_position(job.id)
        return (plots.progress_html(None, position), f"Run `{name}` is waiting in the queue.", *figures,
                gr.Timer(active=True), shown, gr.skip())
    if job is not None and job.status == "running":
        stopping = " Stopping after this step; the best weights so far are kept." if job.stop_event.is_set() else ""
        return (plots.progress_html(progress or {"status": "running", "stage": "starting"}),
                f"Run `{name}` is training.{stopping}", *figures, gr.Timer(active=True), shown, gr.skip())
    if job is not None and job.status == "failed":
        error = job.error or (progress or {}).get("error") or "unknown error"
        failed = dict(progress or {}, status="failed", stage="failed")
        return (plots.progress_html(failed), f"**Run `{name}` failed:** {error}", *figures,
                gr.Timer(active=False), shown, gr.skip())
    if job is not None and job.status == "cancelled":
        return ('<div id="train-progress-text">Cancelled before it started.</div>', f"Run `{name}` was cancelled.",
                *figures, gr.Timer(active=False), shown, gr.skip())
    status = (progress or {}).get("status", "unknown")
    if status == "running" and job is None:
        text = f"Run `{name}` was interrupted (the app stopped while it trained). Start it again."
    elif status in ("finished", "stopped"):
        text = f"Run `{name}` {status}. See **5. Results**."
    else:
        text = f"Run `{name}`: {status}. {(progress or {}).get('error') or ''}"
    return (plots.progress_html(progress), text, *figures, gr.Timer(active=False), shown, run_dir)


def learning_rate_for_mode(mode: str, learning_rate: float | None) -> Any:
    """Follow the learning-rate hint when the training mode changes, unless the user chose their own.

    Args:
        mode: ``'head_only'`` or ``'full'``.
        learning_rate: The learning rate now in the form.

    Returns:
        The other mode's default when ``learning_rate`` is still this mode's opposite default, else
        ``gr.skip()`` (the user's own value stays).
    """
    if mode == "full" and learning_rate == HEAD_ONLY_LEARNING_RATE:
        return FULL_FINETUNE_LEARNING_RATE
    if mode == "head_only" and learning_rate == FULL_FINETUNE_LEARNING_RATE:
        return HEAD_ONLY_LEARNING_RATE
    return gr.skip()


@plain_errors
def stop_training(engine: Engine, session_id: str) -> str:
    """Stop the session's run: a queued run is cancelled, a training run ends keeping its best weights."""
    job = engine.manager.latest(session_id, "train")
    if job is None or not job.active:
        raise gr.Error("No run is queued or training.")
    engine.manager.stop(job.id, owner=session_id)
    return ("Cancelled the queued run." if job.status == "cancelled"
            else "Stopping: the run ends after the current step, then tests and predicts with the best weights.")


def build_train_tab(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the Train tab and wire its events; returns its components by name."""
    with gr.Row():
        encoder = gr.Dropdown(label="Pretrained encoder", choices=[("demo", "demo")], value="demo", scale=3,
                              elem_id="train-encoder",
                              info="Published Zoobot encoders are downloaded from the Hugging Face Hub on first use.")
        mode = gr.Radio(label="Training", choices=MODE_CHOICES, value="head_only", scale=2, elem_id="train-mode")
    local_path = gr.Textbox(label="Local encoder folder or checkpoint", visible=not engine.hosted,
                            placeholder="/models/my_encoder (config.json + model.safetensors) or run.ckpt",
                            elem_id="train-local-encoder")
    with gr.Row():
        epochs = gr.Number(label=NUMBER_FIELDS["epochs"][0], value=10, precision=0, elem_id="train-epochs")
        learning_rate = gr.Number(label=NUMBER_FIELDS["learning_rate"][0], value=HEAD_ONLY_LEARNING_RATE,
                                  elem_id="train-lr", info="1e-3 for the head only, 1e-4 for full finetuning")
        batch_size = gr.Number(label=NUMBER_FIELDS["batch_size"][0], value=32, precision=0, elem_id="train-batch")
        image_size = gr.Number(label=NUMBER_FIELDS["image_size"][0], value=0, precision=0,
                               elem_id="train-image-size")
    with gr.Accordion("Advanced settings", open=False):
        with gr.Row():
            train_fraction = gr.Slider(0.1, 0.9, value=0.7, step=0.05, label="Train fraction",
                                       elem_id="train-train-fraction")
            val_fraction = gr.Slider(0.05, 0.5, value=0.15, step=0.05, label="Validation fraction (the rest is the test set)",
                                     elem_id="train-val-fraction")
        with gr.Row():
            weight_decay = gr.Number(label=NUMBER_FIELDS["weight_decay"][0], value=0.05)
            layer_decay = gr.Number(label=NUMBER_FIELDS["layer_decay"][0], value=0.75)
            patience = gr.Number(label=NUMBER_FIELDS["patience"][0], value=5, precision=0)
            seed = gr.Number(label=NUMBER_FIELDS["seed"][0], value=42, precision=0)
    with gr.Row():
        start_btn = gr.Button("Start training", variant="primary", elem_id="train-start")
        stop_btn = gr.Button("Stop (keep the best weights) / cancel", variant="stop", elem_id="train-stop")
    progress = gr.HTML(plots.progress_html(None), elem_id="train-progress")
    status = gr.Markdown(elem_id="train-status")
    with gr.Row():
        loss_plot = gr.Plot(show_label=False, elem_id="train-loss-plot")
        metric_plot = gr.Plot(show_label=False, elem_id="train-metric-plot")
    timer = gr.Timer(1.0, active=False)
    seen = gr.State(None)
    finished_run = gr.State(None)

    inputs = [session, encoder, local_path, mode, epochs, learning_rate, batch_size, image_size, train_fraction,
              val_fraction, weight_decay, layer_decay, patience, seed]
    # .input, not .change: restoring a run's mode and learning rate on page load must not move the rate
    mode.input(learning_rate_for_mode, [mode, learning_rate], [learning_rate])
    start_btn.click(partial(start_training, engine), inputs, [progress, status, timer])
    stop_btn.click(partial(stop_training, engine), [session], [status])
    poll_outputs = [progress, status, loss_plot, metric_plot, timer, seen, finished_run]
    timer.tick(partial(poll_training, engine), [session, seen], poll_outputs, show_progress="hidden")
    return {"encoder": encoder, "timer": timer, "poll": partial(poll_training, engine), "poll_inputs": [session, seen],
            "poll_outputs": poll_outputs, "finished_run": finished_run,
            "restore": partial(restore_train_form, engine), "restore_outputs": inputs[3:],
            "local_path": local_path}



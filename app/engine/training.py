"""The engine's runs: start a finetuning run (its folder, its copy of the catalog, its
``config.yaml``, its job) and say where a session's runs stand. A run's files are reached only
through ``zoobot.runs.RunFolder``."""

from __future__ import annotations

import logging
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from app.engine.core import AppInputError, Engine
from app.jobs import Job, JobContext, JobLimitError
from app.run_notes import write_note
from app.run_reading import read_config
from zoobot import defaults
from zoobot.runs import RunConfig, RunFolder
from zoobot.tasks import Task

logger = logging.getLogger(__name__)

LOCAL_ENCODER = "local"
"""The encoder choice meaning "the local folder or checkpoint typed below"."""


def checked_setting(name: str, value: float | None) -> float:
    """A number from the Train form, if ``zoobot.defaults`` allows it (whole numbers rounded).

    Raises:
        AppInputError: The field is empty or outside its range; the message names the field as the
            form labels it, and the range.
    """
    setting = defaults.SETTINGS[name]
    try:
        return setting.check(value)
    except defaults.SettingError:
        if not isinstance(value, (int, float)) or value != value:  # an empty field (None) or NaN
            raise AppInputError(f"'{setting.label}' is empty: enter {setting.allowed}.") from None
        raise AppInputError(f"'{setting.label}' is {value:g}; it must be {setting.allowed}.") from None


def encoder_source(engine: Engine, encoder: str | None, local_path: str | None) -> str:
    """The encoder source a run config takes: a listed encoder's name, or a local folder's path.

    Raises:
        AppInputError: No encoder chosen, a local encoder in hosted mode, or no such local path.
    """
    if not encoder:
        raise AppInputError("Choose an encoder.")
    if encoder != LOCAL_ENCODER:
        return encoder
    if engine.hosted:
        raise AppInputError("This hosted app cannot load encoders from the server's disk; choose a listed encoder.")
    path = Path((local_path or "").strip()).expanduser()
    if not local_path or not path.exists():
        raise AppInputError(
            f"No encoder folder or checkpoint at '{local_path or ''}'. Give the path of a folder "
            "with config.json + model.safetensors, or of a .ckpt file written by Zoobot."
        )
    return str(path.resolve())


def start_run(
    engine: Engine,
    session_id: str,
    encoder: str | None,
    local_path: str | None,
    training_mode: str,
    settings: Mapping[str, float | None],
) -> Job:
    """Check the session is ready to train, make the run folder (with its own copy of the catalog and
    its ``config.yaml``) and queue ``zoobot.runs.run_finetune`` for it.

    Args:
        engine: The app engine.
        session_id: The browser session.
        encoder: A listed encoder's name, or ``LOCAL_ENCODER`` for ``local_path``.
        local_path: A local encoder folder or checkpoint.
        training_mode: ``'head_only'`` or ``'full'``.
        settings: The form's numbers by their ``zoobot.defaults`` name: ``max_epochs``,
            ``learning_rate``, ``batch_size``, ``image_size`` (0 or empty: the encoder's own),
            ``weight_decay``, ``layer_decay``, ``patience``, ``seed``, ``train_fraction``, ``val_fraction``.

    Raises:
        AppInputError: No catalog or task yet, a run already going, a setting out of range, or
            problems in the data or labels. Nothing is written then.
        ConfigError: The settings do not make a valid run config (the run folder is removed again).
    """
    state = engine.state(session_id)
    if not state.catalog_path or not Path(state.catalog_path).is_file():
        raise AppInputError("Load a catalog on the Data tab first.")
    if not state.task or not state.label_cols:
        raise AppInputError("Choose a task and the column(s) to predict on the Task tab first.")
    task = cast(Task, state.task)  # as the Task tab saved it; validate_catalog and RunConfig refuse any other
    running = engine.manager.latest(session_id, "train")
    if running is not None and running.active:
        raise AppInputError("You already have a run queued or training; stop it first, or wait for it to finish.")
    source = encoder_source(engine, encoder, local_path)
    form = dict(settings, image_size=settings.get("image_size") or 0)
    numbers = {name: checked_setting(name, value) for name, value in form.items()}
    most = engine.limits.max_epochs
    if most is not None and numbers.get("max_epochs", 0) > most:
        label = defaults.SETTINGS["max_epochs"].label
        raise AppInputError(
            engine.limits.refusal(f"'{label}' is {numbers['max_epochs']:g}; at most {most} epochs are allowed here.")
        )
    _check_ready_to_train(engine, session_id, task, state.label_cols)
    train_fraction, val_fraction = numbers["train_fraction"], numbers["val_fraction"]
    test_fraction = round(1.0 - train_fraction - val_fraction, 6)
    if test_fraction < 0:
        raise AppInputError(
            f"Train ({train_fraction:.2f}) and validation ({val_fraction:.2f}) fractions add up to "
            "more than 1; lower one of them."
        )
    values: dict[str, Any] = {
        name: int(value) if defaults.SETTINGS[name].whole else value for name, value in numbers.items()
    }
    values["image_size"] = values["image_size"] or None
    schema = (state.schema_name or engine.schema(session_id).to_dict()) if task == "tree" else None
    folder = RunFolder(engine.store.new_run_dir(session_id, task))
    try:
        # The run keeps its own copy: the session's catalog file is overwritten by the next catalog
        # loaded, and the run's config must re-run on the data it was trained on.
        folder.write_catalog(pd.read_parquet(state.catalog_path))  # its file_loc relative to the run folder
        config = RunConfig(
            task=task,
            catalog=str(folder.catalog_path),
            label_cols=list(state.label_cols),
            run_dir=str(folder.path),
            schema=schema,
            encoder=source,
            training_mode=cast(defaults.TrainingMode, training_mode),  # RunConfig.validate refuses any other
            test_fraction=test_fraction,
            **values,
        )
        config.validate()
    except (OSError, ValueError):
        shutil.rmtree(folder.path)
        raise
    folder.write_config(config)
    write_note(folder.path, catalog_name=state.catalog_name)  # the name the user knows, for the Runs table
    return submit_training(engine, session_id, config)


def _check_ready_to_train(engine: Engine, session_id: str, task: str, label_cols: list[str]) -> None:
    """Refuse to train while the Data tab lists must-fix problems or the labels have some."""
    data_check = engine.check(session_id)
    if data_check is not None and not data_check.report.ok:
        raise AppInputError(
            "Fix the problems listed on the Data tab first: " + " ".join(p.message for p in data_check.report.errors)
        )
    report = engine.check_labels(session_id, task, label_cols)
    if not report.ok:
        raise AppInputError(
            "The labels have problems to fix first (see the Task tab): " + " ".join(p.message for p in report.errors)
        )


def submit_training(engine: Engine, session_id: str, config: RunConfig) -> Job:
    """Queue ``zoobot.runs.run_finetune(config)``; one run per device at a time, stopped (keeping its best
    weights) at the time limit. A failure is recorded in the run's ``progress.json`` in plain words."""
    n_gpus = engine.gpu_count()
    folder = RunFolder(config.run_dir)

    def job(ctx: JobContext) -> Any:
        from zoobot.runs import run_finetune

        try:
            if n_gpus:
                return run_finetune(config, accelerator="gpu", devices=[ctx.slot], stop_event=ctx.stop_event)
            return run_finetune(config, accelerator="cpu", devices=1, stop_event=ctx.stop_event)
        except Exception as err:
            _record_failure(folder, err)
            raise

    def remaining() -> float | None:
        eta = folder.read_progress().get("eta_s")
        return float(eta) if isinstance(eta, (int, float)) else None

    minutes = engine.limits.run_minutes
    try:
        submitted = engine.manager.submit(
            "train",
            session_id,
            job,
            lane="train",
            run_dir=str(config.run_dir),
            time_limit_s=minutes * 60 if minutes else None,
            remaining=remaining,
        )
    except JobLimitError:
        shutil.rmtree(folder.path, ignore_errors=True)  # refused: no run folder is left to list
        raise
    engine.store.update_state(session_id, run_dir=str(config.run_dir))
    return submitted


def _record_failure(folder: RunFolder, err: BaseException) -> None:
    """Put why a run failed into its ``progress.json`` in plain words (the library writes the raw text), so
    the Runs list and a reloaded page say it plainly, even after a restart."""
    from app.errors import user_message

    try:
        folder.write_progress(status="failed", stage="failed", error=user_message(err))
    except OSError:  # the disk is full or gone: the job's own error still reaches the page
        logger.warning("could not record why run %s failed", folder.name, exc_info=True)


def latest_run_dir(engine: Engine, session_id: str, job: Job | None = None) -> str | None:
    """The folder of the session's latest run (``job``: its latest train job, if already looked up)."""
    job = job or engine.manager.latest(session_id, "train")
    return job.run_dir if job is not None else engine.state(session_id).run_dir


def latest_config(engine: Engine, session_id: str) -> RunConfig | None:
    """The latest run's :class:`~zoobot.runs.RunConfig`, or ``None`` (no run, or its config is gone)."""
    run_dir = latest_run_dir(engine, session_id)
    return read_config(run_dir) if run_dir is not None else None


def current_run(engine: Engine, session_id: str) -> RunFolder:
    """The session's current run (being trained or last opened).

    Raises:
        AppInputError: There is none, or (hosted) it is not this session's.
    """
    run_dir = engine.state(session_id).run_dir
    if not run_dir or not Path(run_dir).is_dir():
        raise AppInputError("No run yet: train a model on the Train tab, or open a past run on the Runs tab.")
    if not engine.store.owns(session_id if engine.hosted else None, run_dir):
        raise AppInputError("That run is not one of yours; open a run from the Runs tab.")
    return RunFolder(run_dir)


@dataclass(frozen=True)
class RunState:
    """Where a run stands, from its job (while this app process runs it) and its progress file.

    Attributes:
        status: ``'queued'``, ``'running'``, ``'finished'``, ``'stopped'``, ``'failed'``,
            ``'cancelled'``, ``'interrupted'`` (its progress says running, but no job works on it:
            the app stopped) or ``'not started'``.
        error: Why it failed, when it did and said.
        latest: Whether it is the session's latest run (its latest job's, or the newest folder).
    """

    status: str
    error: str | None
    latest: bool


def run_state(engine: Engine, session_id: str, folder: RunFolder) -> RunState:
    """Where a run stands: its job's word while this app process runs it, else its progress file's."""
    progress = folder.read_progress()
    status, error = progress.get("status", "not started"), progress.get("error")
    job = engine.manager.latest(session_id, "train")
    is_job = job is not None and job.run_dir is not None and Path(job.run_dir).resolve() == folder.path.resolve()
    if is_job and job is not None and job.status in ("queued", "failed", "cancelled"):
        status, error = job.status, job.error or error
    elif status == "running" and not is_job:
        status = "interrupted"
    newest = engine.store.run_dirs(session_id)
    latest = is_job or bool(newest and newest[0].resolve() == folder.path.resolve())
    return RunState(status=status, error=error, latest=latest)

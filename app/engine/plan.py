"""What a run will train, before it starts: the task and target on screen (applied or not), the galaxies
and their split, the mode, and an estimate of the time on this machine (:func:`plan_run`).

The estimate counts the encoder passes the run makes (a head-only run computes the features of its
train and validation galaxies once; a full finetune runs forward and backward over the train galaxies
every epoch) and prices a pass from the encoder's size and the image size, at the speed measured on a
2-core machine (``benchmarks/README.md``) scaled to this machine's cores and to how busy they are now (on a
GPU: a round figure).
It is a rough figure ("about 6 min"), an upper one when early stopping ends a run sooner.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from app.engine.core import AppInputError, Engine

LONG_CPU_RUN_S = 600.0
"""A run estimated to take longer on a CPU asks for a second click on Start."""
GFLOPS_PER_MPARAM_224 = 0.17
"""Forward-pass GFLOPs per million encoder parameters at 224 px (ConvNeXt, ResNet: 0.15 to 0.18)."""
BACKWARD_FACTOR = 3.6
"""A training step (forward and backward) costs about 3.6 forward passes (benchmarks/README.md)."""
CPU_GFLOPS_PER_THREAD = 40.0
"""A CPU thread's effective speed on these encoders, in GFLOP/s (benchmarks/README.md: the demo encoder and
ConvNeXt-Nano at 32 to 54 on a 2-core machine)."""
READ_S = 1 / 500
"""Reading and decoding one image on two cores (benchmarks/README.md: the demo encoder predicts ~500 img/s)."""
GPU_GFLOPS = 20_000.0
"""A GPU's effective speed for these encoders (16-bit), in GFLOP/s: a round figure, not measured."""
START_S = 7.0
"""Loading the encoder, starting the trainer, calibrating and saving the model: what a run takes beyond its
encoder passes. Measured 2026-12-03 on 2 idle cores: the demo encoder's 10 head-only epochs on 600 galaxies
(about 2.4 s of passes) took 9.6 s as a process's first run and 4.7 s after it (30 s, the figure of an
earlier version, made that run's estimate five times what it took)."""


@dataclass(frozen=True)
class TaskChoice:
    """The task a run would learn, and whether the Task tab shows something else than what was applied.

    Attributes:
        task: ``'classification'``, ``'regression'``, ``'tree'``, or ``None`` when nothing is chosen.
        label_cols: The target column(s).
        pending: Whether this is the choice on screen, not (yet) applied with "Use this task".
    """

    task: str | None
    label_cols: list[str]
    pending: bool


def task_choice(engine: Engine, session_id: str, task: str | None, label_cols: Any) -> TaskChoice:
    """The choice on the Task tab (``task``, ``label_cols``: its current values; ``None`` when not on the
    page) compared with the session's applied one. A tree's columns are its schema's."""
    state = engine.state(session_id)
    cols = [label_cols] if isinstance(label_cols, str) else list(label_cols or [])
    if task is None:
        return TaskChoice(state.task, list(state.label_cols), False)
    if task == "tree":
        same = state.task == "tree"
        return TaskChoice("tree", list(state.label_cols) if same else cols, not same)
    same = task == state.task and cols == list(state.label_cols)
    return TaskChoice(task, cols, not same)


@dataclass(frozen=True)
class RunPlan:
    """What Start would train, in numbers a person checks before waiting for it.

    Attributes:
        choice: The task and target.
        n_rows: Galaxies in the catalog (all get predictions).
        n_train: Labelled galaxies trained on.
        n_val: Labelled galaxies for validation (early stopping).
        n_test: Labelled galaxies held back for the test score.
        training_mode: ``'head_only'`` or ``'full'``.
        max_epochs: At most this many passes over the train galaxies.
        encoder: The encoder's name (or path).
        image_size: The side of the images the encoder sees, in pixels.
        on_gpu: Whether the run would use a GPU.
        seconds: The estimated time, or ``None`` when it cannot be estimated (a local encoder).
    """

    choice: TaskChoice
    n_rows: int
    n_train: int
    n_val: int
    n_test: int
    training_mode: str
    max_epochs: int
    encoder: str
    image_size: int | None
    on_gpu: bool
    seconds: float | None

    @property
    def long_on_cpu(self) -> bool:
        """Whether this is a CPU run estimated at more than :data:`LONG_CPU_RUN_S`."""
        return not self.on_gpu and self.seconds is not None and self.seconds > LONG_CPU_RUN_S

    def key(self) -> str:
        """What a confirmation to run a long plan is for (another plan needs another confirmation)."""
        cols = ",".join(self.choice.label_cols)
        return f"{self.choice.task}|{cols}|{self.n_train}|{self.training_mode}|{self.max_epochs}|{self.encoder}"


def _image_seconds(encoder: str, image_size: int | None, on_gpu: bool) -> tuple[float, int] | None:
    """Seconds per image of one forward pass (reading the image included), and the image side, for a listed
    encoder (``None``: not listed, e.g. a local folder)."""
    from zoobot.encoders import EncoderUnavailableError, get_encoder_card

    try:
        card = get_encoder_card(encoder)
    except EncoderUnavailableError:
        return None
    side = image_size or card.input_size[-1]
    gflops = GFLOPS_PER_MPARAM_224 * card.n_params / 1e6 * (side / 224) ** 2
    if on_gpu:
        return gflops / GPU_GFLOPS + READ_S, side
    cores = os.cpu_count() or 1
    # On a CPU the encoder gets every core but one (that one decodes images), as the finetuning pipeline does.
    return max(gflops / (CPU_GFLOPS_PER_THREAD * max(1, cores - 1)), READ_S * 2 / cores), side


def cpu_busy_factor() -> float:
    """How much slower than on an idle machine a run goes now: it shares the cores with the processes already
    waiting for them (the 1-minute load average), so ``1 + load / cores`` (a run uses every core: on 2 cores
    beside 2 busy processes it gets half of them)."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # not offered on this system
        return 1.0
    return 1.0 + max(0.0, load) / (os.cpu_count() or 1)


def estimate_seconds(
    image_s: float, n_rows: int, n_train: int, n_val: int, n_test: int, mode: str, epochs: int
) -> float:
    """Seconds a run takes at ``image_s`` seconds per forward pass of one image: its encoder passes (see the
    module docstring) plus start-up."""
    # head only: the features once (the head's epochs are cheap next to them)
    training = n_train + n_val if mode == "head_only" else epochs * (BACKWARD_FACTOR * n_train + n_val)
    passes = training + n_test + n_rows  # testing, then predicting every galaxy
    return START_S + passes * image_s


def _split_counts(n: int, train_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    from zoobot.data import split_catalog

    test_fraction = max(0.0, round(1.0 - train_fraction - val_fraction, 6))
    parts = split_catalog(pd.DataFrame(index=range(n)), train_fraction, val_fraction, test_fraction)
    return len(parts[0]), len(parts[1]), len(parts[2])


def plan_run(
    engine: Engine,
    session_id: str,
    choice: TaskChoice,
    encoder: str,
    training_mode: str,
    settings: dict[str, float | None],
) -> RunPlan:
    """What Start would train with this choice and these settings (labels counted without reading images).

    Raises:
        AppInputError: No catalog, or no task chosen.
        ValueError: The fractions do not split the galaxies (the message says why).
    """
    if engine.check(session_id) is None and not engine.state(session_id).catalog_path:
        raise AppInputError("Load a catalog on the Data tab first.")
    catalog = engine.catalog(session_id)
    if choice.pending and not choice.label_cols:
        raise AppInputError(
            f"The Task tab shows {choice.task} with no column chosen (and it was not applied): choose the column(s) "
            "to predict there, then click Use this task."
        )
    if not choice.task or not choice.label_cols:
        raise AppInputError("Choose a task and the column(s) to predict on the Task tab first.")
    present = [c for c in choice.label_cols if c in catalog]
    n_labelled = int(catalog[present].notna().any(axis=1).sum()) if present else 0
    train_fraction = float(settings.get("train_fraction") or 0.7)
    val_fraction = float(settings.get("val_fraction") or 0.15)
    n_train, n_val, n_test = _split_counts(n_labelled, train_fraction, val_fraction) if n_labelled else (0, 0, 0)
    epochs = int(settings.get("max_epochs") or 1)
    image_size = int(settings.get("image_size") or 0) or None
    on_gpu = engine.gpu_count() > 0
    cost = _image_seconds(encoder, image_size, on_gpu)
    seconds = None
    if cost is not None:
        seconds = estimate_seconds(cost[0], len(catalog), n_train, n_val, n_test, training_mode, epochs)
        seconds *= 1.0 if on_gpu else cpu_busy_factor()
        image_size = cost[1]
    return RunPlan(
        choice=choice,
        n_rows=len(catalog),
        n_train=n_train,
        n_val=n_val,
        n_test=n_test,
        training_mode=training_mode,
        max_epochs=epochs,
        encoder=encoder,
        image_size=image_size,
        on_gpu=on_gpu,
        seconds=seconds,
    )

"""The Train tab's summary of what Start will train (``app.engine.plan``): the task and target as the
Task tab shows them (applied or not), the galaxies and their split, the mode, the encoder and an
estimate of the time on this machine; and the second click Start asks for before a long CPU run."""

from __future__ import annotations

from typing import Any

import gradio as gr

from app.common import duration_text
from app.engine import AppInputError, Engine
from app.engine.plan import LONG_CPU_RUN_S, RunPlan, TaskChoice, plan_run, task_choice
from app.engine.training import LOCAL_ENCODER
from app.escape import code, escape_md

MODE_WORDS = {
    "head_only": "head only (the encoder stays frozen; its features are computed once)",
    "full": "full finetune (every layer learns)",
}
TASK_WORDS = {"classification": "classification", "regression": "regression", "tree": "vote-count tree"}


def _targets(choice: TaskChoice) -> str:
    cols = choice.label_cols
    if choice.task == "tree":
        return f"the votes of {len(cols)} answers"
    shown = ", ".join(code(c) for c in cols[:4]) + ("…" if len(cols) > 4 else "")
    return shown or "no column yet"


def _time_text(plan: RunPlan) -> str:
    device = "a GPU" if plan.on_gpu else "this computer's CPU"
    if plan.seconds is None:
        return f"Time: not estimated for a local encoder (on {device})."
    most = " at most" if plan.training_mode == "full" else ""
    return f"Time:{most} **about {duration_text(plan.seconds)}** on {device} (a rough estimate)."


def plan_markdown(plan: RunPlan) -> str:
    """The summary shown above Start."""
    choice = plan.choice
    lines = [
        f"**Start will train:** a **{TASK_WORDS.get(choice.task or '', choice.task)}** model of {_targets(choice)}.",
        f"Galaxies: **{plan.n_train}** to train on, **{plan.n_val}** to validate, **{plan.n_test}** to test "
        f"(of {plan.n_train + plan.n_val + plan.n_test} labelled); all **{plan.n_rows}** get predictions.",
        f"Mode: **{MODE_WORDS.get(plan.training_mode, plan.training_mode)}**, up to {plan.max_epochs} epochs, "
        f"encoder {code(plan.encoder)}" + (f" at {plan.image_size} px." if plan.image_size else "."),
        _time_text(plan),
    ]
    if choice.pending:
        lines.append(
            "*The Task tab shows this choice but it was not applied with **Use this task**: Start checks and "
            "applies it first.*"
        )
    if plan.long_on_cpu:
        lines.append(
            f"**This is a long run for a CPU (over {LONG_CPU_RUN_S / 60:g} min).** Start asks you to click again; "
            "the head-only mode, fewer epochs or a smaller encoder are faster."
        )
    if plan.n_train < 10:
        lines.append("**Very few galaxies to train on:** the model will hardly learn; label more galaxies.")
    return "  \n".join(lines)


def make_plan(
    engine: Engine,
    session_id: str,
    task: str | None,
    label_cols: Any,
    encoder: str | None,
    local_path: str | None,
    training_mode: str,
    settings: dict[str, float | None],
) -> RunPlan:
    """The plan for the form's values and the Task tab's choice (see ``app.engine.plan.plan_run``)."""
    choice = task_choice(engine, session_id, task, label_cols)
    source = (local_path or "a local encoder") if encoder == LOCAL_ENCODER else (encoder or "demo")
    return plan_run(engine, session_id, choice, source, training_mode, settings)


def show_plan(
    engine: Engine,
    session_id: str | None,
    task: str | None = None,
    label_cols: Any = None,
    encoder: str | None = None,
    local_path: str | None = None,
    training_mode: str = "head_only",
    **settings: float | None,
) -> dict[str, Any]:
    """The Train tab's ``plan`` text (opening the tab, changing a setting); says what is missing when
    there is no catalog or task yet."""
    if not session_id:
        return {"plan": ""}
    try:
        plan = make_plan(engine, session_id, task, label_cols, encoder, local_path, training_mode, settings)
    except (AppInputError, ValueError) as err:
        return {"plan": f"**Not ready to train:** {escape_md(err)}"}
    return {"plan": plan_markdown(plan)}


def confirmation_needed(plan: RunPlan, confirmed: str | None) -> dict[str, Any] | None:
    """What Start shows instead of starting a long CPU run not yet confirmed (``None``: go ahead)."""
    if not plan.long_on_cpu or confirmed == plan.key():
        return None
    return {
        "status": f"**This run would take about {duration_text(plan.seconds or 0)} on this computer's CPU.** "
        "Click **Start training** again to start it anyway, or make it shorter: the head-only mode, fewer "
        "epochs or a smaller encoder.",
        "confirmed": plan.key(),
        "plan": plan_markdown(plan),
        "timer": gr.Timer(active=False),
    }

"""Warm start: begin a run from a previous model's weights instead of the pretrained encoder alone.

The next round of active learning (label the galaxies :func:`zoobot.active_learning.suggest_galaxies`
picked, train again) starts from the last round's model: ``RunConfig(init_from=<previous run folder>)``
or ``zoobot finetune --init-from RUN``. :func:`warm_start` copies the weights:

- encoder and head when the previous model has the same task and outputs (the same classes, targets
  or decision tree);
- the encoder only otherwise (e.g. a class was added), the head starting fresh; the returned message
  says so.

An encoder of another architecture is refused: the weights cannot fit.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoobot.runs.config import ConfigError

if TYPE_CHECKING:
    import lightning as L

__all__ = ["warm_start"]


def _outputs(model: Any) -> tuple[str, list[str]]:
    """What a model predicts: its task and its output names (classes, targets or answers)."""
    from zoobot.uncertainty.columns import model_task

    names = list(getattr(model, "class_names", None) or []) or model.default_output_names()
    return model_task(model), [str(name) for name in names]


def _part(state: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key.startswith(prefix)}


def _fits(mine: dict[str, Any], theirs: dict[str, Any]) -> bool:
    return mine.keys() == theirs.keys() and all(mine[k].shape == theirs[k].shape for k in mine)


def warm_start(model: L.LightningModule, source: str | Path) -> str:
    """Fill ``model`` with the weights of a previous finetuned model, in place.

    Args:
        model: the new run's model (built from its config, pretrained encoder loaded).
        source: the previous model: a run folder, its ``model/`` folder, ``finetuned_model.zip``, a
            ``.ckpt`` checkpoint or a Hub name (anything :func:`zoobot.runs.load_finetuned_model` reads).

    Returns:
        What was loaded, in words (``'encoder and head from ...'`` or ``'encoder only from ...: ...'``).

    Raises:
        ConfigError: ``source`` holds no finetuned model, or its encoder is another architecture.
    """
    from zoobot.runs.model import load_finetuned_model

    previous = load_finetuned_model(source)
    theirs = previous.state_dict()
    mine = model.state_dict()
    encoder = _part(theirs, "encoder.")
    if not encoder or not _fits(_part(mine, "encoder."), encoder):
        raise ConfigError(
            f"init_from {source}: its encoder is not the same architecture as this run's encoder "
            f"({getattr(model.card, 'name', 'the configured one')}); set the run's encoder to the one the "
            "previous run used, or leave init_from out."
        )
    head = _part(theirs, "head.")
    same_outputs = _outputs(previous) == _outputs(model)
    if same_outputs and _fits(_part(mine, "head."), head):
        model.load_state_dict({**encoder, **head}, strict=False)
        return f"encoder and head from {source}"
    model.load_state_dict(encoder, strict=False)
    task, names = _outputs(previous)
    new_task, new_names = _outputs(model)
    why = (
        f"it was a {task} model, this run is {new_task}"
        if task != new_task
        else f"it predicted {len(names)} outputs ({', '.join(names[:5])}{'…' if len(names) > 5 else ''}), "
        f"this run predicts {len(new_names)} ({', '.join(new_names[:5])}{'…' if len(new_names) > 5 else ''})"
    )
    return f"encoder only from {source}: the head starts fresh because {why}"

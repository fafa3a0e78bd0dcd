"""Events are wired by name: each value reaches the component of its name whatever the order of the
components, a name left out leaves its component as it is, and a name the event lacks is an error."""

from __future__ import annotations

from typing import Any

import gradio as gr
import pytest

from app.wiring import listen, pick, poll, prefixed


class Recorder:
    """Stands in for an event listener such as ``button.click``: keeps what it was given."""

    def __call__(self, fn: Any, inputs: list | None, outputs: list | None, **options: Any) -> str:
        self.fn, self.inputs, self.outputs, self.options = fn, inputs, outputs, options
        return "dependency"


def handler(session_id: str, epochs: int) -> dict[str, Any]:
    """Says what it got."""
    return {"status": f"{session_id} trains {epochs} epochs", "progress": epochs / 10}


@pytest.mark.parametrize(
    "input_order, output_order",
    [
        (("session_id", "epochs"), ("status", "progress")),
        (("epochs", "session_id"), ("progress", "status")),
    ],
)
def test_reordering_components_cannot_shift_a_value(input_order, output_order):
    components = {"session_id": "SESSION", "epochs": "EPOCHS", "status": "STATUS", "progress": "PROGRESS"}
    trigger = Recorder()
    assert (
        listen(
            trigger, handler, pick(components, *input_order), pick(components, *output_order), show_progress="hidden"
        )
        == "dependency"
    )
    assert trigger.inputs == [components[n] for n in input_order]
    assert trigger.outputs == [components[n] for n in output_order]
    assert trigger.options == {"show_progress": "hidden"}
    given = {"session_id": "abc", "epochs": 4}
    returned = dict(zip(output_order, trigger.fn(*[given[n] for n in input_order]), strict=True))
    assert returned == {"status": "abc trains 4 epochs", "progress": 0.4}
    assert trigger.fn.__name__ == "handler"  # Gradio's endpoint name, as before


def test_a_name_left_out_leaves_its_component_and_an_unknown_name_is_refused():
    trigger = Recorder()
    listen(trigger, lambda: {"status": "done"}, None, {"status": "S", "timer": "T"})
    assert trigger.inputs is None
    assert trigger.fn() == ("done", gr.skip())
    listen(trigger, lambda: {"state": "typo"}, None, {"status": "S"})
    with pytest.raises(KeyError, match=r"\['state'\], which its event does not show"):
        trigger.fn()


def test_one_output_gets_its_bare_value_and_none_gets_nothing():
    trigger = Recorder()
    listen(trigger, lambda run: {"run_version": run}, {"run": "R"}, {"run_version": "V"})
    assert trigger.fn("runs/1") == "runs/1"
    listen(trigger, lambda: None, None, None)
    assert trigger.fn() is None and trigger.outputs is None


def test_names_across_tabs_are_kept_apart():
    assert prefixed("train", {"status": 1}) | prefixed("data", {"status": 2}) == {"train.status": 1, "data.status": 2}
    with pytest.raises(KeyError):
        pick({"status": 1}, "statu")


def test_a_timer_polls_by_name_without_the_progress_overlay():
    class Timer:
        tick = Recorder()

    poll(Timer, handler, {"epochs": "E", "session_id": "S"}, {"progress": "P", "status": "T"})
    assert Timer.tick.options == {"show_progress": "hidden"}
    assert Timer.tick.inputs == ["E", "S"] and Timer.tick.outputs == ["P", "T"]
    assert Timer.tick.fn(5, "abc") == (0.5, "abc trains 5 epochs")

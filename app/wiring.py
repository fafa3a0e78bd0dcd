"""Events wired by name, not by position.

A tab builder returns its components in a dict keyed by name. A handler takes its inputs as
keyword arguments named like the components it reads, and returns a dict ``{name: value}`` for the
components it updates. :func:`listen` adapts such a handler to Gradio's positional lists, so
reordering components on the page, or the keys of a handler's result, cannot shift a value into
the wrong component. Example::

    listen(start_button.click, partial(start_training, engine),
           inputs={"session_id": session, "encoder": encoder, "max_epochs": epochs},
           outputs={"status": status, "timer": timer})

    def start_training(engine, session_id, encoder, max_epochs):
        ...
        return {"status": "Run started.", "timer": gr.Timer(active=True)}

A name the handler leaves out of its result leaves that component as it is (``gr.skip()``); a
name the event does not list is a mistake and raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gradio as gr

Components = Mapping[str, Any]
"""Gradio components (or ``gr.State`` / ``gr.Timer`` / ``gr.BrowserState``) by name."""


def pick(components: Components, *names: str) -> dict[str, Any]:
    """The named components, in the order given.

    Raises:
        KeyError: A name the tab does not have.
    """
    return {name: components[name] for name in names}


def prefixed(prefix: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """The same mapping with every name written ``prefix.name``: for one event spanning several tabs."""
    return {f"{prefix}.{name}": value for name, value in values.items()}


def handler_name(fn: Callable[..., Any]) -> str:
    """The name of a handler, looking through ``functools.partial``."""
    return getattr(getattr(fn, "func", fn), "__name__", "handler")


def to_gradio(result: Mapping[str, Any] | None, names: tuple[str, ...], source: str = "handler") -> Any:
    """A handler's named result as the value(s) Gradio expects for the outputs ``names``.

    Args:
        result: ``{name: value}``; a missing name means "leave it as it is".
        names: The event's output names, in the order of its output components.
        source: The handler's name, for the error message.

    Raises:
        KeyError: The result names an output the event does not have.
    """
    result = result or {}
    unknown = sorted(set(result) - set(names))
    if unknown:
        raise KeyError(f"{source} returned {unknown}, which its event does not show; add them to its outputs.")
    values = tuple(result.get(name, gr.skip()) for name in names)
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def listen(
    trigger: Callable[..., Any],
    fn: Callable[..., Mapping[str, Any] | None],
    inputs: Components | None,
    outputs: Components | None,
    **options: Any,
) -> Any:
    """Wire ``fn`` to an event by name.

    Args:
        trigger: The event listener, e.g. ``button.click``, ``timer.tick`` or a dependency's ``.then``.
        fn: Called with one keyword argument per input name; returns ``{output name: value}``.
        inputs: The components ``fn`` reads, by its parameter names.
        outputs: The components ``fn`` may update, by the names it returns.
        **options: Passed on to the listener (e.g. ``show_progress="hidden"``).

    Returns:
        The event's dependency (for ``.then``).
    """
    in_names = tuple(inputs or {})
    out_names = tuple(outputs or {})
    name = handler_name(fn)

    def call(*values: Any) -> Any:
        return to_gradio(fn(**dict(zip(in_names, values, strict=True))), out_names, name)

    # Gradio names the API endpoint after the function, and tests find handlers by it.
    call.__name__ = call.__qualname__ = name
    call.__doc__ = getattr(fn, "__doc__", None)
    return trigger(call, list((inputs or {}).values()) or None, list((outputs or {}).values()) or None, **options)


def poll(
    timer: Any, fn: Callable[..., Mapping[str, Any] | None], inputs: Components | None, outputs: Components | None
) -> Any:
    """Wire ``fn`` to ``timer``'s tick by name, as :func:`listen` does, without the progress overlay: the
    handler polls a job while it runs (and turns the timer off when it has ended), so the page must not
    flicker at every tick.

    Returns:
        The event's dependency.
    """
    return listen(timer.tick, fn, inputs, outputs, show_progress="hidden")

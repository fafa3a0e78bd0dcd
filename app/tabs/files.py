"""Your files (a fold below the tabs): how long the session's uploads and runs are kept, a zip of all
of them, and deleting the uploads. Deleting a single run is on the Runs tab (``RunStore.delete_run``)."""

from __future__ import annotations

from functools import partial
from typing import Any

import gradio as gr

from app.cleanup import expiry_note, export_session
from app.common import plain_errors
from app.engine import AppInputError, Engine
from app.wiring import listen, pick

VIEW = ("note",)
"""What a page load fills in."""


def show_files(engine: Engine, session_id: str | None) -> dict[str, Any]:
    """How long the session's files are kept, and how much it has uploaded (of its room, if capped)."""
    note = expiry_note(engine, session_id)
    if session_id:
        used = engine.store.uploads_bytes(session_id) / 1e6
        room = engine.limits.session_mb
        note += f"\n\nYour uploads take {used:.0f} MB" + (f" of the {room:g} MB allowed." if room else ".")
    return {"note": note}


@plain_errors
def download_everything(engine: Engine, session_id: str) -> dict[str, Any]:
    """Zip the session's uploads, runs and maps for download."""
    return {"archive": str(export_session(engine.store, session_id)), **show_files(engine, session_id)}


@plain_errors
def delete_uploads(engine: Engine, session_id: str) -> dict[str, Any]:
    """Delete everything the session uploaded, and its working catalog (the runs stay).

    Raises:
        AppInputError: While a catalog check of this session is still queued or running.
    """
    check = engine.manager.latest(session_id, "catalog")
    if check is not None and check.active:
        raise AppInputError("A catalog check is still running on your uploads; wait for it, then delete them.")
    engine.store.delete_uploads(session_id)
    engine.forget_catalog(session_id)
    return {
        "status": "Your uploads and working catalog are deleted; your runs stay (delete them on the **Runs** "
        "tab). Reload the page to start afresh.",
        **show_files(engine, session_id),
    }


def build_files_panel(engine: Engine, session: gr.BrowserState) -> dict[str, Any]:
    """Lay out the "Your files" fold and wire its events; returns its components by name."""
    ui: dict[str, Any] = {"session_id": session}
    with gr.Accordion("Your files: keep or delete them", open=False, elem_id="session-files"):
        ui["note"] = gr.Markdown(elem_id="session-note")
        with gr.Row():
            ui["download"] = gr.Button("Download everything (zip)", elem_id="session-download")
            ui["delete"] = gr.Button("Delete my uploads", variant="stop", elem_id="session-delete-uploads")
        ui["archive"] = gr.File(label="Everything of this session", interactive=False, elem_id="session-archive")
        ui["status"] = gr.Markdown(elem_id="session-status")
    listen(
        ui["download"].click, partial(download_everything, engine), pick(ui, "session_id"), pick(ui, "archive", "note")
    )
    listen(ui["delete"].click, partial(delete_uploads, engine), pick(ui, "session_id"), pick(ui, "status", "note"))
    return ui

"""What one visitor, and everyone together, may ask of the app: :class:`Limits`.

Hosted mode (a public Space: 2 vCPU, 16 GB) gets caps that keep one visitor from exhausting memory,
CPU, the shared queues or the disk for everyone; on your own computer most are off. Each limit can
be set with a ``zoobot-app`` flag (``--max-run-minutes 30``) or an environment variable
(``ZOOBOT_APP_MAX_RUN_MINUTES=30``); ``0`` turns an optional one off. Every refusal says the limit
and how to run without it (:data:`LOCAL_ADVICE`).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.uploads import UploadLimits

LOCAL_ADVICE = (
    "run Zoobot App on your own computer (`pip install .` in a copy of its repository, then "
    "`zoobot-app`), where these limits are off"
)
"""How to get past a hosted limit, for the end of a refusal."""

ENV_PREFIX = "ZOOBOT_APP_"


def _limit(hosted: float | None, local: float | None, help: str, unit: str = "") -> Any:
    return field(default=None, metadata={"hosted": hosted, "local": local, "help": help, "unit": unit})


@dataclass(frozen=True)
class Limits:
    """Caps on what a browser session (a visitor) and all sessions together may use. ``None``: no cap.

    Build one with :meth:`hosted`, :meth:`local` or :meth:`from_options`; each field's default there
    depends on the mode (see the field's metadata, and ``zoobot-app --help``).
    """

    upload_mb: float | None = _limit(200, 500, "largest upload, unpacked (a zip counts as its contents)", "MB")
    upload_files: int | None = _limit(20000, 20000, "most files in one upload, unpacked")
    session_mb: float | None = _limit(1000, None, "all of one session's uploads together, unpacked", "MB")
    image_megapixels: float | None = _limit(
        4,
        100,
        "largest image (width x height), read from its header before decoding; larger images are refused one by one",
        "Mpx",
    )
    catalog_rows: int | None = _limit(20000, None, "most rows in one catalog")
    schema_kb: float | None = _limit(50, 50, "longest decision-tree (schema) text, checked before parsing", "kB")
    schema_questions: int | None = _limit(
        200, 200, "most questions in a decision tree, checked before building or drawing it"
    )
    classes: int | None = _limit(
        100, 1000, "most classes in a classification label (never more than its labelled rows either)"
    )
    max_epochs: int | None = _limit(50, None, "most epochs one run may ask for")
    run_minutes: float | None = _limit(
        60, None, "longest a run may train (it then stops and keeps its best weights)", "min"
    )
    jobs_per_session: int | None = _limit(
        3, None, "most jobs (checks, runs, maps) one session may have queued or running at once"
    )
    queued_runs: int | None = _limit(4, None, "most training runs waiting in the queue, all sessions together")
    queued_jobs: int | None = _limit(20, None, "most jobs of any kind waiting, all sessions together")
    session_hours: float | None = _limit(
        24, None, "hours after its last visit that a session's uploads and runs are deleted", "h"
    )
    cache_hours: float | None = _limit(
        6, 24, "hours Gradio keeps the copies of files it hands out or takes in (uploads, downloads, images)", "h"
    )
    cache_mb: float | None = _limit(
        5000,
        None,
        "disk Gradio's cache of those copies may take; past it the oldest go first (checked every minute)",
        "MB",
    )
    hosted_mode: bool = False

    @classmethod
    def hosted(cls, **changes: Any) -> Limits:
        """The hosted defaults (a public Space), with ``changes``."""
        return cls.from_options(True, changes, env={})

    @classmethod
    def local(cls, **changes: Any) -> Limits:
        """The defaults on one's own computer, with ``changes``."""
        return cls.from_options(False, changes, env={})

    @classmethod
    def from_options(
        cls, hosted: bool, options: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> Limits:
        """Limits for a mode: each field from ``options`` (e.g. parsed flags; ``None`` = not given), else
        from ``ZOOBOT_APP_MAX_<NAME>`` in ``env`` (default: the process environment), else the mode's
        default. A value of 0 turns the limit off.

        Raises:
            ValueError: An environment variable that is not a number, or a negative value.
        """
        options = dict(options or {})
        env = os.environ if env is None else env
        values: dict[str, Any] = {"hosted_mode": hosted}
        for f in limit_fields():
            value = options.get(f.name)
            variable = env_name(f.name)
            if value is None and env.get(variable, "").strip():
                try:
                    value = float(env[variable])
                except ValueError:
                    raise ValueError(f"{variable}={env[variable]!r} is not a number.") from None
            if value is None:
                value = f.metadata["hosted" if hosted else "local"]
            if value is not None and value < 0:
                raise ValueError(f"The limit {flag_name(f.name)} cannot be negative (0 turns it off).")
            if value is not None and value == 0:
                value = None
            if value is not None and f.type in ("int | None", int):
                value = int(value)
            values[f.name] = value
        return cls(**values)

    @property
    def upload(self) -> UploadLimits:
        """The caps one upload is checked against."""
        return UploadLimits(
            max_mb=self.upload_mb if self.upload_mb is not None else float("inf"),
            max_files=self.upload_files if self.upload_files is not None else 10**12,
            advice=self.advice,
        )

    @property
    def image_pixels(self) -> int:
        """The pixel cap per image, in pixels (the library's default when off)."""
        from zoobot.images import MAX_IMAGE_PIXELS

        return int(self.image_megapixels * 1e6) if self.image_megapixels is not None else MAX_IMAGE_PIXELS

    @property
    def schema_chars(self) -> int:
        """Longest schema text, in characters."""
        from zoobot.schemas import MAX_SCHEMA_CHARS

        return int(self.schema_kb * 1000) if self.schema_kb is not None else MAX_SCHEMA_CHARS

    @property
    def advice(self) -> str:
        """What to do about a refusal: how to run without the limits (hosted), else to change them."""
        if self.hosted_mode:
            return f"To go further, {LOCAL_ADVICE}."
        return "To go further, start zoobot-app with a higher limit (zoobot-app --help lists them)."

    def refusal(self, what: str) -> str:
        """A refusal in plain words: ``what`` was too much, then :attr:`advice`."""
        return f"{what} {self.advice}"


def limit_fields() -> list[dataclasses.Field]:
    """The fields of :class:`Limits` that are limits (not the mode)."""
    return [f for f in dataclasses.fields(Limits) if "help" in f.metadata]


def flag_name(name: str) -> str:
    """The ``zoobot-app`` flag of a limit: ``run_minutes`` -> ``--max-run-minutes``."""
    return "--" + ("" if name.startswith("max_") else "max-") + name.replace("_", "-")


def env_name(name: str) -> str:
    """The environment variable of a limit: ``run_minutes`` -> ``ZOOBOT_APP_MAX_RUN_MINUTES``."""
    return ENV_PREFIX + ("" if name.startswith("max_") else "MAX_") + name.upper()


def add_limit_flags(parser: argparse.ArgumentParser) -> None:
    """Add one ``--max-...`` flag per limit to ``parser`` (the parsed value is ``None`` when not given)."""
    group = parser.add_argument_group(
        "limits",
        "Caps per visitor and in total. Each also reads ZOOBOT_APP_MAX_<NAME> (e.g. "
        "ZOOBOT_APP_MAX_RUN_MINUTES); 0 turns a limit off. Defaults: hosted / local.",
    )
    for f in limit_fields():
        kind = int if f.type in ("int | None", int) else float
        unit = f" ({f.metadata['unit']})" if f.metadata["unit"] else ""
        defaults = " / ".join("off" if v is None else f"{v:g}" for v in (f.metadata["hosted"], f.metadata["local"]))
        group.add_argument(
            flag_name(f.name),
            dest=f.name,
            type=kind,
            default=None,
            metavar="N",
            help=f"{f.metadata['help']}{unit}; default {defaults}",
        )


def limits_table() -> str:
    """The limits as a Markdown table (flag, hosted default, local default, what it caps): for the README."""
    rows = ["| flag | hosted | local | what it caps |", "|---|---|---|---|"]
    for f in limit_fields():
        unit = f" {f.metadata['unit']}" if f.metadata["unit"] else ""
        hosted, local = ("off" if v is None else f"{v:g}{unit}" for v in (f.metadata["hosted"], f.metadata["local"]))
        rows.append(f"| `{flag_name(f.name)}` | {hosted} | {local} | {f.metadata['help']} |")
    return "\n".join(rows)

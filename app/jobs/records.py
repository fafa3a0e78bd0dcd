"""What the job manager keeps about a job: its record (:class:`Job`), what its function is given
(:class:`JobContext`), its statuses, and the errors a request about a job raises."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

JobStatus = Literal["queued", "running", "finished", "stopped", "failed", "cancelled"]
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "running")


class JobError(ValueError):
    """A request about a job that cannot be honoured (unknown id, wrong owner, already ended)."""


class JobLimitError(JobError):
    """A job refused because a session, or everyone together, has as many jobs waiting as allowed."""


@dataclass(frozen=True)
class JobContext:
    """What a running job function is given.

    Attributes:
        stop_event: Set when the user asks the job to stop; the function should end early.
        slot: Index of the lane slot the job runs in (the device index for training jobs).
        report: Call with a short line saying what the job is doing (shown while it runs).
    """

    stop_event: threading.Event
    slot: int
    report: Callable[[str], None] = lambda message: None


@dataclass
class Job:
    """One unit of background work and what is known about it.

    Attributes:
        id: Unique job id (hex string).
        kind: What the job does, e.g. ``'train'``, ``'umap'``, ``'survey'``.
        owner: Session id of the browser session that started it.
        lane: Queue the job waits in.
        status: One of ``queued``, ``running``, ``finished``, ``stopped``, ``failed``, ``cancelled``.
        run_dir: The run directory the job writes into, if any.
        result: What the job function returned (``None`` until it finishes).
        error: Plain-words error message when the job failed.
        message: The job's latest word on what it is doing.
        expected_s: How long the job is expected to take, in seconds, if known (for wait estimates).
        time_limit_s: Seconds it may run before its stop event is set, if limited.
        timed_out: Whether its time limit stopped it.
    """

    id: str
    kind: str
    owner: str
    lane: str
    fn: Callable[[JobContext], Any] = field(repr=False)
    run_dir: str | None = None
    status: JobStatus = "queued"
    result: Any = None
    error: str | None = None
    message: str = ""
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    ended_at: float | None = None
    expected_s: float | None = None
    time_limit_s: float | None = None
    timed_out: bool = False
    remaining: Callable[[], float | None] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        """Whether the job is still queued or running."""
        return self.status in ACTIVE_STATUSES

"""The job manager: long work (training, UMAP maps, the demo survey) runs in background threads.

Event handlers never do long work themselves: they submit a job and return at once; a ``gr.Timer``
then polls the job (and the progress file it writes) until it ends. Jobs wait in a queue per
*lane*: the ``'train'`` lane runs one job per device at a time, other lanes (``'explore'``,
``'data'``) have their own capacity so a UMAP map does not wait behind a long training run.

A job function receives a :class:`JobContext` with the stop event it should check
(``zoobot.runs.run_finetune`` checks it in its Lightning callback, ``zoobot.runs.RunProgress``) and
the slot (device index) it was given. What a training job writes is read back through
``zoobot.runs.RunFolder`` (see ``app.runs``).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

logger = logging.getLogger(__name__)

JobStatus = Literal["queued", "running", "finished", "stopped", "failed", "cancelled"]
ACTIVE_STATUSES: tuple[str, ...] = ("queued", "running")


class JobError(ValueError):
    """A request about a job that cannot be honoured (unknown id, wrong owner, already ended)."""


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

    @property
    def active(self) -> bool:
        """Whether the job is still queued or running."""
        return self.status in ACTIVE_STATUSES


class JobManager:
    """Queues jobs per lane and runs them in daemon threads, ``capacity[lane]`` at a time.

    Args:
        capacity: Number of jobs each lane may run at once; lanes not listed run one at a time.
            The ``'train'`` lane's capacity is the number of devices.
    """

    def __init__(self, capacity: dict[str, int] | None = None) -> None:
        self._capacity = dict(capacity or {})
        self._jobs: dict[str, Job] = {}
        self._queues: dict[str, list[str]] = {}
        self._busy_slots: dict[str, set[int]] = {}
        self._lock = threading.Lock()

    def capacity(self, lane: str) -> int:
        """How many jobs ``lane`` runs at once."""
        return max(1, self._capacity.get(lane, 1))

    def set_capacity(self, lane: str, n: int) -> None:
        """Let ``lane`` run ``n`` jobs at once (e.g. once the number of GPUs is known)."""
        with self._lock:
            self._capacity[lane] = max(1, int(n))
            self._start_waiting(lane)

    def submit(self, kind: str, owner: str, fn: Callable[[JobContext], Any], *, lane: str | None = None,
               run_dir: str | None = None) -> Job:
        """Queue ``fn`` as a new job and start it if its lane has a free slot.

        Args:
            kind: What the job does (``'train'``, ``'umap'``, ...).
            owner: Session id of the browser session starting it.
            fn: Called with a :class:`JobContext` in a background thread; its return value is kept.
            lane: Queue to wait in; defaults to ``kind``.
            run_dir: The run directory the job writes into, if any.

        Returns:
            The new job (status ``queued`` or ``running``).
        """
        job = Job(id=uuid.uuid4().hex, kind=kind, owner=owner, lane=lane or kind, fn=fn, run_dir=run_dir)
        with self._lock:
            self._jobs[job.id] = job
            self._queues.setdefault(job.lane, []).append(job.id)
            self._start_waiting(job.lane)
        return job

    def get(self, job_id: str | None, owner: str | None = None) -> Job | None:
        """The job with ``job_id``, or ``None`` if unknown (or owned by another session)."""
        job = self._jobs.get(job_id or "")
        if job is None or (owner is not None and job.owner != owner):
            return None
        return job

    def jobs_for(self, owner: str, kind: str | None = None) -> list[Job]:
        """A session's jobs, oldest first, optionally only those of one kind."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if j.owner == owner and (kind is None or j.kind == kind)]
        return sorted(jobs, key=lambda j: j.created_at)

    def latest(self, owner: str, kind: str) -> Job | None:
        """A session's most recent job of ``kind`` (what a reloaded page re-attaches to)."""
        jobs = self.jobs_for(owner, kind)
        return jobs[-1] if jobs else None

    def active_run_dirs(self) -> set[str]:
        """Run directories of jobs still queued or running (a run not listed here is not live)."""
        with self._lock:
            return {j.run_dir for j in self._jobs.values() if j.active and j.run_dir is not None}

    def queue_position(self, job_id: str) -> int | None:
        """1-based place of a queued job in its lane's queue; ``None`` when not queued."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status != "queued":
                return None
            return self._queues[job.lane].index(job_id) + 1

    def stop(self, job_id: str, owner: str | None = None) -> Job:
        """Ask a job to end: a queued job is cancelled, a running one gets its stop event set.

        Raises:
            JobError: If the job is unknown to this session or has already ended.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or (owner is not None and job.owner != owner):
                raise JobError("That job is not known to this session; reload the page to see your jobs.")
            if job.status == "queued":
                self._queues[job.lane].remove(job_id)
                job.status = "cancelled"
                job.ended_at = time.time()
            elif job.status == "running":
                job.stop_event.set()
            else:
                raise JobError(f"The job has already ended ({job.status}); there is nothing to stop.")
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until a job ends (for tests and scripts); returns the job."""
        deadline = None if timeout is None else time.monotonic() + timeout
        job = self._jobs[job_id]
        while job.active:
            if deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} still {job.status} after {timeout} s")
            time.sleep(0.02)
        return job

    def _start_waiting(self, lane: str) -> None:
        """Start queued jobs of ``lane`` while slots are free. Caller holds the lock."""
        busy = self._busy_slots.setdefault(lane, set())
        queue = self._queues.setdefault(lane, [])
        while queue and len(busy) < self.capacity(lane):
            job = self._jobs[queue.pop(0)]
            slot = min(set(range(self.capacity(lane))) - busy)
            busy.add(slot)
            job.status = "running"
            job.started_at = time.time()
            thread = threading.Thread(target=self._run, args=(job, slot), name=f"job-{job.kind}-{job.id[:8]}",
                                      daemon=True)
            thread.start()

    def _run(self, job: Job, slot: int) -> None:
        status: JobStatus
        try:
            result = job.fn(JobContext(stop_event=job.stop_event, slot=slot,
                                       report=lambda message: setattr(job, "message", message)))
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page, not kill the thread
            logger.exception("job %s (%s) failed", job.id, job.kind)
            job.error = str(exc) or type(exc).__name__
            status = "failed"
        else:
            job.result = result
            result_status = getattr(result, "status", None)
            status = "stopped" if (result_status == "stopped" or job.stop_event.is_set()) else "finished"
        with self._lock:
            job.status = status
            job.ended_at = time.time()
            self._busy_slots[job.lane].discard(slot)
            self._start_waiting(job.lane)

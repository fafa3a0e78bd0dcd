"""The job manager: queues jobs per lane, starts them in daemon threads, caps and estimates.

See :mod:`app.jobs` for how lanes, fairness, caps and time limits behave.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any

from app.jobs.records import Job, JobContext, JobError, JobLimitError, JobStatus

logger = logging.getLogger(__name__)

JOB_NICENESS = 10
"""How much lower a job thread's scheduling priority is than the server's (Linux ``nice``; the data-loading
processes and math-library threads a job starts inherit it): the page's events come first on a shared CPU."""


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
        self._durations: dict[str, deque[float]] = {}
        self._last_start: dict[tuple[str, str], float] = {}
        self._per_owner: int | None = None
        self._queued_total: int | None = None
        self._queued_per_lane: dict[str, int] = {}
        self._lock = threading.Lock()

    def set_limits(
        self, per_owner: int | None = None, queued: int | None = None, queued_per_lane: dict[str, int] | None = None
    ) -> None:
        """Cap the jobs :meth:`submit` accepts (``None``: no cap).

        Args:
            per_owner: Jobs one session may have queued or running at once, all lanes together.
            queued: Jobs waiting (not yet running) in total, every session and lane together.
            queued_per_lane: Jobs waiting in total in a lane, e.g. ``{'train': 4}``.
        """
        with self._lock:
            self._per_owner, self._queued_total = per_owner, queued
            self._queued_per_lane = dict(queued_per_lane or {})

    def capacity(self, lane: str) -> int:
        """How many jobs ``lane`` runs at once."""
        return max(1, self._capacity.get(lane, 1))

    def set_capacity(self, lane: str, n: int) -> None:
        """Let ``lane`` run ``n`` jobs at once (e.g. once the number of GPUs is known)."""
        with self._lock:
            self._capacity[lane] = max(1, int(n))
            self._start_waiting(lane)

    def submit(
        self,
        kind: str,
        owner: str,
        fn: Callable[[JobContext], Any],
        *,
        lane: str | None = None,
        run_dir: str | None = None,
        expected_s: float | None = None,
        time_limit_s: float | None = None,
        remaining: Callable[[], float | None] | None = None,
    ) -> Job:
        """Queue ``fn`` as a new job and start it if its lane has a free slot.

        Args:
            kind: What the job does (``'train'``, ``'umap'``, ...).
            owner: Session id of the browser session starting it.
            fn: Called with a :class:`JobContext` in a background thread; its return value is kept.
            lane: Queue to wait in; defaults to ``kind``.
            run_dir: The run directory the job writes into, if any.
            expected_s: How long it is expected to take (seconds), for wait estimates; default: the
                lane's recent jobs' average.
            time_limit_s: Set its stop event after this many seconds of running.
            remaining: While it runs, returns the seconds it still needs (e.g. from its progress file).

        Returns:
            The new job (status ``queued`` or ``running``).

        Raises:
            JobLimitError: The session, the lane or the whole queue already holds as many jobs as allowed.
        """
        job = Job(
            id=uuid.uuid4().hex,
            kind=kind,
            owner=owner,
            lane=lane or kind,
            fn=fn,
            run_dir=run_dir,
            expected_s=expected_s,
            time_limit_s=time_limit_s,
            remaining=remaining,
        )
        with self._lock:
            self._check_limits(job)
            self._jobs[job.id] = job
            self._queues.setdefault(job.lane, []).append(job.id)
            self._start_waiting(job.lane)
        return job

    def _check_limits(self, job: Job) -> None:
        """Refuse ``job`` if a cap is reached. Caller holds the lock."""
        active = [j for j in self._jobs.values() if j.active]
        mine = sum(j.owner == job.owner for j in active)
        if self._per_owner is not None and mine >= self._per_owner:
            raise JobLimitError(
                f"You already have {mine} jobs queued or running, the most allowed at once here; "
                "wait for one to finish, or stop one."
            )
        lane_queue = len(self._queues.get(job.lane, []))
        lane_cap = self._queued_per_lane.get(job.lane)
        free = len(self._busy_slots.get(job.lane, set())) < self.capacity(job.lane)
        if lane_cap is not None and lane_queue >= lane_cap and not free:
            what = "training runs are" if job.lane == "train" else "jobs are"
            raise JobLimitError(
                f"{lane_queue} {what} already waiting, the most allowed here; try again when the queue is shorter."
            )
        waiting = sum(len(q) for q in self._queues.values())
        if self._queued_total is not None and waiting >= self._queued_total and not free:
            raise JobLimitError(
                f"{waiting} jobs are already waiting, the most allowed here; try again in a few minutes."
            )

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

    def estimated_wait(self, job_id: str) -> float | None:
        """Seconds a queued job will likely wait before it starts; ``None`` when not queued or unknown.

        The lane's slots free up as its running jobs end (their ``remaining``, else their expected time
        less what they have run); each job ahead then takes the first free slot for its expected time:
        its own estimate, else the lane's recent average, else as long as the running jobs take in all.
        """
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job.status != "queued":
                return None
            queue = self._queues[job.lane]
            ahead = [self._jobs[i] for i in queue[: queue.index(job_id)]]
            running = [j for j in self._jobs.values() if j.lane == job.lane and j.status == "running"]
        now = time.time()
        slots, totals = [], []
        for other in running:
            left = other.remaining() if other.remaining is not None else None
            if left is None:
                expected = self._expected(other)
                if expected is None:
                    return None
                left = max(0.0, expected - (now - (other.started_at or now)))
            slots.append(max(0.0, float(left)))
            totals.append(slots[-1] + now - (other.started_at or now))
        slots += [0.0] * max(0, self.capacity(job.lane) - len(slots))
        heapq.heapify(slots)
        typical = sum(totals) / len(totals) if totals else None
        for other in ahead:
            expected = self._expected(other, typical)
            if expected is None:
                return None
            heapq.heappush(slots, heapq.heappop(slots) + expected)
        return slots[0]

    def _expected(self, job: Job, typical: float | None = None) -> float | None:
        """A job's expected duration: its own estimate, else the average of its lane's recent jobs, else
        ``typical`` (how long the jobs running now take), capped by its time limit; ``None`` if nothing
        is known yet (a time limit alone is a bound, not an estimate)."""
        recent = self._durations.get(job.lane)
        expected = job.expected_s if job.expected_s is not None else (sum(recent) / len(recent) if recent else typical)
        if expected is not None and job.time_limit_s is not None:
            expected = min(expected, job.time_limit_s)
        return expected

    def forget(self, owner: str) -> None:
        """Drop a session's ended jobs (its session expired); queued or running ones stay."""
        with self._lock:
            for job_id in [i for i, j in self._jobs.items() if j.owner == owner and not j.active]:
                del self._jobs[job_id]

    def active_owners(self) -> set[str]:
        """Sessions with a job still queued or running."""
        with self._lock:
            return {j.owner for j in self._jobs.values() if j.active}

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
        """Start queued jobs of ``lane`` while slots are free, the next being the first job of a session
        with the fewest jobs running in the lane, served longest ago. Caller holds the lock."""
        busy = self._busy_slots.setdefault(lane, set())
        queue = self._queues.setdefault(lane, [])
        while queue and len(busy) < self.capacity(lane):
            running: dict[str, int] = {}
            for other in self._jobs.values():
                if other.lane == lane and other.status == "running":
                    running[other.owner] = running.get(other.owner, 0) + 1
            owners = [self._jobs[job_id].owner for job_id in queue]
            turns = [
                (running.get(owner, 0), self._last_start.get((lane, owner), 0.0), position)
                for position, owner in enumerate(owners)
            ]
            next_id = queue[min(turns)[2]]
            queue.remove(next_id)
            job = self._jobs[next_id]
            self._last_start[(lane, job.owner)] = time.monotonic()
            slot = min(set(range(self.capacity(lane))) - busy)
            busy.add(slot)
            job.status = "running"
            job.started_at = time.time()
            thread = threading.Thread(
                target=self._run, args=(job, slot), name=f"job-{job.kind}-{job.id[:8]}", daemon=True
            )
            thread.start()

    def _run(self, job: Job, slot: int) -> None:
        status: JobStatus
        _lower_priority()
        timer = None
        if job.time_limit_s is not None:

            def time_up() -> None:
                job.timed_out = True
                job.stop_event.set()

            timer = threading.Timer(job.time_limit_s, time_up)
            timer.daemon = True
            timer.start()
        try:
            result = job.fn(
                JobContext(
                    stop_event=job.stop_event, slot=slot, report=lambda message: setattr(job, "message", message)
                )
            )
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page, not kill the thread
            job.error = self.describe_error(exc)  # an unexpected error is logged there, with its traceback
            # What the page says is the log's line too; a user's mistake is not a server error (traceback: debug).
            logger.warning("job %s (%s) failed: %s", job.id, job.kind, job.error)
            logger.debug("job %s (%s) failed", job.id, job.kind, exc_info=exc)
            status = "failed"
        else:
            job.result = result
            result_status = getattr(result, "status", None)
            status = "stopped" if (result_status == "stopped" or job.stop_event.is_set()) else "finished"
        finally:
            if timer is not None:
                timer.cancel()
        with self._lock:
            job.status = status
            job.ended_at = time.time()
            if status == "finished" and job.started_at is not None:
                self._durations.setdefault(job.lane, deque(maxlen=20)).append(job.ended_at - job.started_at)
            self._busy_slots[job.lane].discard(slot)
            self._start_waiting(job.lane)

    @staticmethod
    def describe_error(exc: BaseException) -> str:
        """What a failed job's ``error`` says: plain words (``app.errors.user_message``), no raw library text."""
        from app.errors import user_message

        return user_message(exc)


def _lower_priority() -> None:
    """Lower the calling thread's scheduling priority by :data:`JOB_NICENESS` (Linux: per thread)."""
    if not hasattr(os, "setpriority"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + JOB_NICENESS))
    except OSError as err:  # not allowed here (a sandbox): the job runs at the server's priority
        logger.debug("could not lower a job's priority: %s", err)

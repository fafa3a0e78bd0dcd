"""The job manager: long work (training, UMAP maps, the demo survey) runs in background threads.

Event handlers never do long work themselves: they submit a job and return at once; a ``gr.Timer``
then polls the job (and the progress file it writes) until it ends. Jobs wait in a queue per
*lane*: the ``'train'`` lane runs one job per device at a time, other lanes (``'explore'``,
``'data'``) have their own capacity so a UMAP map does not wait behind a long training run.

Lanes are fair: a free slot goes to the waiting job whose session has the fewest jobs running in
that lane, then to the session served longest ago, so one session's slow check does not hold
another's small one, and a session queueing many jobs takes turns with the others. Caps
(:meth:`JobManager.set_limits`) bound the jobs one session may have queued or running and the jobs
waiting in total; a job may be given a time limit, after which its stop event is set (a training
run then ends keeping its best weights). :meth:`JobManager.estimated_wait` says how long a queued
job will likely wait, from what the jobs ahead of it still have to do. Job threads run at a lower
scheduling priority than the server's (:data:`JOB_NICENESS`), so on a busy CPU the pages stay quick.

A job function receives a :class:`JobContext` with the stop event it should check
(``zoobot.runs.run_finetune`` checks it in its Lightning callback, ``zoobot.runs.RunProgress``) and
the slot (device index) it was given. What a training job writes is read back through
``zoobot.runs.RunFolder`` (see ``app.runs``).

``records.py`` holds what is kept about a job (:class:`Job`, :class:`JobContext`, the statuses, the
errors); ``manager.py`` the :class:`JobManager` that queues and runs them.
"""

from app.jobs.manager import JOB_NICENESS, JobManager
from app.jobs.records import ACTIVE_STATUSES, Job, JobContext, JobError, JobLimitError, JobStatus

__all__ = [
    "ACTIVE_STATUSES",
    "JOB_NICENESS",
    "Job",
    "JobContext",
    "JobError",
    "JobLimitError",
    "JobManager",
    "JobStatus",
]

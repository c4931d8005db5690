"""Who holds an unfinished training job (or evaluation run), and when nobody does.

Every queued or running job names the process that holds it (``TrainingJob.owner``:
host, pid, a random token) and when that process last said so
(``heartbeat_at``, refreshed every ``interval`` seconds while it holds jobs). A job
is *orphaned* when its owner is gone: the owner's host is this one and no process
has its pid, or its heartbeat is older than ``stale_after`` (3 × ``interval``), or it
is marked as this process's own while this process does not hold it. A job whose
owner handed it back on a clean stop (``owner`` is ``None``) waits for the bot's
next start, which takes it over.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from domain.models import JobOwner, JobStatus, TrainingJob
from domain.ports import ProcessProbe
from domain.services.training_run import ended

INTERRUPTED_RUNNING = "Interrupted: the process that ran it stopped; start it again."
INTERRUPTED_QUEUED = (
    "Interrupted: the process that queued it stopped before it began; start it again."
)
STALE_HEARTBEATS = 3  # missed heartbeats after which an owner counts as gone


class Ownership:
    """This process's identity, and the rule that tells whether a job is orphaned."""

    def __init__(
        self, owner: JobOwner, *, interval: float, processes: ProcessProbe | None = None
    ) -> None:
        if interval <= 0:
            raise ValueError("the heartbeat interval must be positive")
        self.owner = owner
        self.interval = interval
        self.stale_after = timedelta(seconds=interval * STALE_HEARTBEATS)
        self._processes = processes

    def claimed(self, job: TrainingJob, at: datetime) -> TrainingJob:
        """``job`` held by this process, with a heartbeat at ``at``."""
        return dataclasses.replace(job, owner=self.owner, heartbeat_at=at)

    def orphaned(self, job: TrainingJob, *, now: datetime, held: bool, adopting: bool) -> bool:
        """Whether nobody holds the unfinished ``job`` any more.

        ``held``: this process runs or queues it. ``adopting``: this process takes
        handed-back jobs over (the bot at its start); others leave them waiting for it.
        """
        if held or job.status.finished:
            return False
        if job.owner is None:
            return adopting
        return self.gone(job.owner, job.heartbeat_at, now=now)

    def gone(self, owner: JobOwner, heartbeat_at: datetime | None, *, now: datetime) -> bool:
        """Whether ``owner`` stopped, for something this process does not hold."""
        if owner.token == self.owner.token:
            return True  # marked as ours, but this process does not hold it
        if self._processes is not None and self._processes.alive(owner) is False:
            return True
        return heartbeat_at is None or now - heartbeat_at > self.stale_after


def interrupted(job: TrainingJob, *, at: datetime) -> TrainingJob:
    """``job`` failed because the process that held it stopped."""
    reason = INTERRUPTED_QUEUED if job.status is JobStatus.QUEUED else INTERRUPTED_RUNNING
    if job.external_id:
        reason += f" The provider's job {job.external_id} was not cancelled."
    return ended(job, JobStatus.FAILED, at=at, error=reason)

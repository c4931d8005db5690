"""Training jobs: start on a frozen snapshot, run in the background, survive restarts.

A job is stored ``queued`` with the examples it trains on, then run by an asyncio
task this service owns: ``running`` → ``succeeded`` (a new model version,
activated unless ``activate=false``) | ``failed`` | ``cancelled``. At most
``max_concurrent_jobs`` jobs run per backend; the others wait, first come first
served. Every persisted change is passed to the listeners given to :meth:`watch`.

The process that queues or runs a job owns it (``TrainingJob.owner``) and refreshes
its heartbeat every ``heartbeat_interval`` seconds; listing, showing or starting jobs
first deals with orphaned ones (``domain.services.training_owner``). A service that
called :meth:`recover` (the bot at its start) takes them over — queued ones are
queued here, running ones resumed — and keeps doing so; any other (a one-shot
command) marks them failed, interrupted. On :meth:`aclose` the bot hands its jobs
back for its next start, a one-shot command fails them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import structlog

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.ids import by_id_or_prefix
from domain.models import (
    Actor,
    JobOwner,
    JobStatus,
    TrainingJob,
    TrainingOption,
    new_id,
    utcnow,
)
from domain.ports import ProcessProbe, TrainingBackend, UnitOfWorkFactory
from domain.services.models import ModelService
from domain.services.training_owner import (
    INTERRUPTED_QUEUED,
    INTERRUPTED_RUNNING,
    Ownership,
    interrupted,
)
from domain.services.training_run import UNEXPECTED_FAILURE, JobRun, ended
from domain.training_options import backend_options, validate_options

log = structlog.get_logger()

JobListener = Callable[[TrainingJob], Awaitable[None]]

SELECTED_DATASET = "selected_dataset"
REPORT_KEY = "job_report:"  # + job id: where a front end shows the job (JSON object)
NOT_RESUMABLE = (
    "The bot restarted while this job was running and its backend cannot resume it; start it again."
)
BACKEND_GONE = (
    "The bot restarted and this job's training backend is not available any more; start it again."
)
__all__ = [
    "BACKEND_GONE",
    "INTERRUPTED_QUEUED",
    "INTERRUPTED_RUNNING",
    "NOT_RESUMABLE",
    "SELECTED_DATASET",
    "UNEXPECTED_FAILURE",
    "JobListener",
    "TrainingService",
]


@dataclass(eq=False)
class _Held:
    """A job this process holds: queued here, or running in ``task``."""

    job_id: str
    backend: str
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set once it is let go
    task: asyncio.Task[None] | None = None
    started: bool = False  # its task has begun
    run: JobRun | None = None  # while the backend trains it
    cancelled_by: Actor | None = None


class TrainingService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        backends: Mapping[str, TrainingBackend],
        models: ModelService,
        default_backend: str = "local",
        max_concurrent_jobs: int = 1,
        progress_interval: float = 0.5,
        owner: JobOwner | None = None,
        processes: ProcessProbe | None = None,
        heartbeat_interval: float = 5.0,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``owner``: this process (default: an unnamed one with a fresh token);
        ``processes`` tells when another owner on this host is gone (without it, only
        stale heartbeats do); ``sleep`` waits between two heartbeats."""
        if max_concurrent_jobs < 1:
            raise ValueError("max_concurrent_jobs must be at least 1")
        self._ownership = Ownership(
            owner or JobOwner(host="", pid=0, token=new_id()),
            interval=heartbeat_interval,
            processes=processes,
        )
        self._uow = uow
        self._backends = dict(backends)
        self._models = models
        self._default_backend = default_backend
        self._limit = max_concurrent_jobs
        self._interval = progress_interval
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._listeners: list[JobListener] = []
        self._held: dict[str, _Held] = {}  # job id -> the job this process holds
        self._waiting: dict[str, deque[str]] = {}  # backend -> queued job ids, FIFO
        self._adopting = False  # takes orphaned jobs over (after recover())
        self._keeper: asyncio.Task[None] | None = None  # heartbeats, adoption
        self._closed = False

    @property
    def owner(self) -> JobOwner:
        """This process, as its jobs name it."""
        return self._ownership.owner

    @property
    def backends(self) -> list[str]:
        return sorted(self._backends)

    def options(self, backend: str) -> tuple[TrainingOption, ...]:
        """What ``start(options=...)`` accepts for ``backend``."""
        return backend_options(self._backend(backend))

    # ----------------------------------------------------------------- queries

    async def get(self, job_id: str) -> TrainingJob:
        """The job with this id, or with the only id that starts with it (``d48754ef``)."""
        await self._sweep()
        return await self._load(job_id)

    async def _load(self, job_id: str) -> TrainingJob:
        async with self._uow() as uow:
            return await by_id_or_prefix(
                job_id.strip(),
                get=uow.jobs.get,
                ids_starting=lambda prefix: uow.jobs.with_prefix(prefix, limit=2),
                what="training job",
            )

    async def all(self, limit: int = 20) -> list[TrainingJob]:
        await self._sweep()
        async with self._uow() as uow:
            return await uow.jobs.all(limit=limit)

    # ----------------------------------------------------------------- reports

    async def remember_report(self, job_id: str, where: Mapping[str, str]) -> None:
        """Remember where a front end shows this job (a chat message, say), so that after
        a restart it can go on showing it. Opaque here: string keys and values."""
        value = json.dumps(dict(where), sort_keys=True)
        async with self._uow() as uow:
            await uow.state.set(REPORT_KEY + job_id, value)
            await uow.commit()

    async def forget_report(self, job_id: str) -> None:
        """The front end is done with the job (it announced the end)."""
        async with self._uow() as uow:
            await uow.state.set(REPORT_KEY + job_id, None)
            await uow.commit()

    async def reports(self, *, limit: int = 50) -> list[tuple[TrainingJob, dict[str, str]]]:
        """The newest ``limit`` jobs that still have a remembered report, oldest first —
        unfinished ones, and finished ones whose end was never announced."""
        found: list[tuple[TrainingJob, dict[str, str]]] = []
        async with self._uow() as uow:
            for job in await uow.jobs.all(limit=limit):
                raw = await uow.state.get(REPORT_KEY + job.id)
                if raw is None:
                    continue
                try:
                    where = json.loads(raw)
                except ValueError:
                    log.warning("job_report_unreadable", job_id=job.id)
                    continue
                if isinstance(where, dict):
                    found.append((job, {str(k): str(v) for k, v in where.items()}))
        found.reverse()
        return found

    async def wait(self, job_id: str) -> TrainingJob:
        """The job once it has finished (or as stored, if this process does not run it)."""
        held = self._held.get(job_id)
        if held is not None:
            await held.done.wait()
        return await self._load(job_id)

    def watch(self, listener: JobListener) -> Callable[[], None]:
        """Await ``listener(job)`` on every persisted change; returns the unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    # ----------------------------------------------------------------- commands

    async def start(
        self,
        actor: Actor,
        *,
        dataset: str | None = None,
        backend: str | None = None,
        options: Mapping[str, str] | None = None,
    ) -> TrainingJob:
        """Queue a job on a frozen snapshot of ``dataset`` (default: the selected one)."""
        _require_trainer(actor)
        if self._closed:
            raise Conflict("The bot is shutting down; start the job again once it is back.")
        backend_name = (backend or self._default_backend).strip().casefold()
        clean = validate_options(options, self.options(backend_name), backend=backend_name)
        await self._sweep()  # an orphan frees its slot before this one is queued
        base = await self._models.active()
        async with self._uow() as uow:
            name = dataset.strip().casefold() if dataset else await uow.state.get(SELECTED_DATASET)
            if not name:
                raise InvalidInput(
                    "No dataset is selected: select one first, or name the dataset to train on."
                )
            found = await uow.datasets.get(name)
            if found is None:
                raise NotFound(f"There is no dataset named {name[:64]!r}.")
            snapshot = await uow.datasets.examples(name)
            if not snapshot:
                raise InvalidInput(
                    f"The dataset {name!r} has no examples yet; add or import some first."
                )
            now = self._clock()
            job = TrainingJob(
                id=new_id(),
                dataset=name,
                backend=backend_name,
                status=JobStatus.QUEUED,
                created_by=actor,
                created_at=now,
                example_count=len(snapshot),
                options=clean,
                message="waiting for its turn",
                base_model_version=base.name,
                owner=self.owner,
                heartbeat_at=now,
            )
            await uow.jobs.add(job, snapshot)
            await uow.commit()
        log.info("training_job_queued", job_id=job.id, backend=backend_name, examples=len(snapshot))
        await self._notify(job)
        self._enqueue(job)
        return job

    async def cancel(self, job_id: str, actor: Actor) -> TrainingJob:
        """Cancel a queued or running job; ``Conflict`` when it has already finished."""
        _require_trainer(actor)
        job = await self.get(job_id)
        job_id = job.id  # the whole id, when a prefix was given
        if job.status.finished:
            raise Conflict(f"The training job has already finished ({job.status.value}).")
        held = self._held.get(job_id)
        task = held.task if held is not None else None
        if held is not None and task is not None:
            if held.run is None or not held.run.finishing:
                held.cancelled_by = actor
                if held.started:  # else it sees the request when it starts
                    task.cancel()
            await asyncio.wait({task})
            job = await self._load(job_id)
            if job.status is not JobStatus.CANCELLED:  # it was already finishing
                raise Conflict(f"The training job has already finished ({job.status.value}).")
            return job
        waiting = self._waiting.get(job.backend)
        if waiting is not None and job_id in waiting:
            waiting.remove(job_id)
        cancelled = await self._finish(
            job, JobStatus.CANCELLED, message=f"cancelled by {actor.name}", cancelled=True
        )
        self._release(job_id)
        return cancelled

    async def recover(self) -> list[TrainingJob]:
        """At the bot's start: take over orphaned jobs — queue the queued ones here,
        resume the running ones, fail those that cannot go on — and keep doing so
        for jobs orphaned later, every heartbeat. Returns the jobs it took over."""
        self._adopting = True
        touched = await self._sweep()
        self._ensure_keeper()
        return touched

    async def aclose(self) -> None:
        """Stop the tasks. The bot hands its unfinished jobs back (its next start, or
        another bot, takes them over); a one-shot command fails them (interrupted)."""
        self._closed = True
        held = list(self._held)
        keeper, self._keeper = self._keeper, None
        tasks = [h.task for h in self._held.values() if h.task is not None]
        for task in [*tasks, *([keeper] if keeper else [])]:
            task.cancel()
        await asyncio.gather(*tasks, *([keeper] if keeper else []), return_exceptions=True)
        for job in self._held.values():
            job.done.set()  # nobody waits for a job this process no longer runs
        self._held.clear()
        if held:
            try:
                await self._let_go(held)
            except Exception:
                log.exception("training_jobs_not_handed_back", jobs=len(held))

    # ----------------------------------------------------------------- ownership

    async def _let_go(self, held: list[str]) -> None:
        token = self.owner.token
        if self._adopting:
            async with self._uow() as uow:
                count = await uow.jobs.release(token)
                await uow.commit()
            log.info("training_jobs_handed_back", count=count)
            return
        for job_id in held:
            async with self._uow() as uow:
                job = await uow.jobs.get(job_id)
            if job is None or job.status.finished:
                continue
            if await self._take_over(interrupted(job, at=self._clock()), previous=token):
                log.info("training_job_interrupted_at_exit", job_id=job_id)

    async def _sweep(self) -> list[TrainingJob]:
        """Deal with the jobs nobody holds any more; the jobs changed."""
        if self._closed:
            return []  # a stopped process takes nothing over
        async with self._uow() as uow:
            unfinished = await uow.jobs.unfinished()
        now = self._clock()
        touched: list[TrainingJob] = []
        for job in unfinished:
            held = job.id in self._held
            if not self._ownership.orphaned(job, now=now, held=held, adopting=self._adopting):
                continue
            changed = await (self._adopt(job, now) if self._adopting else self._interrupt(job))
            if changed is not None:
                touched.append(changed)
                log.info(
                    "training_job_recovered",
                    job_id=job.id,
                    status=changed.status.value,
                    previous_owner=job.owner.pid if job.owner else None,
                )
        return touched

    async def _adopt(self, job: TrainingJob, now: datetime) -> TrainingJob | None:
        previous = job.owner.token if job.owner else None
        backend = self._backends.get(job.backend)
        resumable = (
            job.status is JobStatus.RUNNING and backend is not None and backend.supports_resume
        )
        if (job.status is JobStatus.QUEUED and backend is not None) or resumable:
            claimed = self._ownership.claimed(job, now)
            if not await self._take_over(claimed, previous=previous):
                return None  # another process was quicker
            if claimed.status is JobStatus.QUEUED:
                self._enqueue(claimed)
            else:
                self._launch(job.backend, job.id, resume=True)
            return claimed
        reason = BACKEND_GONE if job.status is JobStatus.QUEUED else NOT_RESUMABLE
        final = ended(job, JobStatus.FAILED, at=now, error=reason)
        return final if await self._take_over(final, previous=previous) else None

    async def _interrupt(self, job: TrainingJob) -> TrainingJob | None:
        final = interrupted(job, at=self._clock())
        previous = job.owner.token if job.owner else None
        return final if await self._take_over(final, previous=previous) else None

    async def _take_over(self, job: TrainingJob, *, previous: str | None) -> bool:
        """Store ``job`` if its stored owner is still ``previous``; tell the listeners."""
        async with self._uow() as uow:
            stored = await uow.jobs.take_over(job, owner_token=previous)
            await uow.commit()
        if stored:
            await self._notify(job)
        return stored

    def _ensure_keeper(self) -> None:
        if self._keeper is None and not self._closed:
            self._keeper = asyncio.create_task(self._keep(), name="training-keeper")

    async def _keep(self) -> None:
        """Every heartbeat: say this process still holds its jobs; adopt orphans."""
        while True:
            await self._sleep(self._ownership.interval)
            try:
                if self._held:
                    async with self._uow() as uow:
                        await uow.jobs.beat(self.owner.token, self._clock())
                        await uow.commit()
                if self._adopting:
                    await self._sweep()
            except Exception:
                log.exception("training_heartbeat_failed")

    # ----------------------------------------------------------------- scheduling

    def _backend(self, name: str) -> TrainingBackend:
        backend = self._backends.get(name)
        if backend is None:
            known = ", ".join(self.backends) or "none"
            raise InvalidInput(
                f"There is no training backend named {name[:40]!r}; available: {known}."
            )
        return backend

    def _enqueue(self, job: TrainingJob) -> None:
        self._ensure_keeper()
        self._held.setdefault(job.id, _Held(job.id, job.backend))
        self._waiting.setdefault(job.backend, deque()).append(job.id)
        self._pump(job.backend)

    def _pump(self, backend: str) -> None:
        waiting = self._waiting.get(backend)
        while waiting and self._running(backend) < self._limit and not self._closed:
            self._launch(backend, waiting.popleft(), resume=False)

    def _running(self, backend: str) -> int:
        return sum(h.task is not None and h.backend == backend for h in self._held.values())

    def _launch(self, backend: str, job_id: str, *, resume: bool) -> None:
        held = self._held.setdefault(job_id, _Held(job_id, backend))
        held.task = asyncio.create_task(self._run(held, resume=resume), name=f"training-{job_id}")

    def _release(self, job_id: str) -> None:
        held = self._held.pop(job_id, None)
        if held is not None:
            held.done.set()

    # ----------------------------------------------------------------- running

    async def _run(self, held: _Held, *, resume: bool) -> None:
        held.started = True
        job_id = held.job_id
        with structlog.contextvars.bound_contextvars(job_id=job_id):
            job: TrainingJob | None = None
            try:
                job = await self._load(job_id)
                if job.status.finished:  # e.g. cancelled while it waited
                    return
                by = held.cancelled_by
                if by is not None:  # cancelled before its task began
                    message = f"cancelled by {by.name}"
                    await self._finish(job, JobStatus.CANCELLED, message=message, cancelled=True)
                    return
                backend = self._backends.get(job.backend)
                if backend is None:
                    await self._finish(job, JobStatus.FAILED, error=BACKEND_GONE)
                    return
                run = JobRun(
                    job,
                    backend=backend,
                    models=self._models,
                    uow=self._uow,
                    save=self._save,
                    clock=self._clock,
                    monotonic=self._monotonic,
                    progress_interval=self._interval,
                    cancel_requested=lambda: held.cancelled_by is not None,
                )
                held.run = run
                await run.execute(resume=resume)
            except asyncio.CancelledError:
                by = held.cancelled_by
                if by is None:
                    log.info("training_job_interrupted")
                    raise  # shutting down: stays as stored, recovered at the next start
                current = asyncio.current_task()
                if current is not None:
                    current.uncancel()
                active = held.run
                latest = active.job if active is not None else (job or await self._load(job_id))
                if not latest.status.finished:  # a cancel racing the end changes nothing
                    message = f"cancelled by {by.name}"
                    await self._finish(latest, JobStatus.CANCELLED, message=message, cancelled=True)
                    log.info("training_job_cancelled")
            finally:
                self._release(job_id)
                self._pump(held.backend)

    async def _finish(
        self,
        job: TrainingJob,
        status: JobStatus,
        *,
        message: str | None = None,
        error: str | None = None,
        cancelled: bool = False,
    ) -> TrainingJob:
        final = ended(
            job, status, at=self._clock(), message=message, error=error, cancelled=cancelled
        )
        await self._save(final)
        return final

    async def _save(self, job: TrainingJob) -> None:
        """Persist a change and tell the listeners; an unfinished job is held here."""
        if not job.status.finished:
            job = self._ownership.claimed(job, self._clock())
        async with self._uow() as uow:
            await uow.jobs.update(job)
            await uow.commit()
        await self._notify(job)

    async def _notify(self, job: TrainingJob) -> None:
        for listener in list(self._listeners):
            try:
                await listener(job)
            except Exception:
                log.exception("training_listener_failed", job_id=job.id)


def _require_trainer(actor: Actor) -> None:
    if not actor.is_trainer:
        raise PermissionDenied("Only trainers can start or cancel training jobs.")

"""One training job's execution: the backend call, its progress, and what it produced.

:class:`JobRun` is created by :class:`~domain.services.training.TrainingService`
inside the job's task; it keeps the newest state of the job in ``job`` and hands
every state worth storing to ``save`` (which persists it and tells the listeners).
The backend reports through :class:`RunReporter` (a ``domain.ports.JobReporter``):
progress, the provider's job id (stored at once, for ``resume``), and whether a
cancellation came from a trainer or from the process shutting down.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from datetime import datetime

import structlog

from domain.errors import AlreadyExists, Cancelled, DomainError, NotFound, TrainingFailed
from domain.models import JobStatus, ModelVersion, TrainingJob, TrainingOutcome
from domain.ports import TrainingBackend, UnitOfWorkFactory
from domain.services.models import ModelService, version_name
from domain.training_options import activates

log = structlog.get_logger()

SaveJob = Callable[[TrainingJob], Awaitable[None]]

UNEXPECTED_FAILURE = (
    "Training failed because of an unexpected error; the details are in the bot's log."
)
MAX_MESSAGE_CHARS = 300


def ended(
    job: TrainingJob,
    status: JobStatus,
    *,
    at: datetime,
    message: str | None = None,
    error: str | None = None,
    model_version: str | None = None,
    cancelled: bool = False,
) -> TrainingJob:
    """``job`` in its final ``status``; progress is kept (1.0 on success)."""
    return dataclasses.replace(
        job,
        status=status,
        progress=1.0 if status is JobStatus.SUCCEEDED else job.progress,
        message=(status.value if message is None else message)[:MAX_MESSAGE_CHARS],
        error=error,
        finished_at=at,
        model_version=model_version,
        cancel_requested=job.cancel_requested or cancelled,
    )


class JobRun:
    def __init__(
        self,
        job: TrainingJob,
        *,
        backend: TrainingBackend,
        models: ModelService,
        uow: UnitOfWorkFactory,
        save: SaveJob,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float],
        progress_interval: float,
        cancel_requested: Callable[[], bool] = lambda: False,
    ) -> None:
        self.job = job  # the newest state, stored or not
        self.reporter = RunReporter(self, cancel_requested)
        self._backend = backend
        self._models = models
        self._uow = uow
        self._save_job = save
        self._clock = clock
        self._monotonic = monotonic
        self._interval = progress_interval
        self._last_write = -float("inf")
        self.finishing = False  # past the point where cancelling can still stop it

    async def execute(self, *, resume: bool) -> None:
        """Run the job to its end; every failure ends in a stored state, never raised.

        ``asyncio.CancelledError`` is the exception: it propagates to the caller.
        """
        try:
            if not resume:
                await self._save(
                    dataclasses.replace(
                        self.job,
                        status=JobStatus.RUNNING,
                        started_at=self._clock(),
                        message="started",
                    )
                )
            base = await self._base()
            async with self._uow() as uow:
                examples = await uow.jobs.snapshot(self.job.id)
            log.info("training_job_started", backend=self._backend.name, resume=resume)
            train = self._backend.resume if resume else self._backend.train
            outcome = await train(self.job, examples, base=base, report=self.reporter)
            self.finishing = True
            name = await self._register(outcome)
        except Cancelled as exc:
            await self.finish(JobStatus.CANCELLED, message=exc.user_message)
            return
        except DomainError as exc:
            log.warning("training_job_failed", error_key=exc.key)
            await self.finish(JobStatus.FAILED, error=exc.user_message)
            return
        except Exception:
            log.exception("training_job_crashed")
            await self.finish(JobStatus.FAILED, error=UNEXPECTED_FAILURE)
            return
        activated = activates(self.job.options)
        message = f"model version {name} is ready" + (" and active" if activated else "")
        await self.finish(JobStatus.SUCCEEDED, message=message, model_version=name)
        log.info("training_job_succeeded", model_version=name, activated=activated)

    async def finish(
        self,
        status: JobStatus,
        *,
        message: str | None = None,
        error: str | None = None,
        model_version: str | None = None,
        cancelled: bool = False,
    ) -> None:
        self.finishing = True
        final = ended(
            self.job,
            status,
            at=self._clock(),
            message=message,
            error=error,
            model_version=model_version,
            cancelled=cancelled,
        )
        await self._save(final)

    async def _save(self, job: TrainingJob) -> None:
        self.job = job
        await self._save_job(job)

    async def record_external_id(self, external_id: str) -> None:
        """The provider's id of the job, stored at once (``resume`` needs it)."""
        self.job = dataclasses.replace(self.job, external_id=external_id[:MAX_MESSAGE_CHARS])
        self._last_write = self._monotonic()
        await self._save(self.job)
        log.info("training_job_external_id_recorded", external_id=self.job.external_id)

    async def report(self, fraction: float, message: str) -> None:
        """The backend's progress: clamped, never backwards, stored at a bounded rate."""
        progress = max(self.job.progress, min(1.0, max(0.0, float(fraction))))
        self.job = dataclasses.replace(
            self.job, progress=progress, message=message[:MAX_MESSAGE_CHARS]
        )
        now = self._monotonic()
        if progress >= 1.0 or now - self._last_write >= self._interval:
            self._last_write = now
            await self._save(self.job)

    async def _base(self) -> ModelVersion:
        name = self.job.base_model_version
        if not name:
            return await self._models.active()
        try:
            return await self._models.get(name)
        except NotFound:
            raise TrainingFailed(
                f"The model version {name!r} this job trains from no longer exists."
            ) from None

    async def _register(self, outcome: TrainingOutcome) -> str:
        """The outcome as a model version (activated unless ``activate=false``)."""
        job = self.job
        name = version_name(outcome.llm_model, outcome.memory)
        version = ModelVersion(
            name=name,
            llm_model=outcome.llm_model,
            memory=outcome.memory,
            created_at=self._clock(),
            job_id=job.id,
            notes=outcome.notes or f"trained on {job.dataset} ({job.example_count} examples)",
        )
        try:
            await self._models.register(version)
        except AlreadyExists:  # the same model again (e.g. no memory): reuse it
            existing = await self._models.get(name)
            if (existing.llm_model, existing.memory) != (outcome.llm_model, outcome.memory):
                raise
        if activates(job.options):
            await self._models.activate(name, job.created_by)
        return name


class RunReporter:
    """The ``JobReporter`` a backend gets (see ``domain.ports.JobReporter``)."""

    def __init__(self, run: JobRun, cancel_requested: Callable[[], bool]) -> None:
        self._run = run
        self._cancel_requested = cancel_requested

    async def __call__(self, fraction: float, message: str) -> None:
        await self._run.report(fraction, message)

    async def record_external_id(self, external_id: str) -> None:
        await self._run.record_external_id(external_id)

    @property
    def cancel_requested(self) -> bool:
        return self._cancel_requested()

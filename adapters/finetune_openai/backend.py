"""The ``openai`` training backend: fine-tuning jobs at an OpenAI-compatible provider.

A job's snapshot is written as chat JSONL (``method=sft``) or preference JSONL
(``method=dpo``), uploaded (``files.create``, purpose ``fine-tune``) and handed to
``fine_tuning.jobs.create``. The provider's job id is stored on the training job
at once (``report.record_external_id``), then the job is polled with a bounded
exponential backoff and its events are relayed as progress. Success gives the
fine-tuned model id, which the training service registers as a model version.

After a restart :meth:`resume` polls the stored provider job again (nothing is
uploaded twice). A trainer's cancel cancels the provider's job; a shutdown leaves
it running so that it can be resumed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import openai
import structlog
from openai.types.fine_tuning import FineTuningJob, FineTuningJobEvent

from adapters.finetune_openai.errors import Step, is_transient, summarise, to_domain_error
from adapters.finetune_openai.options import (
    OPTIONS,
    FineTuneRequest,
    parse_request,
    training_file,
)
from adapters.finetune_openai.progress import (
    CREATING,
    STATUS_MESSAGES,
    UPLOADING,
    ProviderProgress,
    event_message,
)
from domain.errors import Cancelled, TrainingFailed
from domain.models import Example, ModelVersion, TrainingJob, TrainingOption, TrainingOutcome
from domain.ports import JobReporter

logger = structlog.get_logger()

JOB_TAG = "trainerbot_job_id"  # metadata on the provider's job: finds it without its id
DEFAULT_CONNECT_TIMEOUT = 5.0
CANCEL_TIMEOUT = 10.0
EVENTS_PER_POLL = 50


class OpenAIFineTuningBackend:
    """Implements ``domain.ports.TrainingBackend`` with ``openai.AsyncOpenAI``.

    ``timeout`` bounds each request (connect, read, write); ``max_retries`` retries
    transient failures inside one request; ``max_poll_failures`` polls in a row may
    fail transiently (network, 429, 5xx) before the job is given up. Polls start
    every ``poll_interval`` seconds and back off up to ``max_poll_interval`` while
    nothing changes (``sleep`` waits between polls; tests record it).
    """

    name = "openai"
    supports_resume = True
    options: tuple[TrainingOption, ...] = OPTIONS

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        base_model: str | None = None,
        poll_interval: float = 10.0,
        max_poll_interval: float = 120.0,
        timeout: float = 60.0,
        max_retries: int = 2,
        max_poll_failures: int = 10,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if poll_interval <= 0 or max_poll_interval < poll_interval:
            raise ValueError("need 0 < poll_interval <= max_poll_interval")
        self._base_model = base_model or None
        self._poll_interval = poll_interval
        self._max_poll_interval = max_poll_interval
        self._max_poll_failures = max_poll_failures
        self._sleep = sleep
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",
            timeout=openai.Timeout(timeout, connect=min(DEFAULT_CONNECT_TIMEOUT, timeout)),
            max_retries=max_retries,
        )

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: JobReporter,
    ) -> TrainingOutcome:
        log = logger.bind(job_id=job.id, backend=self.name)
        request = parse_request(job.options, default_model=self._base_model or base.llm_model)
        export = await asyncio.to_thread(training_file, request.method, examples)
        external_id: str | None = None
        creating = False
        try:
            await report(UPLOADING, f"Uploading {export.count} {request.method} records")
            file_id = await self._upload(job, export.data, request)
            log.info("fine_tuning_file_uploaded", bytes=len(export.data), records=export.count)
            await report(CREATING, "Training file uploaded; creating the fine-tuning job")
            creating = True
            remote = await self._create(job, request, file_id)
            external_id = remote.id
            await report.record_external_id(remote.id)
            log.info(
                "fine_tuning_job_created",
                external_id=remote.id,
                model=request.base_model,
                method=request.method,
            )
            return await self._follow(job, remote.id, report)
        except asyncio.CancelledError:
            if report.cancel_requested and creating:
                await self._cancel_remote(job, external_id)
            raise

    async def resume(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: JobReporter,
    ) -> TrainingOutcome:
        """Poll the stored provider job; a job that never got one starts from the upload."""
        log = logger.bind(job_id=job.id, backend=self.name)
        external_id = job.external_id
        try:
            if external_id is None:
                external_id = await self._find(job)
                if external_id is None:
                    log.info("fine_tuning_resume_from_start")
                    return await self.train(job, examples, base=base, report=report)
                await report.record_external_id(external_id)
            log.info("fine_tuning_resumed", external_id=external_id)
            return await self._follow(job, external_id, report)
        except asyncio.CancelledError:
            if report.cancel_requested and external_id is not None:
                await self._cancel_remote(job, external_id)
            raise

    async def aclose(self) -> None:
        await self._client.close()

    # ------------------------------------------------------------------ provider calls

    async def _upload(self, job: TrainingJob, data: bytes, request: FineTuneRequest) -> str:
        filename = f"trainerbot-{job.id[:12]}-{request.method}.jsonl"
        try:
            uploaded = await self._client.files.create(
                file=(filename, data, "application/jsonl"), purpose="fine-tune"
            )
        except openai.OpenAIError as exc:
            raise self._failed(exc, job, Step.UPLOAD) from exc
        return uploaded.id

    async def _create(
        self, job: TrainingJob, request: FineTuneRequest, file_id: str
    ) -> FineTuningJob:
        try:
            return await self._client.fine_tuning.jobs.create(
                model=request.base_model,
                training_file=file_id,
                method=request.method_param(),  # type: ignore[arg-type]
                suffix=request.suffix if request.suffix is not None else openai.omit,
                metadata={JOB_TAG: job.id},
            )
        except openai.OpenAIError as exc:
            raise self._failed(exc, job, Step.CREATE, model=request.base_model) from exc

    async def _find(self, job: TrainingJob) -> str | None:
        """The provider's job tagged with ``job``'s id (created, but its id not stored)."""
        try:
            page = await self._client.fine_tuning.jobs.list(metadata={JOB_TAG: job.id}, limit=5)
        except openai.APIStatusError as exc:
            if exc.status_code not in (400, 404, 405, 422):
                raise self._failed(exc, job, Step.POLL) from exc
            logger.info("fine_tuning_job_lookup_unsupported", job_id=job.id, status=exc.status_code)
            return None  # a provider that cannot list jobs by metadata
        except openai.OpenAIError as exc:
            raise self._failed(exc, job, Step.POLL) from exc
        tagged = [r for r in page.data if (r.metadata or {}).get(JOB_TAG) == job.id]
        return tagged[0].id if tagged else None

    async def _cancel_remote(self, job: TrainingJob, external_id: str | None) -> None:
        """Best effort, bounded: a trainer cancelled the job, so stop the provider's too."""
        log = logger.bind(job_id=job.id, backend=self.name)
        client = self._client.with_options(timeout=CANCEL_TIMEOUT, max_retries=1)
        try:
            target = external_id or await self._find(job)
            if target is None:
                return
            await client.fine_tuning.jobs.cancel(target)
            log.info("fine_tuning_job_cancel_sent", external_id=target)
        except Exception as exc:  # the job ends cancelled here whatever the provider says
            log.warning(
                "fine_tuning_job_cancel_failed", external_id=external_id, error=type(exc).__name__
            )

    # ------------------------------------------------------------------ polling

    async def _follow(
        self, job: TrainingJob, external_id: str, report: JobReporter
    ) -> TrainingOutcome:
        log = logger.bind(job_id=job.id, backend=self.name, external_id=external_id)
        progress = ProviderProgress()
        delay = self._poll_interval
        failures = 0
        last_status: str | None = None
        started = time.perf_counter()
        while True:
            try:
                remote = await self._client.fine_tuning.jobs.retrieve(external_id)
                events = await self._events(external_id)
            except openai.OpenAIError as exc:
                failures += 1
                if not is_transient(exc) or failures > self._max_poll_failures:
                    raise self._failed(exc, job, Step.POLL) from exc
                log.warning("fine_tuning_poll_failed", failures=failures, error=type(exc).__name__)
                delay = min(delay * 2, self._max_poll_interval)
                await self._sleep(delay)
                continue
            failures = 0
            fresh = progress.fresh(events)
            for event in fresh:
                await report(progress.fraction(remote.status), event_message(event))
            changed = bool(fresh) or remote.status != last_status
            if remote.status != last_status:
                log.info("fine_tuning_status", status=remote.status)
                if not fresh:
                    await report(progress.fraction(remote.status), STATUS_MESSAGES[remote.status])
                last_status = remote.status
            if remote.status in ("succeeded", "failed", "cancelled"):
                return await self._finished(
                    job, remote, report, seconds=time.perf_counter() - started
                )
            delay = self._poll_interval if changed else min(delay * 2, self._max_poll_interval)
            await self._sleep(delay)

    async def _events(self, external_id: str) -> list[FineTuningJobEvent]:
        page = await self._client.fine_tuning.jobs.list_events(external_id, limit=EVENTS_PER_POLL)
        return list(page.data)

    async def _finished(
        self, job: TrainingJob, remote: FineTuningJob, report: JobReporter, *, seconds: float
    ) -> TrainingOutcome:
        log = logger.bind(job_id=job.id, backend=self.name, external_id=remote.id)
        if remote.status == "cancelled":
            log.info("fine_tuning_job_cancelled_at_provider")
            raise Cancelled("The fine-tuning job was cancelled at the provider.")
        if remote.status == "failed":
            reason = summarise(remote.error.message if remote.error else None)
            log.warning("fine_tuning_job_failed", code=remote.error.code if remote.error else None)
            raise TrainingFailed(f"The fine-tuning job failed at the provider: {reason}")
        model = remote.fine_tuned_model
        if not model:
            raise TrainingFailed(
                "The provider reported the fine-tuning job as done but named no model."
            )
        method = remote.method.type if remote.method is not None else "supervised"
        await report(1.0, f"Fine-tuned model {model[:200]} is ready")
        log.info("fine_tuning_job_succeeded", model=model, seconds=round(seconds, 1))
        tokens = f", {remote.trained_tokens} tokens" if remote.trained_tokens else ""
        notes = (
            f"fine-tuned ({method}) from {remote.model} at the provider, job {remote.id}; "
            f"trained on {job.dataset} ({job.example_count} examples{tokens})"
        )
        return TrainingOutcome(llm_model=model, memory=None, notes=notes)

    def _failed(
        self, exc: openai.OpenAIError, job: TrainingJob, step: Step, *, model: str = ""
    ) -> Exception:
        error = to_domain_error(exc, step=step, model=model)
        status = exc.status_code if isinstance(exc, openai.APIStatusError) else None
        logger.warning(
            "fine_tuning_request_failed",
            job_id=job.id,
            step=step.value,
            status=status,
            error=error.key,
        )
        return error

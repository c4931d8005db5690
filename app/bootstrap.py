"""The composition root: the one place that builds concrete adapters.

``bootstrap(settings)`` wires every service; tests pass ``Overrides`` to swap in
fakes or local stand-ins. Heavy libraries are imported inside the factories so
that importing this module stays cheap and optional extras stay optional.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

import structlog

from app.processes import LocalProcessProbe, this_process
from app.settings import Settings
from app.workers import WorkerPool
from domain.errors import ModelUnavailable
from domain.models import GenerationOptions, ReviewMode, utcnow
from domain.ports import (
    ArtifactStore,
    ChartRenderer,
    ChatModel,
    ExampleMemory,
    Offload,
    TrainingBackend,
    UnitOfWorkFactory,
)
from domain.services.chat import ChatPolicy, ChatService
from domain.services.datasets import DatasetLimits, DatasetService
from domain.services.evaluation import EvaluationService
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewPolicy, ReviewService
from domain.services.training import TrainingService

log = structlog.get_logger()

Closer = Callable[[], Awaitable[None]]


@dataclasses.dataclass
class Overrides:
    """Adapters to use instead of the ones the settings describe (tests)."""

    uow: UnitOfWorkFactory | None = None
    llm: ChatModel | None = None
    memory: ExampleMemory | None = None
    artifacts: ArtifactStore | None = None
    backends: Mapping[str, TrainingBackend] | None = None
    offload: Offload | None = None
    clock: Callable[[], datetime] | None = None
    charts: ChartRenderer | None = None
    no_charts: bool = False  # True: no PNG charts even when matplotlib is installed


@dataclasses.dataclass
class Container:
    """Every service, built once; ``aclose()`` releases what the adapters hold."""

    settings: Settings
    uow: UnitOfWorkFactory
    llm: ChatModel
    memory: ExampleMemory
    artifacts: ArtifactStore
    backends: Mapping[str, TrainingBackend]
    models: ModelService
    chat: ChatService
    feedback: FeedbackService
    review: ReviewService
    datasets: DatasetService
    training: TrainingService
    evaluation: EvaluationService
    llm_problem: str | None = None
    llm_base_url: str | None = None
    closers: list[Closer] = dataclasses.field(default_factory=list)

    async def aclose(self) -> None:
        await self.training.aclose()
        for close in reversed(self.closers):
            try:
                await close()
            except Exception:
                log.exception("close_failed")
        self.closers.clear()


async def _build_storage(settings: Settings, closers: list[Closer]) -> UnitOfWorkFactory:
    from adapters.storage_sql import SqlStorage

    storage = SqlStorage(settings.database_url)
    closers.append(storage.aclose)
    await storage.migrate()
    return storage.unit_of_work


async def _build_llm(
    settings: Settings, closers: list[Closer]
) -> tuple[ChatModel, str, str | None]:
    """The one OpenAI-compatible adapter, at the configured endpoint or the embedded server.

    Returns the adapter, its endpoint, and why the embedded server is not used (if so).
    """
    from adapters.llm_openai import OpenAIChatModel
    from app.local_llm import FALLBACK_BASE_URL, SupervisedChatModel, start_local_llm

    base_url, local_problem, server = settings.llm.base_url, None, None
    if not base_url:
        local = await start_local_llm(settings, closers)
        base_url, local_problem = local.base_url or FALLBACK_BASE_URL, local.problem
        server = local.server
    llm = OpenAIChatModel(
        base_url=base_url,
        api_key=settings.llm.api_key.get_secret_value(),
        timeout=settings.llm.timeout,
        connect_timeout=settings.llm.connect_timeout,
        max_retries=settings.llm.max_retries,
    )
    closers.append(llm.aclose)
    if server is not None:  # the embedded server: wait for its restarts
        return SupervisedChatModel(llm, server), base_url, local_problem
    return llm, base_url, local_problem


def _lazy_llm(settings: Settings, closers: list[Closer]) -> ChatModel:
    from app.local_llm import LazyChatModel

    async def build() -> ChatModel:
        # importing openai takes 0.5-1.8 s on 2 cores: in a thread, so that it does not
        # stall the turns already in flight (their memory searches' timeouts ran out)
        await asyncio.to_thread(importlib.import_module, "adapters.llm_openai")
        llm, _, local_problem = await _build_llm(settings, closers)
        if local_problem is not None and await llm.check() is not None:
            raise ModelUnavailable(local_problem)  # say why the embedded model is not there
        return llm

    return LazyChatModel(build)


def _build_memory(settings: Settings, closers: list[Closer]) -> ExampleMemory:
    from adapters.example_memory import HybridExampleMemory

    memory = HybridExampleMemory(root=settings.memories_dir)
    closers.append(memory.aclose)
    return memory


def _build_backends(settings: Settings, closers: list[Closer]) -> dict[str, TrainingBackend]:
    from adapters.example_memory import LocalTrainingBackend

    local = LocalTrainingBackend(root=settings.memories_dir)
    closers.append(local.aclose)
    backends: dict[str, TrainingBackend] = {local.name: local}
    if settings.finetune.enabled:
        finetune = _build_finetune(settings, closers)
        if finetune is not None:
            backends[finetune.name] = finetune
    return backends


def _build_finetune(settings: Settings, closers: list[Closer]) -> TrainingBackend | None:
    """The ``openai`` fine-tuning backend, when enabled and a provider is known."""
    from adapters.finetune_openai import OpenAIFineTuningBackend

    ft = settings.finetune
    base_url = ft.base_url or settings.llm.base_url
    if not base_url:
        log.warning(
            "finetune_backend_unconfigured",
            hint="set TRAINERBOT_FINETUNE__BASE_URL (or TRAINERBOT_LLM__BASE_URL)",
        )
        return None
    key = ft.api_key if ft.api_key is not None else settings.llm.api_key
    backend = OpenAIFineTuningBackend(
        base_url=base_url,
        api_key=key.get_secret_value(),
        base_model=ft.base_model,
        poll_interval=ft.poll_interval,
        max_poll_interval=max(ft.poll_interval, ft.max_poll_interval),
        timeout=ft.timeout,
    )
    closers.append(backend.aclose)
    return backend


def _build_charts(closers: list[Closer]) -> ChartRenderer | None:
    """PNG charts for evaluation reports, when matplotlib (the ``charts`` extra) is there."""
    import importlib.util

    if importlib.util.find_spec("matplotlib") is None:
        log.info("charts_unavailable", hint="install the charts extra for PNG reports")
        return None
    from adapters.charts import MatplotlibChartRenderer

    charts = MatplotlibChartRenderer()
    closers.append(charts.aclose)
    return charts


def _build_artifacts(settings: Settings) -> ArtifactStore:
    from adapters.artifacts_fs import FileSystemArtifactStore

    return FileSystemArtifactStore(settings.artifacts_dir)


async def bootstrap(
    settings: Settings,
    overrides: Overrides | None = None,
    *,
    recover_jobs: bool = True,
    lazy_llm: bool = False,
) -> Container:
    """Build the container; on failure, whatever was opened is closed again.

    ``lazy_llm`` (the CLI's one-shot commands): the language model adapter — and the
    embedded llama.cpp server behind it — is built on its first use, and the endpoint is
    not probed at start-up, so commands that never ask the model start at once.
    """
    o = overrides or Overrides()
    closers: list[Closer] = []
    try:
        return await _bootstrap(settings, o, closers, recover_jobs=recover_jobs, lazy_llm=lazy_llm)
    except BaseException:
        for close in reversed(closers):
            try:
                await close()
            except Exception:
                log.exception("close_failed")
        raise


async def _bootstrap(
    settings: Settings,
    o: Overrides,
    closers: list[Closer],
    *,
    recover_jobs: bool,
    lazy_llm: bool,
) -> Container:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    clock = o.clock or utcnow
    offload: Offload
    if o.offload is not None:
        offload = o.offload
    else:
        pool = WorkerPool(threads=settings.workers.threads)
        closers.append(pool.aclose)
        offload = pool

    uow = o.uow or await _build_storage(settings, closers)
    llm: ChatModel
    if o.llm is not None:
        llm, llm_base_url, local_problem = o.llm, settings.llm.base_url, None
    elif lazy_llm:
        llm, llm_base_url, local_problem = _lazy_llm(settings, closers), None, None
    else:
        llm, llm_base_url, local_problem = await _build_llm(settings, closers)
    memory = o.memory or _build_memory(settings, closers)
    artifacts = o.artifacts or _build_artifacts(settings)
    backends = dict(o.backends) if o.backends is not None else _build_backends(settings, closers)

    models = ModelService(uow=uow, clock=clock)
    chat = ChatService(
        uow=uow,
        llm=llm,
        memory=memory,
        models=models,
        policy=ChatPolicy(
            system_prompt=settings.chat.system_prompt,
            max_history_turns=settings.chat.max_history_turns,
            max_history_chars=settings.chat.max_history_chars,
            max_question_chars=settings.chat.max_question_chars,
            demonstrations=settings.chat.demonstrations,
            correction_match=settings.chat.correction_match,
            semantic_match=settings.chat.semantic_match,
            max_answer_chars=settings.chat.max_answer_chars,
            answer_deadline=settings.llm.deadline,
            options=GenerationOptions(
                temperature=settings.llm.temperature, max_tokens=settings.llm.max_tokens
            ),
        ),
        clock=clock,
    )
    review_policy = ReviewPolicy(
        mode=ReviewMode(settings.review.mode),
        proposals_per_day=settings.review.proposals_per_day,
    )
    feedback = FeedbackService(
        uow=uow,
        corrections_dataset=settings.datasets.corrections_dataset,
        review=review_policy,
        max_correction_chars=settings.datasets.max_text_chars,
        clock=clock,
    )
    review = ReviewService(
        uow=uow,
        policy=review_policy,
        offload=offload,
        max_answer_chars=settings.datasets.max_text_chars,
        clock=clock,
    )
    datasets = DatasetService(
        uow=uow,
        artifacts=artifacts,
        limits=DatasetLimits(
            max_file_bytes=settings.datasets.max_file_bytes,
            max_examples=settings.datasets.max_examples,
            max_text_chars=settings.datasets.max_text_chars,
        ),
        offload=offload,
        clock=clock,
    )
    owner, processes = this_process(), LocalProcessProbe()  # this process, as jobs name it
    training = TrainingService(
        uow=uow,
        backends=backends,
        models=models,
        default_backend=settings.training.default_backend,
        max_concurrent_jobs=settings.training.max_concurrent_jobs,
        progress_interval=settings.training.progress_interval,
        owner=owner,
        processes=processes,
        heartbeat_interval=settings.training.heartbeat_seconds,
        clock=clock,
    )
    evaluation = EvaluationService(
        uow=uow,
        chat=chat,
        models=models,
        charts=o.charts or (None if o.no_charts else _build_charts(closers)),
        artifacts=artifacts,
        # the embedded server answers one request at a time: queueing more only times out
        concurrency=settings.evaluation.concurrency if settings.llm.base_url else 1,
        owner=owner,
        processes=processes,
        heartbeat_interval=settings.training.heartbeat_seconds,
        clock=clock,
    )

    await models.ensure_base(settings.llm.model)
    problem = None if lazy_llm else await llm.check()
    if problem is not None:
        problem = local_problem or problem
        log.warning("llm_unreachable", hint=problem)
    container = Container(
        settings=settings,
        uow=uow,
        llm=llm,
        memory=memory,
        artifacts=artifacts,
        backends=backends,
        models=models,
        chat=chat,
        feedback=feedback,
        review=review,
        datasets=datasets,
        training=training,
        evaluation=evaluation,
        llm_problem=problem,
        llm_base_url=llm_base_url,
        closers=closers,
    )
    if recover_jobs:
        recovered = await training.recover()
        if recovered:
            log.info("training_jobs_recovered", count=len(recovered))
    return container


def describe(container: Container) -> dict[str, Any]:
    """What the container was built with, for a start-up log line (no secrets)."""
    s = container.settings
    return {
        "data_dir": str(s.data_dir),
        "storage": s.database_url.split("://", 1)[0],
        "llm_base_url": _without_credentials(container.llm_base_url or s.llm.base_url),
        "llm_model": s.llm.model,
        "backends": sorted(container.backends),
    }


def _without_credentials(url: str | None) -> str | None:
    """``url`` without ``user:password@`` and without a query string (tokens hide there)."""
    if not url:
        return url
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address keeps its brackets
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, "", ""))

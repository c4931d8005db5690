"""A local OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scriptable.

    async with OpenAIStandin() as server:
        model = OpenAIChatModel(base_url=server.base_url, ...)
        server.script(Behaviour(error=ErrorReply(429, retry_after=0.01)))  # next request
        ...
        assert server.chat_requests[-1].json["model"] == "standin-model"

It speaks the OpenAI wire format: ``GET /v1/models``, ``POST /v1/chat/completions``
(JSON, or SSE chunks ending with ``data: [DONE]`` and a usage chunk when
``stream_options.include_usage`` is set), OpenAI-style error bodies. Every request is
recorded. Each request takes the next scripted :class:`Behaviour`, or ``default``.
More endpoints (``/v1/files``, ``/v1/fine_tuning/jobs``) plug in by extending
:meth:`OpenAIStandin.routes`; recording, delays and scripted errors apply to them too.

Fault modes (the fault suite, ``tests/faults/``): an error status with any body (the
key echoed in it), ``first_byte_delay`` (hang before the headers), ``stall_after_chunks``
(then nothing), ``cut_after_chunks`` (a clean end with no ``finish_reason`` or
``[DONE]``), ``drop_after_chunks`` (a broken body), ``endless`` (``max_tokens``
ignored), ``trickle`` (one byte at a time) and ``body`` (any bytes: not UTF-8, not
JSON, not SSE, the wrong shape). ``chat_rule`` picks a behaviour per chat request from
its body, e.g. only for one question.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from domain.models import ChatMessage, Role

Reply = Callable[[Sequence[ChatMessage]], str]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CHAT_PATH = "/v1/chat/completions"


def echo_reply(messages: Sequence[ChatMessage]) -> str:
    """The default reply: ``echo: <last user message>``."""
    for message in reversed(messages):
        if message.role is Role.USER:
            return f"echo: {message.content}"
    return "echo:"


def split_pieces(text: str) -> list[str]:
    """Word-sized stream pieces (each keeps its trailing space); they join to ``text``."""
    pieces: list[str] = []
    start = 0
    for index, char in enumerate(text):
        if char == " ":
            pieces.append(text[start : index + 1])
            start = index + 1
    if start < len(text):
        pieces.append(text[start:])
    return pieces


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """An OpenAI-style error answer; ``message`` defaults to what OpenAI says."""

    status: int
    message: str | None = None
    code: str | None = None
    retry_after: float | None = None  # seconds, sent as ``Retry-After``


@dataclass(frozen=True, slots=True)
class Behaviour:
    """How the server treats one request."""

    error: ErrorReply | None = None
    first_byte_delay: float = 0.0  # before the status line
    chunk_delay: float = 0.0  # before each streamed content chunk
    drop_after_chunks: int | None = None  # stream: cut the connection after N content chunks
    report_usage: bool = True  # False: behave like a server that never reports usage
    # Faults of a misbehaving server (tests/faults/):
    cut_after_chunks: int | None = None  # stream: end the body cleanly after N content
    # chunks, with no ``finish_reason`` and no ``[DONE]`` (a proxy closing the connection)
    stall_after_chunks: int | None = None  # stream: send N content chunks, then nothing more
    endless: bool = False  # stream: ignore ``max_tokens``, repeat the reply until the client goes
    trickle: float = 0.0  # seconds between single bytes of the body (a 1-byte-per-second link)
    body: bytes | None = None  # the chat answer's raw body instead of a real one
    content_type: str = "application/json"  # of ``body``


JSON_BODY = web.RequestKey("json_body", object)  # the parsed body, for handlers
BEHAVIOUR = web.RequestKey("behaviour", Behaviour)  # what this request was scripted to do


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    json: Any = None  # parsed body when it was JSON
    behaviour: Behaviour = field(default_factory=Behaviour)

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[len("Bearer ") :] if value.startswith("Bearer ") else None


_ERROR_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_request_error", "Invalid request.", None),
    401: ("invalid_request_error", "Incorrect API key provided: {key}.", "invalid_api_key"),
    403: ("invalid_request_error", "You are not allowed to sample from this model.", None),
    404: (
        "invalid_request_error",
        "The model `{model}` does not exist or you do not have access to it.",
        "model_not_found",
    ),
    429: ("requests", "Rate limit reached for requests.", "rate_limit_exceeded"),
    500: ("server_error", "The server had an error while processing your request.", None),
}


def _masked(key: str | None) -> str:
    """How OpenAI echoes a wrong key: never the whole of it."""
    if not key:
        return "<none>"
    return f"{key[:3]}****{key[-4:]}" if len(key) > 10 else "****"


class OpenAIStandin:
    def __init__(
        self,
        *,
        reply: Reply = echo_reply,
        models: Sequence[str] = ("standin-model",),
        api_key: str | None = None,
        reject_unknown_models: bool = False,
    ) -> None:
        self.reply = reply
        self.models = list(models)
        self.api_key = api_key  # when set, other keys get 401
        self.reject_unknown_models = reject_unknown_models
        self.default = Behaviour()
        self.requests: list[RecordedRequest] = []
        self._scripted: deque[Behaviour] = deque()
        # Picks a chat request's behaviour from its JSON body (None: the usual order).
        self.chat_rule: Callable[[Any], Behaviour | None] | None = None
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self.app = web.Application(middlewares=[self._middleware])
        self.app.add_routes(self.routes())

    # ------------------------------------------------------------------ scripting

    def routes(self) -> list[web.RouteDef]:
        """The routing table; extend it in a subclass to serve more of the API."""
        return [
            web.get("/v1/models", self._list_models),
            web.post(CHAT_PATH, self._chat_completions),
        ]

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next requests, one each, before ``default`` applies."""
        self._scripted.extend(behaviours)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == CHAT_PATH]

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("the stand-in is not running")
        return f"http://127.0.0.1:{self._port}/v1"

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._closing.clear()
        self._runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        self._closing.set()  # wakes every delayed handler
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------ plumbing

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body: Any = None
        if request.content_type == "application/json" and request.can_read_body:
            with contextlib.suppress(ValueError):
                body = json.loads(await request.read())
        chosen = self.chat_rule(body) if self.chat_rule and request.path == CHAT_PATH else None
        if chosen is not None:
            behaviour = chosen
        else:
            behaviour = self._scripted.popleft() if self._scripted else self.default
        self.requests.append(
            RecordedRequest(
                method=request.method,
                path=request.path,
                headers={k.lower(): v for k, v in request.headers.items()},
                json=body,
                behaviour=behaviour,
            )
        )
        request[JSON_BODY] = body
        request[BEHAVIOUR] = behaviour
        await self._pause(behaviour.first_byte_delay)
        if behaviour.error is not None:
            return self._error(request, behaviour.error)
        if self.api_key is not None and self.requests[-1].bearer != self.api_key:
            return self._error(request, ErrorReply(401))
        return await handler(request)

    async def _pause(self, seconds: float) -> None:
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)

    def _error(self, request: web.Request, error: ErrorReply) -> web.Response:
        kind, message, code = _ERROR_DEFAULTS.get(
            error.status, ("server_error", "The server could not answer.", None)
        )
        raw = request[JSON_BODY]
        body = raw if isinstance(raw, dict) else {}
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        text = error.message or message.format(model=body.get("model", ""), key=_masked(key))
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = f"{error.retry_after:g}"
        payload = {
            "error": {"message": text, "type": kind, "param": None, "code": error.code or code}
        }
        return web.json_response(payload, status=error.status, headers=headers)

    # ------------------------------------------------------------------ endpoints

    async def _list_models(self, request: web.Request) -> web.Response:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "standin"}
            for name in self.models
        ]
        return web.json_response({"object": "list", "data": data})

    async def _chat_completions(self, request: web.Request) -> web.StreamResponse:
        body = request[JSON_BODY]
        if not isinstance(body, dict) or not body.get("model") or not body.get("messages"):
            return self._error(request, ErrorReply(400, "`model` and `messages` are required."))
        if self.reject_unknown_models and body["model"] not in self.models:
            return self._error(request, ErrorReply(404))
        messages = [
            ChatMessage(role=Role(m["role"]), content=str(m.get("content") or ""))
            for m in body["messages"]
            if m.get("role") in {r.value for r in Role}
        ]
        behaviour: Behaviour = request[BEHAVIOUR]
        if behaviour.body is not None:
            return await self._raw(request, behaviour)
        text = self.reply(messages)
        usage = _usage(messages, text) if behaviour.report_usage else None
        head = {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "created": int(time.time()),
            "model": body["model"],
            "system_fingerprint": None,
        }
        if body.get("stream"):
            return await self._stream(request, body, head, text, usage, behaviour)
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": text, "refusal": None},
            "logprobs": None,
            "finish_reason": "stop",
        }
        payload: dict[str, Any] = {**head, "object": "chat.completion", "choices": [choice]}
        if usage is not None:
            payload["usage"] = usage
        if behaviour.trickle > 0:
            response = web.StreamResponse(headers={"Content-Type": "application/json"})
            await response.prepare(request)
            await self._write(response, json.dumps(payload).encode(), behaviour)
            await response.write_eof()
            return response
        return web.json_response(payload)

    async def _raw(self, request: web.Request, behaviour: Behaviour) -> web.StreamResponse:
        """The scripted body as it is: whatever the client makes of it."""
        assert behaviour.body is not None
        response = web.StreamResponse(headers={"Content-Type": behaviour.content_type})
        await response.prepare(request)
        await self._write(response, behaviour.body, behaviour)
        await response.write_eof()
        return response

    async def _write(self, response: web.StreamResponse, data: bytes, behaviour: Behaviour) -> None:
        if behaviour.trickle <= 0:
            await response.write(data)
            return
        for index in range(len(data)):
            if self._closing.is_set():
                return
            await response.write(data[index : index + 1])
            await self._pause(behaviour.trickle)

    async def _stream(
        self,
        request: web.Request,
        body: dict[str, Any],
        head: dict[str, Any],
        text: str,
        usage: dict[str, int] | None,
        behaviour: Behaviour,
    ) -> web.StreamResponse:
        options = body.get("stream_options") or {}
        with_usage = bool(options.get("include_usage")) and usage is not None
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)

        async def send(choices: list[dict[str, Any]], **extra: Any) -> None:
            chunk = {**head, "object": "chat.completion.chunk", "choices": choices, **extra}
            if with_usage:
                chunk.setdefault("usage", None)
            await self._write(response, f"data: {json.dumps(chunk)}\n\n".encode(), behaviour)

        def choice(delta: dict[str, Any], finish: str | None = None) -> list[dict[str, Any]]:
            return [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]

        await send(choice({"role": "assistant", "content": ""}))
        pieces = split_pieces(f"{text} " if behaviour.endless else text)
        stop_after = _first_given(
            behaviour.drop_after_chunks, behaviour.cut_after_chunks, behaviour.stall_after_chunks
        )
        sent = 0
        while stop_after is None or sent < stop_after:
            if sent >= len(pieces) and not behaviour.endless:
                break
            await self._pause(behaviour.chunk_delay)
            if self._closing.is_set():
                return response
            await send(choice({"content": pieces[sent % len(pieces)]}))
            sent += 1
            if behaviour.endless:
                await asyncio.sleep(0)  # let the client's disconnect reach this handler
        if behaviour.stall_after_chunks is not None:
            await self._closing.wait()  # never another byte, never the end
            return response
        if behaviour.cut_after_chunks is not None:
            await response.write_eof()  # a clean end of the body, but not of the answer
            return response
        if behaviour.drop_after_chunks is not None:
            assert request.transport is not None
            request.transport.abort()  # no terminating chunk: the client sees a broken body
            return response
        await send(choice({}, "stop"))
        if with_usage:
            await send([], usage=usage)
        await self._write(response, b"data: [DONE]\n\n", behaviour)
        await response.write_eof()
        return response


def _first_given(*values: int | None) -> int | None:
    return next((value for value in values if value is not None), None)


def _usage(messages: Sequence[ChatMessage], text: str) -> dict[str, int]:
    """Deterministic token counts: words, plus a few per message for the framing."""
    prompt = sum(len(m.content.split()) + 4 for m in messages)
    completion = len(text.split())
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }

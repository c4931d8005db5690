"""A small HTTP/1.1 client for one job: POSTing tiny JSON bodies to Discord's API as fast
as the bytes can be written.

``post`` writes the request on a kept-alive connection *synchronously* — from inside
the gateway's frame handler, with no task and no wait for a free connection — and
returns a future for the response. Requests are pipelined (several in flight on one
connection; HTTP/1.1 servers answer them in order). A lost connection fails its
in-flight futures with ``PipelineError``; callers then fall back to discord.py's own
client (see ``early_ack``). Responses are read with ``Content-Length`` or chunked
framing; anything else closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import structlog
import yarl

log = structlog.get_logger()

MAX_HEAD = 64 * 1024  # a response head larger than this is not Discord's


class PipelineError(ConnectionError):
    """The request was not answered: not connected, the connection dropped, or the
    response was malformed. Whether the server acted on it is unknown."""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class _Parsed:
    response: HttpResponse | None  # None for an interim (1xx) response
    consumed: int
    keep_alive: bool


def parse_response(buffer: bytes | bytearray) -> _Parsed | None:
    """The first whole response in ``buffer``, or None while it is incomplete.

    Raises ``PipelineError`` for what cannot be framed (no length, bad chunking).
    """
    end = buffer.find(b"\r\n\r\n")
    if end < 0:
        if len(buffer) > MAX_HEAD:
            raise PipelineError("response head too large")
        return None
    lines = bytes(buffer[:end]).decode("latin-1").split("\r\n")
    parts = lines[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
        raise PipelineError(f"bad status line {lines[0][:80]!r}")
    status = int(parts[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    start = end + 4
    connection = headers.get("connection", "").lower()
    keep_alive = connection != "close" and (parts[0] != "HTTP/1.0" or connection == "keep-alive")
    if 100 <= status < 200:
        return _Parsed(None, start, keep_alive=True)
    if status in (204, 304):
        return _Parsed(HttpResponse(status, b""), start, keep_alive)
    if "chunked" in headers.get("transfer-encoding", "").lower():
        return _parse_chunked(buffer, start, status, keep_alive)
    length = headers.get("content-length")
    if length is None or not length.isdigit():
        raise PipelineError("response without a length cannot be pipelined")
    stop = start + int(length)
    if len(buffer) < stop:
        return None
    return _Parsed(HttpResponse(status, bytes(buffer[start:stop])), stop, keep_alive)


def _parse_chunked(
    buffer: bytes | bytearray, position: int, status: int, keep_alive: bool
) -> _Parsed | None:
    body = bytearray()
    while True:
        line_end = buffer.find(b"\r\n", position)
        if line_end < 0:
            return None
        size_text = bytes(buffer[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise PipelineError("bad chunk size") from None
        position = line_end + 2
        if size == 0:
            trailers_end = buffer.find(b"\r\n\r\n", position - 2)
            if trailers_end < 0:
                return None
            return _Parsed(HttpResponse(status, bytes(body)), trailers_end + 4, keep_alive)
        if len(buffer) < position + size + 2:
            return None
        body += buffer[position : position + size]
        position += size + 2


class _Connection(asyncio.Protocol):
    def __init__(self, owner: PipelinedPoster) -> None:
        self._owner = owner
        self.transport: asyncio.Transport | None = None
        self.waiting: deque[asyncio.Future[HttpResponse]] = deque()
        self._buffer = bytearray()
        self.usable = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.usable = True

    def send(self, request: bytes) -> asyncio.Future[HttpResponse]:
        assert self.transport is not None
        future: asyncio.Future[HttpResponse] = asyncio.get_running_loop().create_future()
        self.waiting.append(future)
        self.transport.write(request)
        return future

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        try:
            while self._buffer:
                parsed = parse_response(self._buffer)
                if parsed is None:
                    return
                del self._buffer[: parsed.consumed]
                if parsed.response is None:
                    continue
                if not self.waiting:
                    raise PipelineError("a response nobody asked for")
                future = self.waiting.popleft()
                if not future.done():
                    future.set_result(parsed.response)
                if not parsed.keep_alive:
                    self._drop("the server closed the connection")
                    return
        except PipelineError as error:
            self._drop(str(error))

    def connection_lost(self, exc: Exception | None) -> None:
        self.usable = False
        self._fail_waiting("connection lost")
        self._owner.lost(self)

    def _drop(self, why: str) -> None:
        self.usable = False
        self._fail_waiting(why)
        if self.transport is not None:
            self.transport.close()

    def _fail_waiting(self, why: str) -> None:
        while self.waiting:
            future = self.waiting.popleft()
            if not future.done():
                future.set_exception(PipelineError(why))


class PipelinedPoster:
    """Kept-alive connections to the host of ``base_url`` (http or https).

    ``open`` connects; lost connections are re-opened in the background. ``post``
    never waits: with no usable connection its future fails at once.
    """

    def __init__(
        self,
        base_url: str,
        *,
        headers: Mapping[str, str],
        connections: int = 2,
        max_in_flight: int = 512,
        connect_timeout: float = 10.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        url = yarl.URL(base_url)
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self._host = url.host
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._ssl: ssl.SSLContext | None = None
        if url.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        self._prefix = url.path.rstrip("/")
        authority = url.host if url.is_default_port() else f"{url.host}:{url.port}"
        fixed = {"Host": authority, **headers, "Content-Type": "application/json"}
        self._head = "".join(f"{name}: {value}\r\n" for name, value in fixed.items())
        self._wanted = connections
        self._max_in_flight = max_in_flight
        self._connect_timeout = connect_timeout
        self._connections: list[_Connection] = []
        self._reconnecting: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def connected(self) -> int:
        return sum(1 for c in self._connections if c.usable)

    async def open(self) -> None:
        """Connect (raises ``OSError`` when the host cannot be reached)."""
        while len(self._connections) < self._wanted and not self._closed:
            await self._connect()

    def post(self, path: str, body: bytes) -> asyncio.Future[HttpResponse]:
        """Write ``POST <base><path>`` now; the future resolves with the response."""
        usable = [c for c in self._connections if c.usable]
        if not usable:
            self._reconnect_soon()
            return _failed("not connected")
        connection = min(usable, key=lambda c: len(c.waiting))
        if len(connection.waiting) >= self._max_in_flight:
            return _failed("too many requests in flight")
        request = (
            f"POST {self._prefix}{path} HTTP/1.1\r\n{self._head}Content-Length: {len(body)}\r\n\r\n"
        ).encode("latin-1") + body
        return connection.send(request)

    def lost(self, connection: _Connection) -> None:
        with contextlib.suppress(ValueError):
            self._connections.remove(connection)
        self._reconnect_soon()

    async def aclose(self) -> None:
        self._closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnecting
        for connection in list(self._connections):
            if connection.transport is not None:
                connection.transport.close()
        self._connections.clear()

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self._connect_timeout):
            _, connection = await loop.create_connection(
                lambda: _Connection(self),
                self._host,
                self._port,
                ssl=self._ssl,
                server_hostname=self._host if self._ssl else None,
            )
        self._connections.append(connection)

    def _reconnect_soon(self) -> None:
        if self._closed or (self._reconnecting is not None and not self._reconnecting.done()):
            return
        self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = 0.5
        while not self._closed and len(self._connections) < self._wanted:
            try:
                await self._connect()
            except (OSError, TimeoutError) as error:
                log.warning("early_ack_connect_failed", error=type(error).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)


def _failed(why: str) -> asyncio.Future[HttpResponse]:
    future: asyncio.Future[HttpResponse] = asyncio.get_running_loop().create_future()
    future.set_exception(PipelineError(why))
    return future

"""Is the server up and serving our model? ``GET /v1/models`` over a plain socket."""

from __future__ import annotations

import asyncio
import contextlib
import json

MAX_BODY = 256 * 1024


async def serves_model(host: str, port: int, model_id: str, *, seconds: float) -> bool:
    """True when ``GET /v1/models`` answers 200 within ``seconds`` and lists ``model_id``."""
    try:
        async with asyncio.timeout(seconds):
            reader, writer = await asyncio.open_connection(host, port)
            try:
                request = (
                    f"GET /v1/models HTTP/1.1\r\nHost: {host}:{port}\r\n"
                    "Accept: application/json\r\nConnection: close\r\n\r\n"
                )
                writer.write(request.encode("ascii"))
                await writer.drain()
                response = await reader.read(MAX_BODY)
                while len(response) < MAX_BODY and (more := await reader.read(MAX_BODY)):
                    response += more
            finally:
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
    except (OSError, TimeoutError, asyncio.IncompleteReadError):
        return False
    return _lists_model(response, model_id)


def _lists_model(response: bytes, model_id: str) -> bool:
    head, _, body = response.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0].split()
    if len(status) < 2 or status[1] != b"200":
        return False
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    try:
        data = json.loads(body)
        return any(item.get("id") == model_id for item in data.get("data", []))
    except (ValueError, AttributeError, TypeError):
        return False


def _unchunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            return out
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2 :]
    return out

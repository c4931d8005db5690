"""Acknowledging ``/ask`` from the gateway frame: the pipelined HTTP client on its own,
then the real bot against the emulator (the early path, its fallbacks, its refusals)."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from adapters.discord.pipeline import (
    HttpResponse,
    PipelinedPoster,
    PipelineError,
    parse_response,
)
from tests.discord.conftest import Harness
from tests.discord_emulator.records import CALLBACK_DEFERRED

CALLBACK = "POST /interactions/{interaction_id}/{interaction_token}/callback"


# ------------------------------------------------------------------ response framing


def test_a_response_with_a_length_is_read_once_it_is_whole() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhel"
    assert parse_response(raw) is None
    parsed = parse_response(raw + b"loHTTP/1.1 204")
    assert parsed is not None and parsed.response == HttpResponse(200, b"hello")
    assert parsed.consumed == len(raw) + 2 and parsed.keep_alive


def test_no_content_and_interim_responses_have_no_body() -> None:
    parsed = parse_response(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
    assert parsed is not None and parsed.response == HttpResponse(204, b"")
    interim = parse_response(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")
    assert interim is not None and interim.response is None and interim.consumed == 25


def test_a_chunked_response_is_joined_and_needs_its_last_chunk() -> None:
    raw = (
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'4;ext=1\r\n{"co\r\n9\r\nde":40060\r\n0\r\n'
    )
    assert parse_response(raw) is None
    parsed = parse_response(raw + b"\r\n")
    assert parsed is not None
    assert parsed.response == HttpResponse(400, b'{"code":40060')
    assert parsed.consumed == len(raw) + 2


def test_connection_close_ends_keep_alive() -> None:
    parsed = parse_response(b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    assert parsed is not None and not parsed.keep_alive
    old = parse_response(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert old is not None and not old.keep_alive


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 200 OK\r\n\r\nbody until the connection closes",
        b"SPDY/3 200 OK\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
)
def test_what_cannot_be_framed_is_an_error(raw: bytes) -> None:
    with pytest.raises(PipelineError):
        parse_response(raw)


# ------------------------------------------------------------------ the client


@pytest.fixture
async def echo_server() -> AsyncIterator[tuple[str, list[web.Request]]]:
    seen: list[web.Request] = []

    async def echo(request: web.Request) -> web.Response:
        seen.append(request)
        body = await request.read()
        if body == b"drop":
            assert request.transport is not None
            request.transport.abort()
        return web.Response(body=body, status=200 if body != b"no" else 400)

    app = web.Application()
    app.router.add_post("/api/v10/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/api/v10", seen
    await runner.cleanup()


async def test_pipelined_posts_are_answered_in_order(
    echo_server: tuple[str, list[web.Request]],
) -> None:
    base, seen = echo_server
    poster = PipelinedPoster(base, headers={"User-Agent": "test"}, connections=2)
    await poster.open()
    try:
        futures = [poster.post("/echo", f"body {i}".encode()) for i in range(100)]
        answers = await asyncio.gather(*futures)
        assert [a.body for a in answers] == [f"body {i}".encode() for i in range(100)]
        assert {a.status for a in answers} == {200}
        assert seen[0].headers["User-Agent"] == "test"
        assert seen[0].headers["Content-Type"] == "application/json"
        assert (await poster.post("/echo", b"no")).status == 400
    finally:
        await poster.aclose()


async def test_a_dropped_connection_fails_what_was_in_flight_and_reconnects(
    echo_server: tuple[str, list[web.Request]],
) -> None:
    base, _ = echo_server
    poster = PipelinedPoster(base, headers={}, connections=1)
    await poster.open()
    try:
        with pytest.raises(PipelineError):
            await poster.post("/echo", b"drop")
        async with asyncio.timeout(5):
            while not poster.connected:  # noqa: ASYNC110  # the poster signals nothing
                await asyncio.sleep(0.01)
        assert (await poster.post("/echo", b"again")).body == b"again"
    finally:
        await poster.aclose()
    with pytest.raises(PipelineError):
        await poster.post("/echo", b"closed")


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key."""
    if shutil.which("openssl") is None:
        pytest.skip(
            "!!! openssl (Debian's openssl package) is absent: the TLS test did NOT run !!!"
        )
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


async def test_posts_go_over_tls(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    async def echo(request: web.Request) -> web.Response:
        return web.Response(body=await request.read())

    app = web.Application()
    app.router.add_post("/api/v10/echo", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    client_tls = ssl.create_default_context(cafile=str(cert))  # verifies as for discord.com
    poster = PipelinedPoster(
        f"https://127.0.0.1:{port}/api/v10", headers={}, ssl_context=client_tls
    )
    try:
        await poster.open()
        answers = await asyncio.gather(*(poster.post("/echo", b"%d" % i) for i in range(20)))
        assert [a.body for a in answers] == [b"%d" % i for i in range(20)]
        untrusted = PipelinedPoster(f"https://127.0.0.1:{port}/api/v10", headers={})
        with pytest.raises(ssl.SSLError):  # the system's CAs do not know this certificate
            await untrusted.open()
        await untrusted.aclose()
    finally:
        await poster.aclose()
        await runner.cleanup()


async def test_an_unreachable_host_fails_to_open() -> None:
    poster = PipelinedPoster("http://127.0.0.1:9/api", headers={}, connect_timeout=2)
    with pytest.raises(OSError):
        await poster.open()
    await poster.aclose()


# ------------------------------------------------------------------ the bot


async def test_ask_is_acknowledged_from_the_gateway_frame(h: Harness) -> None:
    assert h.bot.early_acks is not None and h.bot.early_acks.installed
    handle = h.command("ask", {"prompt": "fast?"}, user=h.member)
    assert await handle.acknowledged() == CALLBACK_DEFERRED
    reply = await h.reply(handle)
    assert reply.content == "echo: fast?" and not reply.ephemeral
    [callback] = h.emulator.requests_to(CALLBACK)
    assert callback.json == {"type": CALLBACK_DEFERRED}
    assert "with_response" not in callback.query  # not discord.py's own request
    assert handle.record.rejected_callbacks == []


async def test_other_commands_are_acknowledged_by_discord_py(h: Harness) -> None:
    handle = h.command("forget", user=h.member)
    await h.reply(handle)
    [callback] = h.emulator.requests_to(CALLBACK)
    assert "with_response" in callback.query


async def test_without_early_ack_discord_py_acknowledges_ask(start_bot: object) -> None:
    h = await start_bot(early_ack=False)  # type: ignore[operator]
    assert h.bot.early_acks is None
    reply = await h.reply(h.command("ask", {"prompt": "slow path"}, user=h.member))
    assert reply.content == "echo: slow path"
    [callback] = h.emulator.requests_to(CALLBACK)
    assert "with_response" in callback.query


async def test_a_lost_early_answer_falls_back_and_already_acknowledged_counts(
    h: Harness,
) -> None:
    h.emulator.lose_answers(CALLBACK)
    handle = h.command("ask", {"prompt": "lost on the way"}, user=h.member)
    reply = await h.reply(handle)
    assert reply.content == "echo: lost on the way" and not reply.ephemeral
    assert handle.record.rejected_callbacks == [(400, 40060)]  # discord.py's second try
    assert len(h.emulator.requests_to(CALLBACK)) == 2
    # and, once reconnected, the next question goes the fast way again
    early = h.bot.early_acks
    assert early is not None
    await h.settled(lambda: early.connected)
    again = h.command("ask", {"prompt": "and again"}, user=h.member)
    assert (await h.reply(again)).content == "echo: and again"
    assert again.record.rejected_callbacks == []
    assert "with_response" not in h.emulator.requests_to(CALLBACK)[-1].query


async def test_a_refused_question_is_not_acknowledged_early(h: Harness) -> None:
    handle = h.command("ask", {"prompt": "   "}, user=h.member)
    reply = await h.reply(handle)
    assert reply.ephemeral  # only possible because nothing was deferred publicly
    [callback] = h.emulator.requests_to(CALLBACK)
    assert "with_response" in callback.query


async def test_a_user_on_cooldown_is_not_acknowledged_early(start_bot: object) -> None:
    h = await start_bot(chat_cooldown=60.0)  # type: ignore[operator]
    await h.reply(h.command("ask", {"prompt": "first"}, user=h.member))
    refused = await h.reply(h.command("ask", {"prompt": "second"}, user=h.member))
    assert refused.ephemeral and "try again in" in refused.content
    first, second = h.emulator.requests_to(CALLBACK)
    assert "with_response" not in first.query and "with_response" in second.query

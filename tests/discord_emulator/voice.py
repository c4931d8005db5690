"""The emulator's voice side: a voice gateway (websocket, protocol v8) and a UDP endpoint.

Plugged into the main gateway through `Gateway.voice_server_provider`: when the bot
asks to join a voice channel (op 4), the gateway dispatches VOICE_SERVER_UPDATE with
this server's token and endpoint. The bot then opens `wss://{endpoint}/?v=8`; the
emulator serves plain `ws://` and `route_voice_websocket()` rewrites that one URL in
discord.py's HTTP client (see docs/discord-emulator.md). Handshake: HELLO → IDENTIFY →
READY (ssrc, UDP port, modes) → UDP IP discovery → SELECT_PROTOCOL →
SESSION_DESCRIPTION (secret key, `dave_protocol_version` 0: no end-to-end encryption)
→ SPEAKING and RTP packets, with heartbeats and ACKs throughout.
"""

# Test-facing waits take a `timeout` argument on purpose (pytest-style helpers).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import aiohttp
import discord.http
from aiohttp import WSMsgType, web

from .ids import new_token
from .voice_udp import UdpKeys, VoicePacket, VoiceUdp, utterances

if TYPE_CHECKING:
    from .server import DiscordEmulator

T = TypeVar("T")
MODE = "aead_xchacha20_poly1305_rtpsize"
MODES = [MODE, "aead_aes256_gcm_rtpsize"]  # what Discord offers; discord.py picks the first


@dataclass
class VoiceConnection:
    """One voice websocket session (one guild, one bot)."""

    guild_id: int
    channel_id: int
    token: str
    session_id: str
    ssrc: int = 0
    identified: bool = False
    secret_key: bytes = b""
    mode: str | None = None
    client_address: tuple[str, int] | None = None
    heartbeats: int = 0
    speaking: list[tuple[float, int]] = field(default_factory=list)  # (time, flags)
    closed: bool = False


class VoiceServer:
    """`async with VoiceServer().attach(emulator):` — then let the bot join a voice channel."""

    def __init__(self, *, heartbeat_interval_ms: int = 5000) -> None:
        self.heartbeat_interval_ms = heartbeat_interval_ms
        self.connections: list[VoiceConnection] = []
        self.packets: list[VoicePacket] = []
        self._pending: dict[str, VoiceConnection] = {}  # token -> connection to be
        self._ssrcs = itertools.count(1001)
        self._udp = VoiceUdp(on_packet=self._record)
        self._runner: web.AppRunner | None = None
        self._udp_transport: asyncio.DatagramTransport | None = None
        self._ws_port = 0
        self._udp_port = 0
        self._changed = asyncio.Event()
        self._emulator: DiscordEmulator | None = None
        self._sockets: dict[str, web.WebSocketResponse] = {}  # token -> its open websocket

    # lifecycle --------------------------------------------------------------------------------
    def attach(self, emulator: DiscordEmulator) -> Self:
        """Answer the gateway's voice joins with this server (call before `start`)."""
        self._emulator = emulator
        emulator.gateway.voice_server_provider = self._provide
        return self

    async def start(self) -> Self:
        app = web.Application()
        app.router.add_get("/", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._ws_port = self._runner.addresses[0][1]
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: self._udp, local_addr=("127.0.0.1", 0)
        )
        self._udp_transport = transport
        self._udp_port = transport.get_extra_info("sockname")[1]
        return self

    async def stop(self) -> None:
        if self._udp_transport is not None:
            self._udp_transport.close()
            self._udp_transport = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._emulator is not None:
            self._emulator.gateway.voice_server_provider = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.stop()

    @property
    def endpoint(self) -> str:
        """What VOICE_SERVER_UPDATE carries (discord.py prefixes `wss://`)."""
        return f"127.0.0.1:{self._ws_port}"

    @property
    def udp_port(self) -> int:
        return self._udp_port

    @property
    def undecryptable(self) -> int:
        """RTP packets that had no known key or failed authentication."""
        return self._udp.undecryptable

    # faults -----------------------------------------------------------------------------------
    async def drop(self, connection: VoiceConnection, *, code: int = 4006) -> None:
        """The voice server ends this connection's websocket with ``code``: 4006 ("session no
        longer valid") makes the client connect anew; 4014 is Discord's "disconnected" (the
        bot was removed from the channel), sent together with its voice state going to None."""
        ws = self._sockets.get(connection.token)
        if code == 4014 and self._emulator is not None:
            self._emulator.state.set_voice_state(
                connection.guild_id, self._emulator.bot_user.id, None
            )
        if ws is not None and not ws.closed:
            await ws.close(code=code, message=b"dropped by the test")

    # test-side views --------------------------------------------------------------------------
    def packets_for(self, connection: VoiceConnection) -> list[VoicePacket]:
        return [p for p in self.packets if p.ssrc == connection.ssrc]

    def audio_packets(self) -> list[VoicePacket]:
        return [p for p in self.packets if not p.silence_marker]

    def utterances(self) -> list[list[VoicePacket]]:
        return utterances(self.packets)

    def live(self, guild_id: int | None = None) -> list[VoiceConnection]:
        return [
            c
            for c in self.connections
            if not c.closed and c.mode and (guild_id is None or c.guild_id == guild_id)
        ]

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 10.0) -> T:
        """Waits until `predicate()` is truthy (re-checked on every voice event)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"voice condition not met within {timeout:.1f}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), min(remaining, 0.05))

    async def wait_for_silence(self, quiet: float = 0.3, timeout: float = 20.0) -> None:
        """Waits until no packet arrived for `quiet` seconds (after at least one arrived)."""

        def quiet_now() -> bool:
            return bool(self.packets) and time.perf_counter() - self.packets[-1].arrived > quiet

        await self.wait_for(quiet_now, timeout)

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _record(self, packet: VoicePacket) -> None:
        self.packets.append(packet)
        self._notify()

    # the gateway hook -------------------------------------------------------------------------
    async def _provide(self, guild_id: int, channel_id: int, session_id: str) -> dict[str, str]:
        token = new_token("vt")
        self._pending[token] = VoiceConnection(guild_id, channel_id, token, session_id)
        return {"token": token, "endpoint": self.endpoint}

    # the voice websocket ----------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        seq = itertools.count(1)
        conn: VoiceConnection | None = None

        async def send(op: int, data: Any, *, numbered: bool = False) -> None:
            frame: dict[str, Any] = {"op": op, "d": data}
            if numbered:
                frame["seq"] = next(seq)
            await ws.send_str(json.dumps(frame))

        await send(8, {"heartbeat_interval": self.heartbeat_interval_ms})
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue  # binary frames are DAVE/MLS, not used with protocol version 0
                frame = json.loads(msg.data)
                conn = await self._on_frame(ws, send, conn, frame.get("op"), frame.get("d") or {})
        finally:
            if conn is not None:
                conn.closed = True
                self._sockets.pop(conn.token, None)
            self._notify()
        return ws

    async def _on_frame(
        self,
        ws: web.WebSocketResponse,
        send: Callable[..., Any],
        conn: VoiceConnection | None,
        op: Any,
        data: dict[str, Any],
    ) -> VoiceConnection | None:
        if op == 3:  # HEARTBEAT
            if conn is not None:
                conn.heartbeats += 1
            await send(6, {"t": data.get("t")})
        elif op == 0:  # IDENTIFY
            conn = self._pending.pop(str(data.get("token")), None)
            if conn is None or data.get("session_id") != conn.session_id:
                await ws.close(code=4004, message=b"Authentication failed.")
                return None
            if int(data.get("server_id", 0)) != conn.guild_id:
                await ws.close(code=4011, message=b"Server not found.")
                return None
            conn.ssrc = next(self._ssrcs)
            conn.identified = True
            self._sockets[conn.token] = ws
            self.connections.append(conn)
            ready = {
                "ssrc": conn.ssrc,
                "ip": "127.0.0.1",
                "port": self._udp_port,
                "modes": MODES,
                "heartbeat_interval": self.heartbeat_interval_ms,
            }
            await send(2, ready, numbered=True)
        elif conn is None:
            await ws.close(code=4003, message=b"Not authenticated.")
        elif op == 1:  # SELECT_PROTOCOL
            await self._select_protocol(ws, send, conn, data)
        elif op == 5:  # SPEAKING
            conn.speaking.append((time.perf_counter(), int(data.get("speaking", 0))))
            self._notify()
        elif op == 7:  # RESUME
            await send(9, None, numbered=True)
        return conn

    async def _select_protocol(
        self,
        ws: web.WebSocketResponse,
        send: Callable[..., Any],
        conn: VoiceConnection,
        data: dict[str, Any],
    ) -> None:
        mode = (data.get("data") or {}).get("mode")
        if mode not in MODES:
            await ws.close(code=4016, message=b"Unknown encryption mode.")
            return
        address = data.get("data") or {}
        conn.client_address = (str(address.get("address")), int(address.get("port", 0)))
        conn.secret_key = os.urandom(32)
        conn.mode = mode
        self._udp.keys[conn.ssrc] = UdpKeys(secret_key=conn.secret_key, mode=mode)
        description = {
            "mode": mode,
            "secret_key": list(conn.secret_key),
            "dave_protocol_version": 0,
            "media_session_id": new_token("m"),
            "audio_codec": "opus",
        }
        await send(4, description, numbered=True)
        self._notify()


# pointing discord.py's voice websocket at the emulator -------------------------------------


@dataclass
class VoiceRoute:
    """Undo handle of `route_voice_websocket`."""

    original: Any
    restored: bool = False

    def restore(self) -> None:
        if not self.restored:
            discord.http.HTTPClient.ws_connect = self.original  # type: ignore[method-assign]
            self.restored = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.restore()


def route_voice_websocket(servers: Sequence[VoiceServer] | VoiceServer) -> VoiceRoute:
    """discord.py always opens `wss://{endpoint}/?v=8`; for these servers' endpoints only,
    connect with plain `ws://` instead (every other URL is left alone)."""
    targets = [servers] if isinstance(servers, VoiceServer) else list(servers)
    original = discord.http.HTTPClient.ws_connect

    async def ws_connect(
        self: discord.http.HTTPClient, url: str, *, compress: int = 0
    ) -> aiohttp.ClientWebSocketResponse:
        for server in targets:
            prefix = f"wss://{server.endpoint}/"
            if url.startswith(prefix):
                url = "ws://" + url.removeprefix("wss://")
                break
        return await original(self, url, compress=compress)

    discord.http.HTTPClient.ws_connect = ws_connect  # type: ignore[method-assign]
    return VoiceRoute(original)

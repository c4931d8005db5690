"""The gateway: HELLO, heartbeats, IDENTIFY/READY, RESUME with replay, dispatches by intent.

JSON text frames only (no zlib). Sessions outlive connections so that a dropped
connection can RESUME and receive what it missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from . import payloads
from .ids import new_token
from .messages import StoredMessage
from .models import (
    DIRECT_MESSAGE_REACTIONS_INTENT,
    DIRECT_MESSAGES_INTENT,
    GUILD_MEMBERS_INTENT,
    GUILD_MESSAGE_REACTIONS_INTENT,
    GUILD_MESSAGES_INTENT,
    GUILD_PRESENCES_INTENT,
    MESSAGE_CONTENT_INTENT,
    Guild,
)
from .records import GatewayConnection, InteractionRecord
from .state import EmulatorState

PRIVILEGED = {
    "members": GUILD_MEMBERS_INTENT,
    "presences": GUILD_PRESENCES_INTENT,
    "message_content": MESSAGE_CONTENT_INTENT,
}
# Closing codes after which Discord lets the client resume (the session stays alive).
RESUMABLE_CLOSE = frozenset({4000, 4001, 4002, 4003, 4005, 4008})

# Returns {"token": ..., "endpoint": ...} for VOICE_SERVER_UPDATE, or None to send none.
VoiceServerProvider = Callable[[int, int, str], Awaitable[dict[str, str] | None]]


@dataclass
class Session:
    id: str
    intents: int
    shard: list[int] | None
    buffer: deque[tuple[int, str]]
    seq: int = 0
    alive: bool = True
    connection: Connection | None = None

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        frame = json.dumps({"op": 0, "t": event, "s": self.seq, "d": data})
        self.buffer.append((self.seq, frame))
        if self.connection is not None:
            self.connection.send(frame)


@dataclass
class Connection:
    ws: web.WebSocketResponse
    request: web.Request
    outbox: asyncio.Queue[str | None] = field(default_factory=asyncio.Queue)
    session: Session | None = None
    closed_by_emulator: bool = False

    def send(self, frame: str) -> None:
        self.outbox.put_nowait(frame)

    def send_op(self, op: int, data: Any) -> None:
        self.send(json.dumps({"op": op, "d": data, "s": None, "t": None}))

    async def writer(self) -> None:
        while (frame := await self.outbox.get()) is not None:
            try:
                await self.ws.send_str(frame)
            except (ConnectionError, RuntimeError):
                return


class Gateway:
    def __init__(self, state: EmulatorState, *, resume_url: Callable[[], str]) -> None:
        self.state = state
        self._resume_url = resume_url
        self.sessions: list[Session] = []
        self.connections: list[Connection] = []
        self.log: list[GatewayConnection] = []
        self.heartbeats = 0
        self.presences: list[dict[str, Any]] = []
        self.voice_server_provider: VoiceServerProvider | None = None

    # websocket handling -------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        conn = Connection(ws=ws, request=request)
        self.connections.append(conn)
        writer = asyncio.create_task(conn.writer())
        conn.send_op(
            10,
            {"heartbeat_interval": self.state.config.heartbeat_interval_ms, "_trace": ["emulator"]},
        )
        try:
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    await ws.close(code=4002, message=b"Error while decoding payload.")
                    break
                await self._on_frame(conn, json.loads(msg.data))
        finally:
            self._detach(conn)
            conn.outbox.put_nowait(None)
            with contextlib.suppress(asyncio.CancelledError):
                await writer
        return ws

    def _detach(self, conn: Connection) -> None:
        self.connections.remove(conn)
        session = conn.session
        if session is not None and session.connection is conn:
            session.connection = None
            # A client closing with 1000/1001 ends its session (Discord's rule).
            if not conn.closed_by_emulator and conn.ws.close_code in (1000, 1001):
                session.alive = False
            self._log("closed", conn, session.id, f"code={conn.ws.close_code}")

    async def _on_frame(self, conn: Connection, frame: dict[str, Any]) -> None:
        op, data = frame.get("op"), frame.get("d")
        if op == 1:
            self.heartbeats += 1
            conn.send_op(11, None)
        elif op == 2:
            await self._identify(conn, data or {})
        elif op == 6:
            await self._resume(conn, data or {})
        elif conn.session is None:
            await conn.ws.close(code=4003, message=b"Not authenticated.")
        elif op == 3:
            self.presences.append(data or {})
        elif op == 4:
            await self._voice_state_update(conn.session, data or {})
        elif op == 8:
            self._request_members(conn.session, data or {})
        else:
            await conn.ws.close(code=4001, message=b"Unknown opcode.")

    async def _identify(self, conn: Connection, data: dict[str, Any]) -> None:
        config = self.state.config
        if conn.session is not None:
            await conn.ws.close(code=4005, message=b"Already authenticated.")
            return
        if data.get("token") != config.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        intents = data.get("intents")
        if not isinstance(intents, int) or intents < 0 or intents >= 1 << 26:
            await conn.ws.close(code=4013, message=b"Invalid intent(s).")
            return
        if any(
            intents & bit and name not in config.privileged_intents
            for name, bit in PRIVILEGED.items()
        ):
            await conn.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard = data.get("shard")
        if shard is None and config.shard_count > 1:
            await conn.ws.close(code=4011, message=b"Sharding required.")
            return
        if shard is not None and not (0 <= shard[0] < shard[1] == config.shard_count):
            await conn.ws.close(code=4010, message=b"Invalid shard.")
            return
        for old in self.sessions:
            if old.shard == shard:
                old.alive = False
        session = Session(
            id=new_token("s"),
            intents=intents,
            shard=shard,
            buffer=deque(maxlen=config.replay_buffer),
        )
        self.sessions.append(session)
        session.connection, conn.session = conn, session
        self._log("identify", conn, session.id)
        session.dispatch(
            "READY",
            payloads.ready(
                self.state, session_id=session.id, resume_url=self._resume_url(), shard=shard
            ),
        )
        for guild in self.state.guilds.values():
            if payloads.in_shard(guild.id, shard):
                session.dispatch("GUILD_CREATE", payloads.guild_create(self.state, guild, intents))
        self.state.notify()

    async def _resume(self, conn: Connection, data: dict[str, Any]) -> None:
        session = next((s for s in self.sessions if s.id == data.get("session_id")), None)
        seq = data.get("seq") or 0
        oldest = session.buffer[0][0] if session and session.buffer else 1
        if data.get("token") != self.state.config.token:
            await conn.ws.close(code=4004, message=b"Authentication failed.")
            return
        if session is None or not session.alive or seq < oldest - 1 or seq > session.seq:
            self._log("invalid_session", conn, data.get("session_id"))
            conn.send_op(9, False)
            self.state.notify()
            return
        previous = session.connection
        if previous is not None:
            previous.session = None
            await previous.ws.close(code=4000, message=b"Session resumed elsewhere.")
        session.connection, conn.session = conn, session
        missed = [frame for s, frame in session.buffer if s > seq]
        for frame in missed:
            conn.send(frame)
        self._log("resume", conn, session.id, f"replayed={len(missed)}")
        session.dispatch("RESUMED", {"_trace": ["emulator"]})
        self.state.notify()

    def _log(self, kind: str, conn: Connection, session_id: str | None, detail: str = "") -> None:
        self.log.append(
            GatewayConnection(kind, conn.request.path, session_id, time.monotonic(), detail)
        )

    # test controls --------------------------------------------------------------------------
    async def drop(self, code: int | None = 4000) -> int:
        """Closes every connection (abruptly, without a close frame, when `code` is None)."""
        dropped = list(self.connections)
        for conn in dropped:
            conn.closed_by_emulator = True
            if conn.session is not None and code is not None and code not in RESUMABLE_CLOSE:
                conn.session.alive = False
            if code is None:
                transport = conn.request.transport
                if transport is not None:
                    transport.abort()
            else:
                await conn.ws.close(code=code, message=b"emulator drop")
        return len(dropped)

    def invalidate_sessions(self) -> None:
        """Forget every session: the next RESUME gets INVALID_SESSION and must IDENTIFY again."""
        for session in self.sessions:
            session.alive = False

    def request_reconnect(self) -> None:
        """Send op 7 RECONNECT to every connection (the client should resume)."""
        for conn in self.connections:
            conn.send_op(7, None)

    def live_sessions(self) -> list[Session]:
        return [s for s in self.sessions if s.alive]

    async def close_all(self) -> None:
        for conn in list(self.connections):
            conn.closed_by_emulator = True
            await conn.ws.close(code=1001, message=b"emulator stopping")

    # dispatch (EventSink) -------------------------------------------------------------------
    def _targets(self, guild_id: int | None) -> list[Session]:
        return [s for s in self.live_sessions() if payloads.in_shard(guild_id, s.shard)]

    def guild_event(
        self, name: str, guild_id: int | None, data: dict[str, Any], intent: int
    ) -> None:
        for session in self._targets(guild_id):
            if intent == 0 or session.intents & intent:
                session.dispatch(name, data)

    def guild_created(self, guild: Guild) -> None:
        for session in self._targets(guild.id):
            session.dispatch(
                "GUILD_CREATE", payloads.guild_create(self.state, guild, session.intents)
            )

    def interaction_event(self, record: InteractionRecord) -> None:
        for session in self._targets(record.guild_id):
            session.dispatch("INTERACTION_CREATE", record.payload)

    def message_event(self, name: str, message: StoredMessage) -> None:
        intent = GUILD_MESSAGES_INTENT if message.guild_id is not None else DIRECT_MESSAGES_INTENT
        if name == "MESSAGE_DELETE":
            data: dict[str, Any] = {"id": str(message.id), "channel_id": str(message.channel_id)}
            if message.guild_id is not None:
                data["guild_id"] = str(message.guild_id)
            self.guild_event(name, message.guild_id, data, intent)
            return
        full = payloads.message_for(self.state, message, gateway=True)
        for session in self._targets(message.guild_id):
            if session.intents & intent:
                session.dispatch(name, full if self._may_read(session, message) else redact(full))

    def _may_read(self, session: Session, message: StoredMessage) -> bool:
        bot = self.state.bot
        return bool(
            session.intents & MESSAGE_CONTENT_INTENT
            or message.guild_id is None
            or message.author.id == bot.id
            or any(u.id == bot.id for u in message.mentions)
        )

    def reaction_event(self, name: str, message: StoredMessage, user_id: int, emoji: str) -> None:
        emoji_name, _, emoji_id = emoji.partition(":")
        data: dict[str, Any] = {
            "user_id": str(user_id),
            "channel_id": str(message.channel_id),
            "message_id": str(message.id),
            "emoji": {"id": emoji_id or None, "name": emoji_name},
            "burst": False,
            "type": 0,
        }
        if name == "MESSAGE_REACTION_ADD":
            data["message_author_id"] = str(message.author.id)
        intent = DIRECT_MESSAGE_REACTIONS_INTENT
        if message.guild_id is not None:
            intent = GUILD_MESSAGE_REACTIONS_INTENT
            data["guild_id"] = str(message.guild_id)
            member = self.state.guilds[message.guild_id].members.get(user_id)
            if member is not None and name == "MESSAGE_REACTION_ADD":
                data["member"] = member.payload()
        self.guild_event(name, message.guild_id, data, intent)

    # voice and members (room for the voice gateway) --------------------------------------------
    async def _voice_state_update(self, session: Session, data: dict[str, Any]) -> None:
        guild_id = int(data["guild_id"])
        raw_channel = data.get("channel_id")
        channel_id = int(raw_channel) if raw_channel else None
        voice = self.state.set_voice_state(
            guild_id,
            self.state.bot.id,
            channel_id,
            self_mute=bool(data.get("self_mute")),
            self_deaf=bool(data.get("self_deaf")),
        )
        provider = self.voice_server_provider
        if provider is not None and channel_id is not None:
            server = await provider(guild_id, channel_id, voice.session_id)
            if server is not None:
                session.dispatch("VOICE_SERVER_UPDATE", {"guild_id": str(guild_id), **server})

    def _request_members(self, session: Session, data: dict[str, Any]) -> None:
        guild = self.state.guilds.get(int(data.get("guild_id", 0)))
        if guild is None:
            return
        members = payloads.visible_members(self.state, guild, session.intents)
        query = (data.get("query") or "").lower()
        wanted = {int(u) for u in data.get("user_ids") or []}
        if wanted:
            members = [m for m in members if m.id in wanted]
        elif query:
            members = [m for m in members if m.user.username.lower().startswith(query)]
        chunk: dict[str, Any] = {
            "guild_id": str(guild.id),
            "members": [m.payload() for m in members],
            "chunk_index": 0,
            "chunk_count": 1,
        }
        if data.get("nonce") is not None:
            chunk["nonce"] = data["nonce"]
        session.dispatch("GUILD_MEMBERS_CHUNK", chunk)


def redact(message: dict[str, Any]) -> dict[str, Any]:
    """What a bot without the message-content intent receives."""
    hidden = {k: v for k, v in message.items() if k != "poll"}
    return {**hidden, "content": "", "embeds": [], "attachments": [], "components": []}

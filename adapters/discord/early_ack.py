"""Acknowledging slow commands straight from the gateway frame.

discord.py acknowledges an interaction only once it has built the ``Interaction``,
run the command tree and the command's checks, and sent the callback through its
HTTP client — about half a millisecond of CPU each, so in a burst of 200 the last
one waits for the work of the 199 before it (docs/bench/discord.md). Commands whose
answer is always a public or ephemeral "thinking…" message (``/ask``) need none of
that to be acknowledged: their deferral is written on a pipelined connection
(``pipeline``) while the ``INTERACTION_CREATE`` frame is being read, before
discord.py parses it.

discord.py then builds those interactions one per event-loop turn (a burst would
otherwise run 200 commands up to their first pause in one turn, tens of milliseconds
in which heartbeats and other interactions wait), and ``TrainerTree.interaction_check``
*claims* the early acknowledgement: it waits
for Discord's answer to it and marks the ``Interaction`` as deferred, so the rest of
the bot (``replies.defer``, the error handler) behaves as if it had deferred itself.
If the early acknowledgement failed in transit, the claim says so and the command
defers the ordinary way; Discord's "already acknowledged" then counts as success.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import discord
import orjson
import structlog

from adapters.discord.pipeline import HttpResponse, PipelinedPoster, PipelineError
from adapters.discord.replies import ALREADY_ACKNOWLEDGED, mark_deferred, ms_since_created

log = structlog.get_logger()

DEFERRED_CHANNEL_MESSAGE = 5
EPHEMERAL = 64
CLAIM_TIMEOUT = 2.5  # seconds; Discord's own window is 3 s

Decide = Callable[[dict[str, Any]], bool | None]
"""For a raw interaction payload: True (defer ephemerally), False (publicly), None (not early)."""


@dataclass(frozen=True, slots=True)
class Claimed:
    ephemeral: bool
    ack_ms: float  # from the interaction's creation (its snowflake) to our callback's write


@dataclass(frozen=True, slots=True)
class _Sent:
    at: float  # monotonic
    ephemeral: bool
    ack_ms: float
    future: asyncio.Future[HttpResponse]


class EarlyAcks:
    """The hook in front of discord.py's parser, the acknowledgements it sent, and the
    backlog of acknowledged interactions discord.py has yet to build."""

    def __init__(self, poster: PipelinedPoster, decide: Decide, *, keep: float = 30.0) -> None:
        self._poster = poster
        self._decide = decide
        self._keep = keep
        self._sent: OrderedDict[int, _Sent] = OrderedDict()
        self._backlog: deque[Any] = deque()
        self._more = asyncio.Event()
        self._drainer: asyncio.Task[None] | None = None
        self._uninstall: Callable[[], None] | None = None
        self.installed = False

    @property
    def connected(self) -> bool:
        """Whether an acknowledgement could be written right now."""
        return self._poster.connected > 0

    def install(self, state: Any) -> bool:
        """Put ourselves in front of discord.py's ``INTERACTION_CREATE`` parser.

        ``state`` is the client's connection state; its ``parsers`` table maps gateway
        events to handlers. Returns False (and the bot acknowledges as usual) when the
        table is not there in this discord.py version.
        """
        parsers = getattr(state, "parsers", None)
        original = parsers.get("INTERACTION_CREATE") if isinstance(parsers, dict) else None
        if original is None or parsers is None:
            log.warning("early_ack_unavailable", reason="discord.py has no parser table")
            return False

        def on_interaction_create(data: Any) -> None:
            if self.receive(data):
                self._backlog.append(data)
                self._more.set()
            else:
                original(data)

        parsers["INTERACTION_CREATE"] = on_interaction_create
        self._uninstall = lambda: parsers.__setitem__("INTERACTION_CREATE", original)
        self._drainer = asyncio.get_running_loop().create_task(self._drain(original))
        self.installed = True
        return True

    async def _drain(self, parse: Callable[[Any], None]) -> None:
        """Hand acknowledged interactions to discord.py, one per event-loop turn."""
        while True:
            await self._more.wait()
            self._more.clear()
            while self._backlog:
                try:
                    parse(self._backlog.popleft())
                except Exception:
                    log.exception("interaction_parse_failed")
                await asyncio.sleep(0)

    def receive(self, data: dict[str, Any]) -> bool:
        """Acknowledge ``data`` now when ``decide`` says so; whether it did (never raises)."""
        try:
            ephemeral = self._decide(data)
            if ephemeral is None:
                return False
            interaction_id = int(data["id"])
            body: dict[str, Any] = {"type": DEFERRED_CHANNEL_MESSAGE}
            if ephemeral:
                body["data"] = {"flags": EPHEMERAL}
            path = f"/interactions/{interaction_id}/{data['token']}/callback"
            future = self._poster.post(path, orjson.dumps(body))
        except Exception:  # an odd payload must never stop the gateway reader
            log.exception("early_ack_failed")
            return False
        future.add_done_callback(_consume)
        now = time.monotonic()
        ack_ms = ms_since_created(interaction_id)
        self._sent[interaction_id] = _Sent(now, ephemeral, ack_ms, future)
        while self._sent:  # forget what was never claimed (an unknown command, say)
            if now - next(iter(self._sent.values())).at < self._keep:
                break
            self._sent.popitem(last=False)
        return True

    async def claim(self, interaction: discord.Interaction[Any]) -> Claimed | None:
        """If ``interaction`` was acknowledged early: mark it deferred and say how.
        None when it was not, or when the attempt failed (defer as usual then)."""
        sent = self._sent.pop(interaction.id, None)
        if sent is None:
            return None
        try:
            async with asyncio.timeout(CLAIM_TIMEOUT):
                response = await asyncio.shield(sent.future)
        except (PipelineError, TimeoutError) as error:
            log.warning("early_ack_lost", error=str(error) or type(error).__name__)
            return None
        if not (200 <= response.status < 300 or _already_acknowledged(response)):
            log.warning("early_ack_refused", status=response.status, body=response.body[:200])
            return None
        mark_deferred(interaction)
        return Claimed(ephemeral=sent.ephemeral, ack_ms=sent.ack_ms)

    async def aclose(self) -> None:
        """Stop acknowledging early; interactions go straight to discord.py again."""
        if self._uninstall is not None:
            self._uninstall()
            self._uninstall = None
            self.installed = False
        if self._drainer is not None:
            self._drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._drainer
            self._drainer = None
        self._sent.clear()
        self._backlog.clear()
        await self._poster.aclose()


def _already_acknowledged(response: HttpResponse) -> bool:
    if response.status != 400:
        return False
    try:
        return orjson.loads(response.body).get("code") == ALREADY_ACKNOWLEDGED  # type: ignore[no-any-return]
    except (orjson.JSONDecodeError, AttributeError):
        return False


def _consume(future: asyncio.Future[HttpResponse]) -> None:
    """Retrieve a failure nobody claims, so asyncio does not warn about it."""
    if not future.cancelled():
        future.exception()

"""Stream an answer into Discord messages: one message edited at most once per
``interval``, continued in new messages when it outgrows the length limit.

The feeder (the chat stream) and the writer (one task doing every REST call, in
order) are decoupled: ``feed`` only appends text, the writer shows the newest text
when the message may be edited again. An answer that is complete before the first
write costs a single request, buttons included.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol

import discord

from adapters.discord.chunking import DISCORD_LIMIT, cut


class Editable(Protocol):
    """A message the writer can change."""

    @property
    def id(self) -> int: ...

    async def edit(self, *, content: str, view: discord.ui.View | None = None) -> object: ...


Send = Callable[[str, discord.ui.View | None], Awaitable[Editable]]
"""Create a message with this content (and view); the writer calls it in order."""


class _Shown:
    def __init__(self, message: Editable, content: str, at: float) -> None:
        self.message = message
        self.content = content
        self.at = at


class StreamingReply:
    """``feed`` pieces, then ``finish(view)``; ``messages`` are what was sent, in order.

    ``first`` creates the first message (or fills a deferred response), ``more`` the
    next ones. Use as ``async with StreamingReply(...) as reply`` so the writer task
    is always stopped.
    """

    def __init__(
        self,
        *,
        first: Send,
        more: Send,
        interval: float = 1.0,
        limit: int = DISCORD_LIMIT,
        empty_text: str = "…",
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._first, self._more = first, more
        self._interval, self._limit = interval, limit
        self._empty = empty_text
        self._clock, self._sleep = clock, sleep
        self._frozen: deque[str] = deque()  # complete messages not yet written
        self._tail = ""  # raw text of the message still growing
        self._dirty = False
        self._closing = False
        self._wake = asyncio.Event()
        self._current: _Shown | None = None
        self._shown: list[_Shown] = []
        self._writer: asyncio.Task[None] | None = None
        self._requests = 0

    @property
    def messages(self) -> list[Editable]:
        return [shown.message for shown in self._shown]

    @property
    def requests(self) -> int:
        """Requests made so far (creations and edits)."""
        return self._requests

    async def __aenter__(self) -> StreamingReply:
        self._writer = asyncio.create_task(self._write(), name="discord-stream-writer")
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._writer is not None and not self._writer.done():
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

    def feed(self, piece: str) -> None:
        """Append text; cheap and synchronous (the writer does the requests)."""
        if not piece:
            return
        self._tail += piece
        while len(self._tail) > self._limit:
            head, self._tail = cut(self._tail, self._limit)
            if head.strip():
                self._frozen.append(head)
        self._dirty = True
        self._wake.set()

    async def finish(self, view: discord.ui.View | None = None) -> list[Editable]:
        """Write everything that is left, with ``view`` on the last message."""
        await self._drain()
        while self._frozen:  # text fed after the writer stopped
            await self._put(self._frozen.popleft(), None)
            self._current = None
        final = self._tail.strip("\n")
        if self._current is None and not final.strip():
            final = self._empty if not self._shown else ""
        if final.strip():
            await self._put(final, view)
        elif view is not None and self._shown:  # the text ended exactly at a cut
            last = self._shown[-1]
            await self._edit(last, last.content, view)
        return self.messages

    async def abort(self, note: str) -> bool:
        """Stop; show what arrived followed by ``note``. False when nothing arrived."""
        if not self._shown and not self._tail.strip() and not self._frozen:
            await self._drain()
            return False
        self.feed(f"\n\n{note}")
        await self.finish(None)
        return True

    # ----------------------------------------------------------------- writer

    async def _drain(self) -> None:
        self._closing = True
        self._wake.set()
        if self._writer is not None:
            await self._writer
            self._writer = None

    async def _write(self) -> None:
        while True:
            if self._frozen:
                await self._put(self._frozen.popleft(), None)
                self._current = None  # the next text starts a new message
                continue
            if self._closing:
                return
            if self._dirty and self._tail.strip():
                wait = self._wait_for(self._current)
                if wait > 0:
                    await self._sleep_or_close(wait)
                    continue
                self._dirty = False
                await self._put(self._tail.strip("\n"), None)
                continue
            self._wake.clear()
            await self._wake.wait()

    async def _sleep_or_close(self, wait: float) -> None:
        """Sleep until the message may be edited; closing cuts the sleep short."""
        self._wake.clear()
        sleeper = asyncio.ensure_future(self._sleep(wait))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    def _wait_for(self, shown: _Shown | None) -> float:
        if shown is None:
            return 0.0
        return shown.at + self._interval - self._clock()

    async def _put(self, content: str, view: discord.ui.View | None) -> None:
        """Show ``content`` in the current message, creating it if needed."""
        if self._current is None:
            send = self._more if self._shown else self._first
            message = await send(content, view)
            self._requests += 1
            self._current = _Shown(message, content, self._clock())
            self._shown.append(self._current)
            return
        await self._edit(self._current, content, view)

    async def _edit(self, shown: _Shown, content: str, view: discord.ui.View | None) -> None:
        if content == shown.content and view is None:
            return
        wait = self._wait_for(shown)
        if wait > 0:
            await self._sleep(wait)
        await shown.message.edit(content=content, view=view)
        self._requests += 1
        shown.content, shown.at = content, self._clock()

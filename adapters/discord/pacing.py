"""Keeping the edge responsive under bursts.

- ``AckFirst``: answer work waits (briefly) while interactions are still waiting
  for their acknowledgement, so that a burst of commands is acknowledged before the
  bot starts talking to storage and the model for any of them.
- ``slots``: at most N answers are generated at once; the rest queue (fairly).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import discord


class AckFirst:
    def __init__(self, *, max_wait: float = 0.25, poll: float = 0.005) -> None:
        self._pending: dict[int, tuple[float, discord.Interaction[Any]]] = {}
        self._max_wait = max_wait
        self._poll = poll
        self._clear: asyncio.Event | None = None
        self._poller: asyncio.Task[None] | None = None

    def arrived(self, interaction: discord.Interaction[Any]) -> None:
        self._pending[interaction.id] = (time.monotonic(), interaction)

    def waiting(self) -> int:
        """Interactions not acknowledged yet (those past Discord's 3 s window are dropped)."""
        stale = time.monotonic() - 3.0
        for key, (at, interaction) in list(self._pending.items()):
            if at < stale or interaction.response.is_done():
                del self._pending[key]
        return len(self._pending)

    async def settled(self) -> None:
        """Return once no interaction awaits its acknowledgement (or ``max_wait`` passed).

        One poller watches for everybody, however many answers are waiting.
        """
        if not self.waiting():
            return
        if self._clear is None or self._clear.is_set():
            self._clear = asyncio.Event()
            self._poller = asyncio.create_task(self._watch(self._clear))
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._max_wait):
                await self._clear.wait()

    async def _watch(self, clear: asyncio.Event) -> None:
        deadline = time.monotonic() + self._max_wait
        # discord.py signals no event when an interaction is acknowledged: poll, once
        while self.waiting() and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(self._poll)
        clear.set()

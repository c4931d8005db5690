"""Show the newest state of something slow in ONE message, at most once per interval."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger()

Edit = Callable[[str], Awaitable[object]]


class LatestEditor:
    """``show(content)`` as often as you like; the message follows, throttled.

    Intermediate states may be skipped (only the newest is shown); ``close(final)``
    waits for the throttle and writes ``final`` last. A failing edit is logged and
    does not stop the work being reported.
    """

    def __init__(
        self,
        edit: Edit,
        *,
        interval: float = 1.0,
        shown: str | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._edit = edit
        self._sleep = sleep
        self._interval = interval
        self._clock = clock
        self._shown = shown
        self._latest: str | None = None
        self._last = clock() if shown is not None else -float("inf")
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._run(), name="discord-progress-editor")

    def show(self, content: str) -> None:
        self._latest = content
        self._wake.set()

    async def close(self, final: str | None = None) -> None:
        if final is not None:
            self._latest = final
        self._closed = True
        self._wake.set()
        await self._task

    async def cancel(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            content = self._latest
            if content is not None and content != self._shown:
                wait = self._last + self._interval - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                    content = self._latest  # the newest, after the wait
                await self._write(content)
            if self._closed and self._latest in (None, self._shown):
                return
            if self._closed:
                self._wake.set()

    async def _write(self, content: str | None) -> None:
        if content is None or content == self._shown:
            return
        try:
            await self._edit(content)
        except Exception as exc:  # progress display must never break the work
            log.warning("progress_edit_failed", error_type=type(exc).__name__)
        self._shown = content
        self._last = self._clock()

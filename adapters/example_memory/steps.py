"""Run blocking steps in a worker pool, one after another, cancellably.

Cancelling the awaiting task cannot stop a thread that already runs a step, so
:meth:`Steps.settle` waits for that step to finish before anybody cleans up the
files it may still be writing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, TypeVar

T = TypeVar("T")


class Steps:
    def __init__(self, executor: Executor) -> None:
        self._executor = executor
        self.last: Future[Any] | None = None

    async def __call__(self, fn: Callable[[], T]) -> T:
        future: Future[T] = self._executor.submit(fn)
        self.last = future
        return await asyncio.wrap_future(future)

    async def settle(self) -> bool:
        """Wait until the last step's thread is done; True if a cancel came meanwhile."""
        future = self.last
        interrupted = False
        while future is not None and not future.done():
            try:
                await asyncio.wait([asyncio.wrap_future(future)])
            except asyncio.CancelledError:
                interrupted = True
        return interrupted

    def last_result(self) -> Any:
        """What the last step returned, or None if it failed or never ran."""
        future = self.last
        if future is None or not future.done() or future.cancelled():
            return None
        if future.exception() is not None:
            return None
        return future.result()

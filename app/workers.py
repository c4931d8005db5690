"""The bounded worker pool that CPU-bound domain work is offloaded to."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import structlog

T = TypeVar("T")
log = structlog.get_logger()


class WorkerPool:
    """Implements ``domain.ports.Offload`` on a fixed-size thread pool.

    The queue length (submitted but not yet finished) is logged on submission so
    that a backlog is visible.
    """

    def __init__(self, *, threads: int, name: str = "trainerbot-worker") -> None:
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix=name)
        self._pending = 0

    async def __call__(self, fn: Callable[[], T]) -> T:
        loop = asyncio.get_running_loop()
        ctx = contextvars.copy_context()
        self._pending += 1
        if self._pending > 1:
            log.debug("worker_queue", pending=self._pending)
        try:
            return await loop.run_in_executor(self._executor, ctx.run, fn)
        finally:
            self._pending -= 1

    @property
    def pending(self) -> int:
        return self._pending

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

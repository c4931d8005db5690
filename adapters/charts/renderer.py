"""``ChartRenderer`` with matplotlib: drawing runs in one worker thread, off the loop."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import structlog

from domain.models import EvalComparison, EvalRun

log = structlog.get_logger()


def _draw(subject: EvalRun | EvalComparison) -> bytes:
    from adapters.charts.drawing import render_png  # matplotlib loads on first use

    return render_png(subject)


class MatplotlibChartRenderer:
    """Implements ``domain.ports.ChartRenderer``; PNGs of a fixed size (see ``drawing``)."""

    def __init__(self) -> None:
        self._pool: ThreadPoolExecutor | None = None

    async def render(self, subject: EvalRun | EvalComparison) -> bytes:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="charts")
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        png = await loop.run_in_executor(self._pool, partial(_draw, subject))
        log.info(
            "chart_rendered",
            kind="run" if isinstance(subject, EvalRun) else "comparison",
            bytes=len(png),
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return png

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

"""Training jobs on Discord: ONE status message per job, edited as it progresses, and
a message mentioning whoever started it when it finishes or fails."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass

import structlog

from adapters.discord.progress import LatestEditor
from domain.models import TrainingJob

log = structlog.get_logger()

Render = Callable[[TrainingJob], str]
Announce = Callable[[TrainingJob], Awaitable[object]]
_REMEMBERED = 200  # newest states kept for jobs not (yet) on the board


@dataclass
class _Entry:
    editor: LatestEditor
    render: Render
    announce: Announce


class JobBoard:
    """Listens to the training service (``watch(board.on_change)``)."""

    def __init__(self, *, interval: float = 1.0) -> None:
        self._interval = interval
        self._entries: dict[str, _Entry] = {}
        self._latest: OrderedDict[str, TrainingJob] = OrderedDict()
        self._tasks: set[asyncio.Task[None]] = set()

    def track(
        self,
        job: TrainingJob,
        *,
        shown: str,
        edit: Callable[[str], Awaitable[object]],
        render: Render,
        announce: Announce,
    ) -> None:
        """Follow ``job`` in the message showing ``shown``: the newest state seen so far
        (``job`` itself when none was) is applied at once."""
        editor = LatestEditor(edit, interval=self._interval, shown=shown)
        self._entries[job.id] = _Entry(editor, render, announce)
        self._apply(self._latest.get(job.id, job))

    async def on_change(self, job: TrainingJob) -> None:
        """The service's listener: cheap, never blocks the job on Discord."""
        self._latest[job.id] = job
        self._latest.move_to_end(job.id)
        while len(self._latest) > _REMEMBERED:
            self._latest.popitem(last=False)
        self._apply(job)

    def _apply(self, job: TrainingJob) -> None:
        entry = self._entries.get(job.id)
        if entry is None:
            return
        if not job.status.finished:
            entry.editor.show(entry.render(job))
            return
        del self._entries[job.id]
        self._spawn(self._finish(entry, job))

    async def _finish(self, entry: _Entry, job: TrainingJob) -> None:
        await entry.editor.close(entry.render(job))
        try:
            await entry.announce(job)
        except Exception as exc:
            log.warning("job_announcement_failed", job_id=job.id, error_type=type(exc).__name__)

    def _spawn(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(work, name="discord-job-finished")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop following jobs (they go on; their messages stop changing)."""
        for entry in self._entries.values():
            await entry.editor.cancel()
        self._entries.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=5)

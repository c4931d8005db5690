"""The daily backup that ``trainerbot run`` (and ``trainerbot chat``) keep while they run.

``TRAINERBOT_BACKUP__DAILY=true`` starts it; it writes ``trainerbot-daily-<stamp>.zip``
into the backup folder and keeps the newest ``TRAINERBOT_BACKUP__KEEP`` of them
(backups written by hand are never removed). The archive is written in a thread,
off the event loop, by :func:`app.backup.write_backup`.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import structlog

from app.backup_archive import STAMP
from app.settings import Settings
from domain.models import utcnow

if TYPE_CHECKING:
    from app.backup import BackupResult

log = structlog.get_logger()

DAILY_PREFIX = "trainerbot-daily-"
_DAILY = re.compile(re.escape(DAILY_PREFIX) + r"(\d{8}T\d{6}Z)\.zip")
_LEFTOVER = re.compile(r"\..+\.partial-[0-9a-f]{8}|\.backup-.+")  # what write_backup leaves
_LEFTOVER_AGE = 3600.0  # seconds: a partial archive or staging folder older than this is dead


class BackupStopped(Exception):
    """The bot is shutting down: the backup in progress was abandoned."""


def start_daily_backups(settings: Settings) -> DailyBackups | None:
    """The daily backup task, when ``backup.daily`` is on (call inside the running loop)."""
    if not settings.backup.daily:
        return None
    backups = DailyBackups(settings)
    backups.start()
    log.info("daily_backups_started", folder=str(settings.backups_dir), keep=settings.backup.keep)
    return backups


def prune_daily(folder: Path, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` daily backups, and what killed backups left."""
    dailies = sorted(p for p in _entries(folder) if _DAILY.fullmatch(p.name))
    removed = dailies[:-keep] if keep > 0 else dailies
    for path in removed:
        path.unlink(missing_ok=True)
    cutoff = time.time() - _LEFTOVER_AGE
    for path in _entries(folder):
        if _LEFTOVER.fullmatch(path.name) and _mtime(path) < cutoff:
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
    return removed


def newest_daily(folder: Path) -> datetime | None:
    stamps = [m.group(1) for p in _entries(folder) if (m := _DAILY.fullmatch(p.name))]
    if not stamps:
        return None
    return datetime.strptime(max(stamps), STAMP).replace(tzinfo=UTC)


def _entries(folder: Path) -> list[Path]:
    try:
        return list(folder.iterdir())
    except FileNotFoundError:
        return []


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return time.time()


class DailyBackups:
    """An asyncio task that writes a backup a day and keeps the newest ``keep``.

    The first one is due a day after the newest daily backup in the folder (after
    ``first_delay`` when there is none), so restarting the bot neither skips nor
    repeats a day. The archive is written in a thread; ``aclose()`` stops it between
    two files and removes the partial file.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Callable[[], datetime] = utcnow,
        interval: timedelta = timedelta(days=1),
        first_delay: timedelta = timedelta(minutes=1),
        retry: timedelta = timedelta(hours=1),
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._interval, self._first_delay, self._retry = interval, first_delay, retry
        self._stop = threading.Event()
        self._task: asyncio.Task[None] | None = None
        self._writing: asyncio.Future[BackupResult] | None = None
        self.written: list[Path] = []

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="daily-backups")

    async def aclose(self) -> None:
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._writing is not None:  # the thread sees the stop between two files
            await asyncio.wait({self._writing})
            if not self._writing.cancelled():
                self._writing.exception()  # retrieved: a stopped or failed one is logged already

    def _seconds_to_next(self) -> float:
        newest = newest_daily(self._settings.backups_dir)
        now = self._clock()
        due = now + self._first_delay if newest is None else newest + self._interval
        return max(0.0, (due - now).total_seconds())

    async def _run(self) -> None:
        from adapters.storage_sql.backup import sqlite_file

        files_only = sqlite_file(self._settings.database_url) is None
        if files_only:
            log.warning("backup_database_not_included", hint="PostgreSQL: back it up with pg_dump")
        while True:
            await asyncio.sleep(await asyncio.to_thread(self._seconds_to_next))
            self._writing = asyncio.ensure_future(asyncio.to_thread(self._write, files_only))
            try:
                result = await asyncio.shield(self._writing)  # aclose() waits for the thread
            except BackupStopped:
                return
            except Exception:
                log.exception("backup_failed", retry_seconds=self._retry.total_seconds())
                await asyncio.sleep(self._retry.total_seconds())
                continue
            self.written.append(result.path)
            removed = await asyncio.to_thread(
                prune_daily, self._settings.backups_dir, self._settings.backup.keep
            )
            if removed:
                log.info("backups_pruned", removed=[p.name for p in removed])

    def _write(self, files_only: bool) -> BackupResult:
        from app.backup import write_backup

        def check() -> None:
            if self._stop.is_set():
                raise BackupStopped

        return write_backup(
            self._settings,
            files_only=files_only,
            now=self._clock(),
            prefix=DAILY_PREFIX,
            check=check,
        )

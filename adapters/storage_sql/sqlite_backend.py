"""SQLite through the stdlib ``sqlite3`` driver, driven from the event loop.

A statement on a local WAL database takes microseconds, far less than a hop to a
driver thread (measured in ``docs/bench/storage.md``), so small statements run
inline. Whatever could block is kept off the loop:

- big reads and batches (more than ``HEAVY_ROWS`` rows) run in a worker thread;
- the driver never waits for a lock (``busy_timeout=0``): taking the write lock
  is retried with ``asyncio.sleep`` until ``lock_timeout``;
- a unit of work waits for one of the ``pool_size`` connections on the loop (a
  semaphore in front of SQLAlchemy's pool, so the pool itself never waits);
- checkpoints (the only fsyncs with ``synchronous=NORMAL``) run in a thread,
  every ``checkpoint_every`` commits, instead of inside a commit.

Transactions follow SQLAlchemy's documented recipe for pysqlite ("Transactions
with SQLite and the sqlite3 driver"): the ``connect`` event turns the driver's own
transaction handling off (``isolation_level = None``) and the ``begin`` event says
``BEGIN`` itself, here ``BEGIN IMMEDIATE`` so that a write transaction holds the
file's write lock from its first statement. Reads before a unit of work's first
write run in no transaction of the file's and see the latest committed data (like
PostgreSQL's READ COMMITTED); the first write takes an in-process writer lock and
begins the write transaction; commit or rollback ends both. So units of work never
fail on a stale read snapshot, and writers queue fairly.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy.exc as sa_exc
import structlog
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, CursorResult, Engine
from sqlalchemy.pool import QueuePool
from sqlalchemy.sql import Executable

from adapters.storage_sql.errors import busy, is_busy, translate
from adapters.storage_sql.session import HEAVY_ROWS, build_params, in_thread
from domain.errors import InvalidInput

log = structlog.get_logger()

T = TypeVar("T")
Item = TypeVar("Item")

_CONNECT_PRAGMAS = (
    "PRAGMA busy_timeout = 5000",  # only while setting up (WAL needs a lock once)
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = NORMAL",
    "PRAGMA foreign_keys = ON",
    "PRAGMA wal_autocheckpoint = 0",  # checkpoints run in a thread, see below
    "PRAGMA journal_size_limit = 67108864",
    "PRAGMA busy_timeout = 0",
)

# How long a migration waits for another process's write lock (it may be migrating).
MIGRATION_WAIT = 30.0


def _on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # the driver never says BEGIN: _on_begin does
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _CONNECT_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


_fail = translate


class SqliteBackend:
    dialect = "sqlite"

    def __init__(
        self,
        url: URL,
        *,
        echo: bool = False,
        pool_size: int = 8,
        lock_timeout: float = 10.0,
        checkpoint_every: int = 500,
    ) -> None:
        database = url.database or ""
        if database in ("", ":memory:") or database.startswith("file::memory:"):
            raise InvalidInput(
                "SQLite storage needs a file path (an in-memory database is not kept)."
            )
        self.path = Path(database)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(
            url.set(drivername="sqlite+pysqlite"),
            echo=echo,
            poolclass=QueuePool,
            pool_size=pool_size,
            max_overflow=0,
            pool_timeout=lock_timeout,
            connect_args={"check_same_thread": False},
        )
        event.listen(self.engine, "connect", _on_connect)
        event.listen(self.engine, "begin", self._on_begin)
        self.writes: set[Connection] = set()  # the connections whose next transaction writes
        self.lock_timeout = lock_timeout
        self.writer = asyncio.Lock()  # one write transaction at a time in this process
        self.slots = asyncio.Semaphore(pool_size)  # never block the loop on the pool
        self._checkpoint_every = checkpoint_every
        self._commits = 0
        self._checkpoint: asyncio.Task[None] | None = None

    def session(self) -> SqliteSession:
        return SqliteSession(self)

    def _on_begin(self, conn: Connection) -> None:
        """A write transaction takes the file's write lock at once; SQLAlchemy's
        transaction around reads before the first write stays empty on the file."""
        if conn in self.writes:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    async def migrate(self, upgrade: Callable[[Connection], None]) -> None:
        """Run ``upgrade`` in one write transaction, in a thread."""
        session = self.session()
        await session.open()
        try:
            await session.write_in_thread(upgrade, "migrate", wait=MIGRATION_WAIT)
            await session.commit()
        finally:
            await session.close()

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= self._checkpoint_every and self._checkpoint is None:
            self._commits = 0
            self._checkpoint = asyncio.get_running_loop().create_task(self._run_checkpoint())

    async def _run_checkpoint(self, mode: str = "PASSIVE") -> None:
        def run() -> None:
            conn = sqlite3.connect(self.path, isolation_level=None)
            try:
                conn.execute(f"PRAGMA wal_checkpoint({mode})")
            finally:
                conn.close()

        try:
            await in_thread(run)
        except sqlite3.Error as exc:
            log.warning("storage_checkpoint_failed", error=type(exc).__name__)
        finally:
            self._checkpoint = None

    async def aclose(self) -> None:
        if self._checkpoint is not None:
            await asyncio.wait({self._checkpoint})
        await self._run_checkpoint("TRUNCATE")
        self.engine.dispose()


class SqliteSession:
    """One unit of work's connection; see the module docstring for the rules."""

    dialect = "sqlite"

    def __init__(self, backend: SqliteBackend) -> None:
        self._b = backend
        self._conn: Connection | None = None
        self._writing = False

    async def open(self) -> None:
        slots = self._b.slots
        try:
            async with asyncio.timeout(self._b.lock_timeout):
                await slots.acquire()
        except TimeoutError:
            raise busy() from None
        try:
            self._conn = self._b.engine.connect()  # a free one: the slot says so
        except Exception as exc:
            slots.release()
            raise _fail(exc, "connect") from exc

    def _connection(self) -> Connection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn

    async def _retry_busy(
        self, fn: Callable[[], T], operation: str, wait: float | None = None
    ) -> T:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._b.lock_timeout if wait is None else wait)
        delay = 0.001
        while True:
            try:
                return fn()
            except sa_exc.OperationalError as exc:
                if not is_busy(exc) or loop.time() + delay > deadline:
                    raise _fail(exc, operation) from exc
            except Exception as exc:
                raise _fail(exc, operation) from exc
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)

    async def _begin_write(self, wait: float | None = None) -> None:
        writer = self._b.writer
        timeout = self._b.lock_timeout if wait is None else wait
        if writer.locked():
            try:
                async with asyncio.timeout(timeout):
                    await writer.acquire()
            except TimeoutError:
                log.warning("storage_writer_timeout", seconds=timeout)
                raise busy() from None
        else:
            await writer.acquire()
        conn = self._connection()
        try:
            conn.rollback()  # SQLAlchemy's transaction around the reads so far (empty)
            self._b.writes.add(conn)
            await self._retry_busy(conn.begin, "begin", wait)  # BEGIN IMMEDIATE: _on_begin
        except BaseException:
            self._b.writes.discard(conn)
            writer.release()
            raise
        self._writing = True

    def _end_write(self) -> bool:
        if not self._writing:
            return False
        self._writing = False
        if self._conn is not None:
            self._b.writes.discard(self._conn)
        self._b.writer.release()
        return True

    async def read(self, stmt: Executable, params: dict[str, Any] | None = None) -> Any:
        conn = self._connection()
        if self._writing:
            try:
                return conn.execute(stmt, params)
            except Exception as exc:
                raise _fail(exc, "read") from exc
        return await self._retry_busy(lambda: conn.execute(stmt, params), "read")

    async def write(
        self, stmt: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        if not self._writing:
            await self._begin_write()
        try:
            return self._connection().execute(stmt, params)
        except Exception as exc:
            raise _fail(exc, "write") from exc

    async def write_in_thread(
        self, work: Callable[[Connection], None], operation: str, *, wait: float
    ) -> None:
        """``work`` on the write transaction, in a thread; the lock is waited for
        up to ``wait`` seconds."""
        if not self._writing:
            await self._begin_write(wait)
        conn = self._connection()
        try:
            await in_thread(lambda: work(conn))
        except Exception as exc:
            raise _fail(exc, operation) from exc

    async def read_mapped(
        self,
        stmt: Executable,
        params: dict[str, Any],
        mapper: Callable[[Any], T],
        *,
        heavy: bool,
    ) -> list[T]:
        if not heavy:
            return [mapper(row) for row in (await self.read(stmt, params)).all()]
        conn = self._connection()
        try:
            return await in_thread(lambda: [mapper(row) for row in conn.execute(stmt, params)])
        except Exception as exc:
            raise _fail(exc, "read") from exc

    async def write_many(
        self,
        stmt: Executable,
        items: Sequence[Item],
        to_params: Callable[[Item], dict[str, Any]],
        *,
        extra: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        if not items:
            return
        if not self._writing:
            await self._begin_write()
        conn = self._connection()
        try:
            if len(items) > HEAVY_ROWS:
                await in_thread(lambda: conn.execute(stmt, build_params(items, to_params, extra)))
            else:
                rows = build_params(items, to_params, extra)
                conn.execute(stmt, rows[0] if len(rows) == 1 else rows)
        except Exception as exc:
            raise _fail(exc, "write") from exc

    async def commit(self) -> None:
        conn = self._connection()
        try:
            conn.commit()
        except Exception as exc:
            # A failed COMMIT may leave the file's transaction open: drop the connection
            # (closing it rolls back); the unit of work reconnects if it goes on.
            with contextlib.suppress(Exception):
                conn.invalidate()
            self._end_write()
            raise _fail(exc, "commit") from exc
        if self._end_write():
            self._b.committed()

    async def rollback(self) -> None:
        try:
            self._connection().rollback()
        finally:
            self._end_write()

    async def close(self) -> None:
        conn = self._conn
        if conn is None:
            return
        try:
            conn.close()  # rolls back what is left; the pool keeps the connection open
        except Exception:
            with contextlib.suppress(Exception):
                conn.invalidate()
        finally:
            self._end_write()
            self._conn = None
            self._b.slots.release()

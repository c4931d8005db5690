"""Any database with an asyncio driver (PostgreSQL through asyncpg).

Each unit of work holds one pooled connection and one transaction in the
server's default isolation (READ COMMITTED on PostgreSQL). Migrations take a
transaction-scoped advisory lock so that two processes starting at once do not
both create the schema.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from adapters.storage_sql.errors import translate
from adapters.storage_sql.session import HEAVY_ROWS, build_params, in_thread

T = TypeVar("T")
Item = TypeVar("Item")

_MIGRATION_LOCK = 0x7472_6169_6E65_72  # "trainer", any constant shared by all processes


_fail = translate


class AsyncBackend:
    def __init__(
        self,
        url: URL,
        *,
        echo: bool = False,
        pool_size: int = 8,
        lock_timeout: float = 10.0,
        command_timeout: float = 30.0,
        pre_ping: bool = False,
    ) -> None:
        connect_args: dict[str, Any] = {}
        if url.get_backend_name() == "postgresql" and url.get_driver_name() == "asyncpg":
            connect_args = {"timeout": lock_timeout, "command_timeout": command_timeout}
        self.engine: AsyncEngine = create_async_engine(
            url,
            echo=echo,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_timeout=lock_timeout,
            # No ping per checkout (a round trip per unit of work): after a server
            # restart one unit of work fails with StorageUnavailable and the pool
            # replaces its connections.
            pool_pre_ping=pre_ping,
            connect_args=connect_args,
        )
        self.dialect = self.engine.dialect.name

    def session(self) -> AsyncEngineSession:
        return AsyncEngineSession(self.engine, self.dialect)

    async def migrate(self, upgrade: Callable[[Connection], None]) -> None:
        try:
            async with self.engine.connect() as conn:
                if self.dialect == "postgresql":
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                    )
                await conn.run_sync(upgrade)
                await conn.commit()
        except Exception as exc:
            raise _fail(exc, "migrate") from exc

    async def aclose(self) -> None:
        await self.engine.dispose()


class AsyncEngineSession:
    """One unit of work's connection on the asyncio engine (not SQLAlchemy's ORM
    ``AsyncSession``: statements are Core, one transaction per unit of work)."""

    def __init__(self, engine: AsyncEngine, dialect: str) -> None:
        self._engine = engine
        self.dialect = dialect
        self._conn: AsyncConnection | None = None

    async def open(self) -> None:
        try:
            self._conn = await self._engine.connect()
        except Exception as exc:
            raise _fail(exc, "connect") from exc

    def _connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("use the unit of work inside `async with`")
        return self._conn

    async def read(self, stmt: Executable, params: dict[str, Any] | None = None) -> Any:
        try:
            return await self._connection().execute(stmt, params)
        except Exception as exc:
            raise _fail(exc, "read") from exc

    async def write(
        self, stmt: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        try:
            return await self._connection().execute(stmt, params)
        except Exception as exc:
            raise _fail(exc, "write") from exc

    async def read_mapped(
        self,
        stmt: Executable,
        params: dict[str, Any],
        mapper: Callable[[Any], T],
        *,
        heavy: bool,
    ) -> list[T]:
        result = await self.read(stmt, params)  # buffered: rows are already here
        if not heavy:
            return [mapper(row) for row in result.all()]
        return await in_thread(lambda: [mapper(row) for row in result.all()])

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
        if len(items) > HEAVY_ROWS:
            rows = await in_thread(lambda: build_params(items, to_params, extra))
        else:
            rows = build_params(items, to_params, extra)
        try:
            await self._connection().execute(stmt, rows[0] if len(rows) == 1 else rows)
        except Exception as exc:
            raise _fail(exc, "write") from exc

    async def commit(self) -> None:
        try:
            await self._connection().commit()
        except Exception as exc:
            raise _fail(exc, "commit") from exc

    async def rollback(self) -> None:
        await self._connection().rollback()

    async def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

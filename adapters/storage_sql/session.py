"""What a repository needs from one unit of work's connection.

Two implementations: :mod:`sqlite_backend` (the stdlib ``sqlite3`` driver, small
statements run inline, big batches in a thread) and :mod:`async_backend`
(SQLAlchemy's asyncio engine, e.g. asyncpg for PostgreSQL). Repositories are
written once against this protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import CursorResult
from sqlalchemy.sql import Executable

T = TypeVar("T")
Item = TypeVar("Item")

# A read or a batch above this many rows is mapped in a worker thread.
HEAVY_ROWS = 256


class Session(Protocol):
    dialect: str  # "sqlite" or "postgresql"

    async def read(self, stmt: Executable, params: dict[str, Any] | None = None) -> Any:
        """Execute a query; the buffered result (``.first()``, ``.all()``, ``.scalar()``)."""
        ...

    async def write(
        self, stmt: Executable, params: dict[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Execute a statement that changes data (inside the write transaction)."""
        ...

    async def read_mapped(
        self,
        stmt: Executable,
        params: dict[str, Any],
        mapper: Callable[[Any], T],
        *,
        heavy: bool,
    ) -> list[T]:
        """Every row of a query through ``mapper``; off the event loop when ``heavy``."""
        ...

    async def write_many(
        self,
        stmt: Executable,
        items: Sequence[Item],
        to_params: Callable[[Item], dict[str, Any]],
        *,
        extra: Callable[[int], dict[str, Any]] | None = None,
    ) -> None:
        """One statement for many rows: ``to_params(item) | extra(index)``."""
        ...

    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...
    async def close(self) -> None: ...


def build_params(
    items: Iterable[Item],
    to_params: Callable[[Item], dict[str, Any]],
    extra: Callable[[int], dict[str, Any]] | None,
) -> list[dict[str, Any]]:
    if extra is None:
        return [to_params(item) for item in items]
    return [to_params(item) | extra(i) for i, item in enumerate(items)]


async def in_thread(fn: Callable[[], T]) -> T:
    """Run ``fn`` in a worker thread; if we are cancelled, wait for it to finish.

    The function uses the unit of work's connection, so the connection must not be
    rolled back or closed on the loop while the thread still works with it.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await asyncio.wait({task})
        raise

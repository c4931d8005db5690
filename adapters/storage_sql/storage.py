"""``SqlStorage``: the database behind every unit of work."""

from __future__ import annotations

import structlog
from sqlalchemy.engine import Connection, make_url

from adapters.storage_sql.async_backend import AsyncBackend
from adapters.storage_sql.migrate import current_revision, upgrade_to_head
from adapters.storage_sql.sqlite_backend import SqliteBackend
from adapters.storage_sql.unit_of_work import SqlUnitOfWork
from domain.errors import InvalidInput

log = structlog.get_logger()


class SqlStorage:
    """SQLite (``sqlite:///path/to/file.db``, the default) or PostgreSQL
    (``postgresql+asyncpg://user:password@host/db``).

    ``await migrate()`` once at start-up, then ``unit_of_work()`` for each
    transaction, and ``await aclose()`` on shutdown.

    SQLite is always driven through the stdlib ``sqlite3`` module (see
    ``sqlite_backend``), whatever driver a ``sqlite`` URL names: the
    ``sqlite+aiosqlite://`` of older configurations opens the same file.
    ``lock_timeout`` bounds every wait for a connection or a lock, ``pool_size``
    the connections held.
    """

    def __init__(
        self,
        url: str,
        *,
        echo: bool = False,
        pool_size: int = 8,
        lock_timeout: float = 10.0,
    ) -> None:
        try:
            parsed = make_url(url)
        except Exception:
            raise InvalidInput("The database URL is not valid.") from None
        self.backend_name = parsed.get_backend_name()
        self._backend: SqliteBackend | AsyncBackend
        if self.backend_name == "sqlite":
            self._backend = SqliteBackend(
                parsed, echo=echo, pool_size=pool_size, lock_timeout=lock_timeout
            )
        else:
            self._backend = AsyncBackend(
                parsed, echo=echo, pool_size=pool_size, lock_timeout=lock_timeout
            )
        self._safe_url = parsed.render_as_string(hide_password=True)

    async def migrate(self) -> None:
        """Bring the schema to the newest revision (harmless when it is there)."""
        revisions: list[str | None] = []

        def upgrade(connection: Connection) -> None:
            revisions.append(current_revision(connection))
            upgrade_to_head(connection)
            revisions.append(current_revision(connection))

        await self._backend.migrate(upgrade)
        before, after = revisions
        if before != after:
            log.info("storage_migrated", url=self._safe_url, before=before, after=after)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self._backend.session())

    async def aclose(self) -> None:
        await self._backend.aclose()

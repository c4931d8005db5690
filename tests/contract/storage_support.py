"""Storage backends for tests: the fake, a SQLite file, a fresh PostgreSQL database.

PostgreSQL runs only when ``TRAINERBOT_TEST_POSTGRES_URL`` names a server
(``scripts/start-test-postgres.sh DIR`` prints one). Creating a database costs
~0.4 s there, so ``migrated_storage`` migrates one shared database per test run
and empties its tables before each test; ``fresh_postgres_database`` gives a new
database (for migration tests), dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from adapters.storage_sql import SqlStorage
from adapters.storage_sql.tables import metadata

POSTGRES_ENV = "TRAINERBOT_TEST_POSTGRES_URL"
POSTGRES_SKIP = (
    f"!!! {POSTGRES_ENV} is not set: storage tests did NOT run on PostgreSQL "
    "(scripts/start-test-postgres.sh DIR prints a URL to set it to)"
)


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def sqlite_url(directory: Path, name: str = "trainerbot.db") -> str:
    return f"sqlite:///{directory / name}"


async def _create_database(admin: Any, name: str) -> None:
    """A database whose text order is a language's (ICU en-US), as production
    servers usually have, so tests catch ordering that silently needs code points."""
    try:
        await admin.execute(
            f'CREATE DATABASE "{name}" TEMPLATE template0 '
            "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C'"
        )
    except Exception:  # a server built without ICU, or older than 15
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')


def _dsn(url: str, database: str = "postgres") -> str:
    """asyncpg's DSN for ``database`` on the server of ``url``."""
    return (
        make_url(url)
        .set(drivername="postgresql", database=database)
        .render_as_string(hide_password=False)
    )


@asynccontextmanager
async def fresh_postgres_database() -> AsyncIterator[str]:
    """A new, empty database on the test server; its SQLAlchemy URL."""
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP)
    import asyncpg  # the "postgres" extra; only needed when a server is configured

    name = f"tb_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(_dsn(url), timeout=10)
    try:
        await _create_database(admin, name)
    finally:
        await admin.close()
    try:
        yield make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(_dsn(url), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


_shared: dict[str, str] = {}  # server URL -> URL of this run's migrated database


async def _shared_postgres_database(url: str) -> str:
    """This run's migrated database, emptied; made on first use."""
    import asyncpg

    shared = _shared.get(url)
    if shared is None:
        name = "tb_contract_shared"  # one name: a rerun replaces it, nothing piles up
        admin = await asyncpg.connect(_dsn(url), timeout=10)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await _create_database(admin, name)
        finally:
            await admin.close()
        shared = make_url(url).set(database=name).render_as_string(hide_password=False)
        storage = SqlStorage(shared)
        try:
            await storage.migrate()
        finally:
            await storage.aclose()
        _shared[url] = shared
        return shared
    tables = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    conn = await asyncpg.connect(_dsn(url, make_url(shared).database or ""), timeout=10)
    try:
        await conn.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()
    return shared


@asynccontextmanager
async def migrated_storage(backend: str, directory: Path) -> AsyncIterator[SqlStorage]:
    """A migrated ``SqlStorage`` on ``backend`` ("sqlite" or "postgres"), closed after."""
    if backend == "sqlite":
        storage = SqlStorage(sqlite_url(directory))
        try:
            await storage.migrate()
            yield storage
        finally:
            await storage.aclose()
        return
    url = postgres_url()
    if url is None:
        pytest.skip(POSTGRES_SKIP)
    storage = SqlStorage(await _shared_postgres_database(url))
    try:
        await storage.migrate()
        yield storage
    finally:
        await storage.aclose()

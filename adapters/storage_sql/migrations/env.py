"""Alembic environment for trainerbot's storage (configured by ``migrate.py``).

``SqlStorage.migrate()`` passes an open connection in ``config.attributes``; the
Alembic command line (``alembic_config(url)``) connects to the configured URL.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import create_engine, pool
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.storage_sql.tables import metadata

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite has little ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_with_url(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":  # the stdlib driver, as SqlStorage uses
        engine = create_engine(parsed.set(drivername="sqlite+pysqlite"), poolclass=pool.NullPool)
        try:
            with engine.begin() as connection:
                run(connection)
        finally:
            engine.dispose()
        return
    asyncio.run(run_with_async_engine(url))


async def run_with_async_engine(url: str) -> None:
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
    )
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    run(given)
else:
    run_with_url(config.get_main_option("sqlalchemy.url") or "")

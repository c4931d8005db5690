"""Migrations: a fresh database reaches head, again is harmless, schema = metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.storage_sql import SqlStorage
from adapters.storage_sql.migrate import alembic_config, head_revision
from adapters.storage_sql.tables import metadata
from domain.models import Dataset, utcnow
from tests.contract.storage_support import fresh_postgres_database, sqlite_url

TABLES = {
    "predictions", "feedback", "corrections", "datasets", "examples", "state", "jobs",
    "job_examples", "model_versions", "model_activations", "eval_runs", "proposals",
}  # fmt: skip


@pytest.fixture(params=["sqlite", "postgres"])
async def url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """The URL of an empty database."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    async with fresh_postgres_database() as pg:
        yield pg


async def inspect_db(url: str, fn: object) -> object:
    """Run ``fn(sync_connection)`` on a plain connection of our own."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(fn)  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def _revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _differences(conn: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(conn), metadata))


def _tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names())


async def test_a_fresh_database_migrates_to_head(url: str) -> None:
    storage = SqlStorage(url)
    try:
        await storage.migrate()
    finally:
        await storage.aclose()
    assert await inspect_db(url, _revision) == head_revision() == "0002"
    assert await inspect_db(url, _tables) == TABLES | {"alembic_version"}


async def test_the_migrated_schema_is_what_the_code_queries(url: str) -> None:
    storage = SqlStorage(url)
    try:
        await storage.migrate()
    finally:
        await storage.aclose()
    assert await inspect_db(url, _differences) == []


async def test_migrating_again_keeps_data_and_revision(url: str) -> None:
    storage = SqlStorage(url)
    try:
        await storage.migrate()
        async with storage.unit_of_work() as uow:
            await uow.datasets.add(Dataset("kept", utcnow()))
            await uow.commit()
        await storage.migrate()
    finally:
        await storage.aclose()
    again = SqlStorage(url)
    try:
        await again.migrate()
        async with again.unit_of_work() as uow:
            assert await uow.datasets.get("kept") is not None
    finally:
        await again.aclose()
    assert await inspect_db(url, _revision) == head_revision()


async def test_two_processes_starting_at_once_both_migrate(url: str) -> None:
    first, second = SqlStorage(url), SqlStorage(url)
    try:
        await asyncio.gather(first.migrate(), second.migrate())
    finally:
        await first.aclose()
        await second.aclose()
    assert await inspect_db(url, _revision) == head_revision()


async def test_migrations_do_not_depend_on_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    storage = SqlStorage("sqlite+aiosqlite:///relative/dir/bot.db")
    try:
        await storage.migrate()
    finally:
        await storage.aclose()
    assert (elsewhere / "relative" / "dir" / "bot.db").is_file()
    assert not list(elsewhere.glob("alembic*"))


def test_the_initial_revision_downgrades_and_upgrades_cleanly(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'down.db'}")
    try:
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "head")
        with engine.begin() as conn:
            command.downgrade(alembic_config(connection=conn), "base")
            assert _tables(conn) == {"alembic_version"}
            assert _revision(conn) is None
        with engine.begin() as conn:
            command.upgrade(alembic_config(connection=conn), "head")
            assert _differences(conn) == []
    finally:
        engine.dispose()

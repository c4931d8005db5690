"""Migrations: a fresh database reaches head, again is harmless, schema = metadata."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import create_async_engine

from adapters.storage_sql import SqlStorage
from adapters.storage_sql.migrate import alembic_config, head_revision
from adapters.storage_sql.tables import (
    corrections,
    datasets,
    eval_runs,
    examples,
    jobs,
    metadata,
    predictions,
)
from domain.models import (
    Dataset,
    Ending,
    EvalStatus,
    JobOwner,
    JobStatus,
    ProposalKind,
    ProposalStatus,
    utcnow,
)
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


async def on_connection(url: str, fn: Callable[[Connection], object], *, begin: bool) -> object:
    """Run ``fn(sync_connection)`` on a plain connection of our own (SQLite: the stdlib
    driver; PostgreSQL: asyncpg), in one transaction committed after it with ``begin``."""
    if make_url(url).get_backend_name() == "sqlite":
        sync_engine = create_engine(url)
        try:
            with sync_engine.begin() if begin else sync_engine.connect() as sync_conn:
                return fn(sync_conn)
        finally:
            sync_engine.dispose()
    engine = create_async_engine(url)
    try:
        async with engine.begin() if begin else engine.connect() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


async def inspect_db(url: str, fn: Callable[[Connection], object]) -> object:
    """Run ``fn(sync_connection)`` on a plain connection of our own."""
    return await on_connection(url, fn, begin=False)


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
    assert await inspect_db(url, _revision) == head_revision() == "0005"
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
    storage = SqlStorage("sqlite:///relative/dir/bot.db")
    try:
        await storage.migrate()
    finally:
        await storage.aclose()
    assert (elsewhere / "relative" / "dir" / "bot.db").is_file()
    assert not list(elsewhere.glob("alembic*"))


def test_the_alembic_command_line_migrates_a_sqlite_url_whatever_driver_it_names(
    tmp_path: Path,
) -> None:
    for url in (f"sqlite:///{tmp_path / 'new.db'}", f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"):
        command.upgrade(alembic_config(url), "head")
    for name in ("new.db", "old.db"):
        engine = create_engine(f"sqlite:///{tmp_path / name}")
        try:
            with engine.connect() as conn:
                assert _revision(conn) == head_revision()
                assert _differences(conn) == []
        finally:
            engine.dispose()


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


def _corrections_before_review(conn: Connection) -> None:
    """A database at 0002 holding one trainer's and one member's correction."""
    command.upgrade(alembic_config(connection=conn), "0002")
    when = datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    conn.execute(
        datasets.insert(),
        [{"name": "corrections", "description": "", "created_at": when, "example_count": 2}],
    )
    for n, (who, trainer) in enumerate([("Tess", True), ("Mo", False)]):
        pid, eid = f"pred{n}", f"e{n}"
        conn.execute(
            predictions.insert().values(
                id=pid, conversation_id="c", prompt=f"question {n}", context=[],
                answer=f"wrong {n}", model_version="m", latency_ms=1.0,
                author_id="asker", author_name="Asker", author_is_trainer=False,
                place_conversation_id="c", guild_id="g1", created_at=when,
            )
        )  # fmt: skip
        conn.execute(
            examples.insert().values(
                dataset="corrections", position=n, id=eid,
                messages=[{"role": "user", "content": f"question {n}"}],
                answer=f"right {n}", source="correction", created_at=when, rejected=f"wrong {n}",
            )
        )  # fmt: skip
        conn.execute(
            corrections.insert().values(
                id=f"c{n}", prediction_id=pid, author_id=who.lower(), author_name=who,
                author_is_trainer=trainer, corrected_answer=f"right {n}", example_id=eid,
                dataset="corrections", created_at=when + timedelta(minutes=n),
            )
        )  # fmt: skip
    command.upgrade(alembic_config(connection=conn), "head")


async def prepared(url: str, prepare: Callable[[Connection], None]) -> None:
    """Run ``prepare`` (data at an old revision, then the upgrade) in one transaction."""
    await on_connection(url, prepare, begin=True)


async def test_corrections_from_before_review_are_approved_or_queued(url: str) -> None:
    await prepared(url, _corrections_before_review)
    storage = SqlStorage(url)
    try:
        async with storage.unit_of_work() as uow:
            kept = await uow.datasets.examples("corrections")
            every = await uow.datasets.examples("corrections", include_removed=True)
            ds = await uow.datasets.get("corrections")
            [queued] = await uow.proposals.pending()
    finally:
        await storage.aclose()
    # the trainer's correction stays, recorded as approved by that trainer
    [trainers] = kept
    assert trainers.id == "e0" and trainers.provenance is not None
    assert trainers.provenance.approved_by is not None
    assert trainers.provenance.approved_by.name == "Tess"
    assert trainers.provenance.prediction_id == "pred0"
    # the member's is kept as removed and waits in the queue as a proposal
    assert [e.id for e in every] == ["e0", "e1"]
    assert every[1].removed is not None and every[1].removed.by.name == "migration 0003"
    assert ds is not None and (ds.example_count, ds.removed_count) == (1, 1)
    assert (queued.question, queued.answer, queued.proposed_answer) == (
        "question 1",
        "wrong 1",
        "right 1",
    )
    assert queued.proposer.name == "Mo" and queued.guild_id == "g1"
    assert queued.status is ProposalStatus.PENDING and queued.kind is ProposalKind.CORRECTION
    assert queued.created_at == datetime(2026, 11, 30, 10, 1, tzinfo=UTC)


def _an_answer_before_endings(conn: Connection) -> None:
    """A database at 0003 holding one answer, from before answers said how they ended."""
    command.upgrade(alembic_config(connection=conn), "0003")
    conn.execute(
        predictions.insert().values(
            id="old", conversation_id="c", prompt="q", context=[], answer="a",
            model_version="m", latency_ms=1.0, author_id="u", author_name="U",
            author_is_trainer=False, place_conversation_id="c",
            created_at=datetime(2026, 12, 1, tzinfo=UTC),
        )
    )  # fmt: skip
    command.upgrade(alembic_config(connection=conn), "head")


async def test_answers_stored_before_0004_are_complete(url: str) -> None:
    await prepared(url, _an_answer_before_endings)
    storage = SqlStorage(url)
    try:
        async with storage.unit_of_work() as uow:
            old = await uow.predictions.get("old")
    finally:
        await storage.aclose()
    assert old is not None and old.complete and old.ending is Ending.COMPLETE


def _jobs_before_owners(conn: Connection) -> None:
    """A database at 0004 with a job in each status, from before jobs named an owner."""
    command.upgrade(alembic_config(connection=conn), "0004")
    for status in JobStatus:
        conn.execute(
            jobs.insert().values(
                id=status.value, dataset="ds", backend="local", status=status.value,
                created_by_id="u", created_by_name="U", created_by_is_trainer=True,
                created_at=datetime(2026, 12, 1, tzinfo=UTC), example_count=1, options={},
                progress=0.0, message="", cancel_requested=False,
            )
        )  # fmt: skip
    command.upgrade(alembic_config(connection=conn), "head")


async def test_jobs_unfinished_before_0005_belong_to_an_unknown_stopped_process(url: str) -> None:
    await prepared(url, _jobs_before_owners)
    storage = SqlStorage(url)
    try:
        async with storage.unit_of_work() as uow:
            owners = {j.id: (j.owner, j.heartbeat_at) for j in await uow.jobs.all()}
    finally:
        await storage.aclose()
    unknown = (JobOwner(host="", pid=0, token="before-0005"), None)
    assert owners == {
        "queued": unknown, "running": unknown,
        "succeeded": (None, None), "failed": (None, None), "cancelled": (None, None),
    }  # fmt: skip


def _a_run_before_statuses(conn: Connection) -> None:
    """A database at 0004 holding one evaluation run, from before runs had a status."""
    command.upgrade(alembic_config(connection=conn), "0004")
    conn.execute(
        eval_runs.insert().values(
            id="old", model_version="base", created_at=datetime(2026, 12, 1, tzinfo=UTC),
            name="", created_by_id="u", created_by_name="U", created_by_is_trainer=True,
            cases=0, passed=0, exact_rate=0.0, contains_rate=0.0, errors=0, results=[],
        )
    )  # fmt: skip
    command.upgrade(alembic_config(connection=conn), "head")


async def test_runs_stored_before_0005_are_complete_with_nothing_pending(url: str) -> None:
    await prepared(url, _a_run_before_statuses)
    storage = SqlStorage(url)
    try:
        async with storage.unit_of_work() as uow:
            old = await uow.evals.get("old")
    finally:
        await storage.aclose()
    assert old is not None and old.status is EvalStatus.COMPLETE
    assert old.pending == () and old.owner is None and old.heartbeat_at is None

"""The SQLite file: settings, durability, locks shared with other processes, big batches."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.storage_sql import SqlStorage, StorageUnavailable
from adapters.storage_sql.sqlite_backend import SqliteBackend
from domain.errors import AlreadyExists, InvalidInput
from domain.models import (
    Actor,
    ChatMessage,
    Dataset,
    Example,
    ExampleSource,
    Feedback,
    JobStatus,
    Role,
    TrainingJob,
    utcnow,
)
from domain.ports import UnitOfWork
from tests.contract.test_storage_contract import eval_run, full_prediction, prediction

ALICE = Actor("1", "alice")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "dir" / "bot.db"


@pytest.fixture
async def storage(db_path: Path) -> AsyncIterator[SqlStorage]:
    s = SqlStorage(f"sqlite:///{db_path}", lock_timeout=2.0)
    await s.migrate()
    yield s
    await s.aclose()


def raw(path: Path) -> sqlite3.Connection:
    """Another process's view of the file."""
    return sqlite3.connect(path, isolation_level=None, timeout=0)


def size(path: Path) -> int | None:
    """The file's size, None when it does not exist."""
    return path.stat().st_size if path.exists() else None


async def set_state(storage: SqlStorage, key: str, value: str) -> None:
    """``state[key] = value``, committed."""
    async with storage.unit_of_work() as uow:
        await uow.state.set(key, value)
        await uow.commit()


def example(n: int, dataset: str = "big") -> Example:
    return Example(
        id=f"e{n}",
        dataset=dataset,
        messages=(ChatMessage(Role.USER, f"prompt {n}"),),
        answer=f"answer {n}",
        source=ExampleSource.IMPORT,
        created_at=T0,
    )


async def test_the_file_and_its_folders_are_created_in_wal_mode(
    storage: SqlStorage, db_path: Path
) -> None:
    assert size(db_path)
    with raw(db_path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_connections_enforce_foreign_keys_and_never_block_on_locks(
    storage: SqlStorage,
) -> None:
    async with storage.unit_of_work() as uow:
        session = uow._session  # the adapter's own connection
        conn = session._conn  # type: ignore[attr-defined]
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 0
        assert conn.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0


async def test_committed_data_survives_closing_and_reopening(
    storage: SqlStorage, db_path: Path
) -> None:
    p = full_prediction()
    async with storage.unit_of_work() as uow:
        await uow.predictions.add(p)
        await uow.datasets.add(Dataset("ds", utcnow()))
        await uow.datasets.add_examples([example(1, "ds")])
        await uow.commit()
    await storage.aclose()
    reopened = SqlStorage(f"sqlite:///{db_path}")
    try:
        await reopened.migrate()
        async with reopened.unit_of_work() as uow:
            assert await uow.predictions.get(p.id) == p
            assert await uow.datasets.examples("ds") == [example(1, "ds")]
    finally:
        await reopened.aclose()


async def test_an_older_config_naming_aiosqlite_opens_the_same_file(
    storage: SqlStorage, db_path: Path
) -> None:
    await set_state(storage, "k", "v")
    await storage.aclose()
    old_spelling = SqlStorage(f"sqlite+aiosqlite:///{db_path}")  # the default before
    try:
        await old_spelling.migrate()
        async with old_spelling.unit_of_work() as uow:
            assert await uow.state.get("k") == "v"
    finally:
        await old_spelling.aclose()


async def test_a_commit_is_in_the_file_at_once_and_uncommitted_work_is_not(
    storage: SqlStorage, db_path: Path
) -> None:
    with raw(db_path) as other:
        async with storage.unit_of_work() as uow:
            await uow.predictions.add(prediction("p1"))
            assert other.execute("SELECT count(*) FROM predictions").fetchone() == (0,)
            await uow.commit()
            assert other.execute("SELECT count(*) FROM predictions").fetchone() == (1,)
            await uow.predictions.add(prediction("p2"))
        assert other.execute("SELECT id FROM predictions").fetchall() == [("p1",)]


async def test_closing_checkpoints_the_log_into_the_database(
    storage: SqlStorage, db_path: Path
) -> None:
    async with storage.unit_of_work() as uow:
        await uow.predictions.add(prediction("p1"))
        await uow.commit()
    wal = db_path.with_name(db_path.name + "-wal")
    assert size(wal)
    await storage.aclose()
    assert not size(wal)


async def test_the_log_is_checkpointed_in_the_background_after_many_commits(
    storage: SqlStorage, db_path: Path
) -> None:
    backend = storage._backend
    assert isinstance(backend, SqliteBackend)
    backend._checkpoint_every = 5  # default: 500
    before = size(db_path)
    for n in range(5):
        async with storage.unit_of_work() as uow:
            await uow.predictions.add(prediction(f"p{n}"))
            await uow.commit()
    checkpoint = backend._checkpoint
    assert checkpoint is not None  # started by the fifth commit, running in a thread
    await asyncio.wait_for(checkpoint, 5)
    assert size(db_path) != before  # the pages were copied into the database file
    with raw(db_path) as other:
        assert other.execute("SELECT count(*) FROM predictions").fetchone() == (5,)


async def test_times_come_back_in_utc_and_naive_times_are_refused(storage: SqlStorage) -> None:
    async with storage.unit_of_work() as uow:
        await uow.predictions.add(prediction("p1"))
        with pytest.raises(ValueError, match="aware"):
            await uow.predictions.add(replace(prediction("p2"), created_at=datetime(2026, 1, 1)))
        await uow.commit()
    async with storage.unit_of_work() as uow:
        stored = await uow.predictions.get("p1")
    assert stored is not None and stored.created_at.tzname() == "UTC"


async def test_a_duplicate_feedback_id_is_refused_and_the_next_writer_is_not_stuck(
    storage: SqlStorage,
) -> None:
    f = Feedback("f1", ALICE, utcnow(), text="hi")
    async with storage.unit_of_work() as uow:
        await uow.feedback.add(f)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        with pytest.raises(AlreadyExists) as caught:
            await uow.feedback.add(f)
    assert "UNIQUE" not in caught.value.user_message
    async with asyncio.timeout(1), storage.unit_of_work() as uow:  # the write lock was released
        await uow.state.set("k", "v")
        await uow.commit()


async def loop_turns(count: int) -> None:
    """Let the event loop run ``count`` times round (no clock involved)."""
    for _ in range(count):
        await asyncio.sleep(0)


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    storage: SqlStorage, db_path: Path
) -> None:
    other = raw(db_path)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    order: list[str] = []

    async def write() -> None:
        async with storage.unit_of_work() as uow:
            await uow.state.set("k", "mine")
            order.append("written")
            await uow.commit()

    writer = asyncio.create_task(write())
    await loop_turns(1_000)  # a writer blocking the loop would have run out its lock wait
    assert not writer.done()  # still waiting, and the loop kept turning meanwhile
    order.append("released")
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writer, 5)
    assert order == ["released", "written"]  # it wrote only once the other process let go
    async with storage.unit_of_work() as uow:
        assert await uow.state.get("k") == "mine"


async def test_reads_before_the_first_write_neither_take_nor_wait_for_the_write_lock(
    storage: SqlStorage, db_path: Path
) -> None:
    await set_state(storage, "k", "old")
    other = raw(db_path)
    try:
        async with storage.unit_of_work() as uow:
            assert await uow.state.get("k") == "old"
            other.execute("BEGIN IMMEDIATE")  # the lock is free: the read took none
            other.execute("UPDATE state SET value = 'new' WHERE key = 'k'")
            other.execute("COMMIT")
            assert await uow.state.get("k") == "new"  # no snapshot kept from the first read
            await uow.state.set("k", "mine")  # the write lock from here on
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
            await uow.commit()
        other.execute("BEGIN IMMEDIATE")  # given back by the commit
        other.execute("ROLLBACK")
    finally:
        other.close()


async def test_a_lock_held_too_long_gives_a_safe_error(db_path: Path) -> None:
    storage = SqlStorage(f"sqlite:///{db_path}", lock_timeout=0.2)
    await storage.migrate()
    other = raw(db_path)
    other.execute("BEGIN IMMEDIATE")
    try:
        async with storage.unit_of_work() as uow:
            with pytest.raises(StorageUnavailable) as caught:
                await uow.state.set("k", "v")
        assert caught.value.user_message == (
            "The database is busy right now. Please try again in a moment."
        )
    finally:
        other.execute("ROLLBACK")
        other.close()
        await storage.aclose()


async def test_units_of_work_queue_for_connections_without_blocking_the_loop(
    db_path: Path,
) -> None:
    storage = SqlStorage(f"sqlite:///{db_path}", pool_size=1, lock_timeout=0.3)
    try:
        await storage.migrate()
        first = storage.unit_of_work()
        order: list[str] = []

        async def enter_second() -> UnitOfWork:
            entered = await storage.unit_of_work().__aenter__()
            order.append("second in")
            return entered

        async with first:
            second = asyncio.create_task(enter_second())
            await loop_turns(1_000)
            assert not second.done()  # waiting for the one connection, loop still running
            order.append("first out")
        uow = await asyncio.wait_for(second, 5)
        assert order == ["first out", "second in"]
        await uow.__aexit__(None, None, None)
        await storage.migrate()  # takes the same, now idle, connection
        async with first:
            with pytest.raises(StorageUnavailable):
                async with storage.unit_of_work():
                    pass
    finally:
        await storage.aclose()


async def test_big_batches_round_trip_in_order(storage: SqlStorage) -> None:
    examples = [example(n) for n in range(1500)]
    job = TrainingJob(
        id="j1", dataset="big", backend="local", status=JobStatus.QUEUED,
        created_by=ALICE, created_at=utcnow(), example_count=len(examples),
    )  # fmt: skip
    async with storage.unit_of_work() as uow:
        await uow.datasets.add(Dataset("big", utcnow()))
        await uow.datasets.add_examples(examples[:700])
        await uow.datasets.add_examples(examples[700:])
        await uow.jobs.add(job, examples)
        await uow.commit()
    async with storage.unit_of_work() as uow:
        assert await uow.datasets.examples("big") == examples
        assert await uow.datasets.examples("big", offset=650, limit=400) == examples[650:1050]
        assert await uow.jobs.snapshot("j1") == examples
        big = await uow.datasets.get("big")
    assert big is not None and big.example_count == 1500


async def test_a_run_stored_before_required_and_forbidden_phrases_reads_back(
    storage: SqlStorage, db_path: Path
) -> None:
    async with storage.unit_of_work() as u:
        await u.evals.add(eval_run("r-old"))
        await u.commit()
    new_keys = ("require", "forbid", "missing", "forbidden")
    with raw(db_path) as conn:
        [(text,)] = conn.execute("SELECT results FROM eval_runs WHERE id = 'r-old'").fetchall()
        old = [{k: v for k, v in row.items() if k not in new_keys} for row in json.loads(text)]
        conn.execute("UPDATE eval_runs SET results = ? WHERE id = 'r-old'", (json.dumps(old),))
    async with storage.unit_of_work() as u:
        run = await u.evals.get("r-old")
    assert run is not None
    assert [r.case.input for r in run.results] == ["2+2?", "great film", "boom", "city?"]
    assert all(r.missing == r.forbidden == r.case.require == () for r in run.results)
    assert [r.passed for r in run.results] == [True, False, False, False]


def test_an_in_memory_or_malformed_url_is_refused() -> None:
    for url in ("sqlite://", "sqlite:///:memory:", "not a url"):
        with pytest.raises(InvalidInput):
            SqlStorage(url)


async def test_an_unreachable_server_gives_a_safe_error() -> None:
    storage = SqlStorage("postgresql+asyncpg://bot:s3cret@127.0.0.1:9/trainerbot", lock_timeout=2)
    try:
        with pytest.raises(StorageUnavailable) as caught:
            await storage.migrate()
        assert "s3cret" not in caught.value.user_message
        with pytest.raises(StorageUnavailable):
            async with storage.unit_of_work():
                pass
    finally:
        await storage.aclose()

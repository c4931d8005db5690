"""A database migration killed (``kill -9``) part-way, then the next start.

Every ``trainerbot`` command migrates the database to the newest schema when it
starts, in one transaction (``SqlStorage.migrate``). The test builds a database at
schema 0002 holding many member corrections, which migration 0003 turns one by one
into pending proposals (seconds of work), starts ``trainerbot dataset list`` and
kills it once the migration has begun writing, and again deep into it (watching
the write-ahead log). After each kill the database is intact and still wholly at
0002 — nothing of 0003 half-applied; the next command migrates it to the newest
schema with every correction turned into a proposal.
"""

from __future__ import annotations

import json
import signal
import sqlite3
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine

from adapters.storage_sql.migrate import alembic_config, head_revision
from tests.faults.process import Cli, integrity, wait_until

pytestmark = pytest.mark.faults

CORRECTIONS = 20_000
STARTS_WITHIN = 60.0
WHEN = {"begun": 1, "deep": 4 * 1024 * 1024}  # bytes of write-ahead log at the kill


def old_database(db: Path, corrections: int) -> None:
    """A database at schema 0002 with ``corrections`` corrections made by a member."""
    db.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{db}")
    with engine.begin() as connection:
        command.upgrade(alembic_config(connection=connection), "0002")
    engine.dispose()
    at = "2026-12-01 10:00:00.000000"
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(
            "INSERT INTO datasets (name, description, created_at, example_count)"
            " VALUES ('corrections', '', ?, ?)",
            (at, corrections),
        )
        conn.executemany(
            "INSERT INTO predictions (id, conversation_id, prompt, context, answer,"
            " model_version, latency_ms, author_id, author_name, author_is_trainer,"
            " place_conversation_id, guild_id, created_at)"
            " VALUES (?, 'c', ?, '[]', ?, 'base', 1.0, 'm1', 'member', 0, 'c', 'g1', ?)",
            (
                (f"p{i}", f"question {i} " + "q" * 100, "wrong " * 20, at)
                for i in range(corrections)
            ),
        )
        conn.executemany(
            "INSERT INTO examples (dataset, position, id, messages, answer, source, created_at)"
            " VALUES ('corrections', ?, ?, ?, ?, 'correction', ?)",
            (
                (
                    i,
                    f"e{i}",
                    json.dumps([{"role": "user", "content": f"question {i}"}]),
                    f"right {i} " + "r" * 100,
                    at,
                )
                for i in range(corrections)
            ),
        )
        conn.executemany(
            "INSERT INTO corrections (id, prediction_id, author_id, author_name,"
            " author_is_trainer, corrected_answer, example_id, dataset, created_at)"
            " VALUES (?, ?, 'm1', 'member', 0, ?, ?, 'corrections', ?)",
            (
                (f"c{i}", f"p{i}", f"right {i} " + "r" * 100, f"e{i}", at)
                for i in range(corrections)
            ),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def revision(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])
    finally:
        conn.close()


def count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def wal_bytes(db: Path) -> int:
    try:
        return db.with_name(db.name + "-wal").stat().st_size
    except FileNotFoundError:
        return -1


def test_a_migration_killed_part_way_leaves_the_old_schema_whole_and_the_next_start_migrates(
    tmp_path: Path,
) -> None:
    cli = Cli(data=tmp_path / "data", cwd=tmp_path)
    old_database(cli.db, CORRECTIONS)

    for moment, wal in WHEN.items():
        process = cli.start("dataset", "list")
        try:
            wait_until(
                lambda: wal_bytes(cli.db) >= wal,  # noqa: B023 - used at once
                seconds=STARTS_WITHIN,
                what=f"migrating ({moment})",
                alive=lambda: process.poll() is None,  # noqa: B023
            )
        finally:
            process.send_signal(signal.SIGKILL)
            process.communicate(timeout=10)
        assert process.returncode == -signal.SIGKILL
        assert integrity(cli.db) == "ok", moment
        assert revision(cli.db) == "0002", moment  # all of 0003 or nothing of it
        assert count(cli.db, "SELECT count(*) FROM proposals") == 0, moment
        columns = count(
            cli.db, "SELECT count(*) FROM pragma_table_info('examples') WHERE name = 'provenance'"
        )
        assert columns == 0, moment

    assert "corrections" in cli.ok("dataset", "list")  # the next start migrates, then works
    assert revision(cli.db) == head_revision()
    assert integrity(cli.db) == "ok"
    assert count(cli.db, "SELECT count(*) FROM proposals WHERE status = 'pending'") == CORRECTIONS
    assert count(cli.db, "SELECT count(*) FROM examples WHERE removed IS NOT NULL") == CORRECTIONS
    assert f"{CORRECTIONS} pending, oldest first." in cli.ok("review", "list")

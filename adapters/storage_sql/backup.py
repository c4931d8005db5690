"""Copying a live SQLite database, and checking a copy before it is used.

``snapshot_sqlite`` uses SQLite's online backup API (``sqlite3.Connection.backup``)
from a connection of its own, so it can run in a thread while the bot writes: the
whole copy is made in one step, inside one read transaction, which in WAL mode
neither blocks the bot's writers nor is restarted by them, and gives the database
as it was at one commit. The copy is switched to a rollback journal, so it is one
self-contained file. File copies of a WAL database are not safe; this is.

PostgreSQL is not copied here: ``pg_dump`` and ``pg_restore`` do that (docs/storage.md).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from adapters.storage_sql.migrate import alembic_config
from domain.errors import InvalidInput

_BUSY_MS = 30_000  # a reader waits at most this long (only while WAL is being recovered)


def sqlite_file(url: str) -> Path | None:
    """The database file a SQLite URL names; None for any other database."""
    try:
        parsed = make_url(url)
    except Exception:
        raise InvalidInput("The database URL is not valid.") from None
    if parsed.get_backend_name() != "sqlite":
        return None
    return Path(parsed.database or "")


@dataclass(frozen=True, slots=True)
class DatabaseCheck:
    revision: str | None  # the Alembic revision the schema is at
    problem: str | None  # what PRAGMA quick_check found, None when it is sound


def snapshot_sqlite(source: Path, target: Path) -> DatabaseCheck:
    """Copy the database at ``source`` into the new file ``target``, consistently."""
    if not source.is_file():
        raise InvalidInput(f"There is no database at {source} to back up.")
    src = sqlite3.connect(source, timeout=_BUSY_MS / 1000, isolation_level=None)
    try:
        dst = sqlite3.connect(target, isolation_level=None)
        try:
            src.backup(dst)  # all pages in one step: one consistent read
            dst.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            return _check(dst)
        finally:
            dst.close()
    finally:
        src.close()


def check_database(path: Path) -> DatabaseCheck:
    """The schema revision of the database file ``path`` and whether it is sound."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    try:
        return _check(conn)
    except sqlite3.DatabaseError:
        return DatabaseCheck(revision=None, problem="not a SQLite database")
    finally:
        conn.close()


def _check(conn: sqlite3.Connection) -> DatabaseCheck:
    rows = [r[0] for r in conn.execute("PRAGMA quick_check")]
    problem = None if rows == ["ok"] else "; ".join(str(r) for r in rows[:3])
    try:
        found = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:  # no such table: never migrated
        found = None
    return DatabaseCheck(revision=found[0] if found else None, problem=problem)


def known_revisions() -> list[str]:
    """Every schema revision this code can migrate from, oldest first; the last is head."""
    script = ScriptDirectory.from_config(alembic_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]

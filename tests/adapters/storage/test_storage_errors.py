"""SQLite failures become domain errors by their result code, not by their text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from adapters.storage_sql.errors import to_domain_error
from domain.errors import StorageUnavailable


def _full_error(tmp_path: Path) -> sqlite3.OperationalError:
    """A real SQLITE_FULL: the database may not grow past its few pages."""
    conn = sqlite3.connect(tmp_path / "small.db")
    conn.execute("CREATE TABLE t (x TEXT)")
    conn.execute("PRAGMA max_page_count = 3")
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            conn.executemany("INSERT INTO t VALUES (?)", [("x" * 4000,)] * 10)
    finally:
        conn.close()
    return raised.value


def test_a_full_database_says_the_disk_is_full_not_that_it_is_busy(tmp_path: Path) -> None:
    error = _full_error(tmp_path)
    assert error.sqlite_errorname == "SQLITE_FULL"
    translated = to_domain_error(error, operation="write")
    assert isinstance(translated, StorageUnavailable)
    assert translated.user_message.startswith("The database could not be written: the disk")
    assert "busy" not in translated.user_message


def test_a_locked_database_is_still_busy(tmp_path: Path) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        with pytest.raises(sqlite3.OperationalError) as raised:
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        holder.close()
    translated = to_domain_error(raised.value, operation="begin")
    assert isinstance(translated, StorageUnavailable)
    assert "busy" in translated.user_message

"""Statement helpers shared by the repositories."""

from __future__ import annotations

import functools

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Executable


@functools.cache
def upsert(table: Table, dialect: str, key: str, keep: tuple[str, ...] = ()) -> Executable:
    """INSERT that replaces the row with the same ``key`` (keeping ``keep`` and ``seq``).

    The values come from the parameters given at execution.
    """
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(table)
    fixed = {key, "seq", *keep}
    return stmt.on_conflict_do_update(
        index_elements=[table.c[key]],
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in fixed},
    )


def by_name(column: ColumnElement[str], dialect: str) -> ColumnElement[str]:
    """Order by code point, as Python sorts (PostgreSQL's default collation does not)."""
    return column.collate("C") if dialect == "postgresql" else column


def is_hex(text: str) -> bool:
    """Whether ``text`` can be the start of an id: hex digits only, so that nothing in
    it reads as a LIKE pattern."""
    return bool(text) and all(c in "0123456789abcdef" for c in text)

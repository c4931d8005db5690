"""Column types that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

# An auto-incrementing surrogate key: BIGSERIAL-like on PostgreSQL, and the rowid
# alias ``INTEGER PRIMARY KEY`` on SQLite (a BIGINT key would not autoincrement).
Seq: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")

# JSON text on both backends (PostgreSQL ``json`` keeps the document as written).
Json: TypeEngine[Any] = JSON()
# The same, but a Python ``None`` is SQL NULL (not JSON ``null``), so ``IS NULL`` finds it.
OptionalJson: TypeEngine[Any] = JSON(none_as_null=True)


class UtcDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime, exact to the microsecond on every backend.

    PostgreSQL stores ``timestamp with time zone``. SQLite stores fixed-width text
    ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, which sorts in time order. Values come
    back as aware datetimes in UTC; naive datetimes are refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("storage needs aware datetimes (UTC), got a naive one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

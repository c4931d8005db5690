"""Turns database failures into domain errors whose messages are safe to show.

Only the exception's class decides the message: driver messages can quote SQL,
parameters (user text) or connection strings, so none of their text is repeated.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy.exc as sa_exc
import structlog

from domain.errors import AlreadyExists, Conflict, DomainError, StorageUnavailable

log = structlog.get_logger()


def busy() -> StorageUnavailable:
    return StorageUnavailable("The database is busy right now. Please try again in a moment.")


_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,  # the driver's own, unwrapped (a connection of our own)
)
_SQLITE_BUSY, _SQLITE_IOERR, _SQLITE_FULL = 5, 10, 13  # primary result codes
_UNIQUE = {"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY", "23505"}


def is_unique_violation(exc: sa_exc.IntegrityError) -> bool:
    orig = exc.orig
    code = getattr(orig, "sqlite_errorname", None) or getattr(orig, "sqlstate", None)
    return code in _UNIQUE


def write_failed() -> StorageUnavailable:
    return StorageUnavailable(
        "The database could not be written: the disk is full or failing. Nothing of this "
        "change was saved; free some disk space and try again."
    )


def _primary_code(exc: BaseException) -> int | None:
    orig = getattr(exc, "orig", exc)  # SQLAlchemy's wrapper or the driver's own error
    code = getattr(orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_write_failure(exc: BaseException) -> bool:
    """SQLite could not write its files: SQLITE_FULL (no space, or the file size
    limit) or SQLITE_IOERR (a write that failed, e.g. EFBIG on the WAL)."""
    return _primary_code(exc) in (_SQLITE_IOERR, _SQLITE_FULL)


def is_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (SQLITE_BUSY and its extended codes)."""
    return _primary_code(exc) == _SQLITE_BUSY


def translate(exc: Exception, operation: str) -> Exception:
    """What to raise instead of ``exc``: a domain error, our own ValueError, or ``exc``."""
    error = to_domain_error(exc, operation=operation)
    if error is not None:
        return error
    if isinstance(exc, sa_exc.StatementError) and isinstance(exc.orig, ValueError):
        return exc.orig  # a bad value refused by our column types, e.g. a naive datetime
    return exc


def to_domain_error(exc: BaseException, *, operation: str) -> DomainError | None:
    """The domain error for ``exc``, or None when it is a programming error."""
    if isinstance(exc, DomainError):
        return exc
    if isinstance(exc, sa_exc.IntegrityError):
        log.warning("storage_conflict", operation=operation, error=type(exc.orig).__name__)
        if is_unique_violation(exc):
            return AlreadyExists("That record already exists.")
        return Conflict("That change does not fit what is stored.")
    if isinstance(exc, _UNAVAILABLE) and is_write_failure(exc):
        orig = getattr(exc, "orig", None)
        log.error(
            "storage_write_failed",
            operation=operation,
            error=getattr(orig, "sqlite_errorname", type(exc).__name__),
        )
        return write_failed()
    if isinstance(exc, _UNAVAILABLE):
        orig = getattr(exc, "orig", None)
        log.warning(
            "storage_unavailable",
            operation=operation,
            error=type(orig if orig is not None else exc).__name__,
        )
        return busy()
    if isinstance(exc, OSError | TimeoutError):  # connecting to a server
        log.warning("storage_unreachable", operation=operation, error=type(exc).__name__)
        return StorageUnavailable("The database cannot be reached right now. Please try later.")
    return None

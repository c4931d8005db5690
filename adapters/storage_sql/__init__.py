"""Storage on SQLAlchemy Core + Alembic: SQLite by default, PostgreSQL alike.

Public face: :class:`SqlStorage` (``migrate()``, ``unit_of_work()``, ``aclose()``),
:class:`SqlUnitOfWork` (``domain.ports.UnitOfWork``), :class:`StorageUnavailable`.
See ``docs/storage.md``.
"""

from adapters.storage_sql.storage import SqlStorage
from adapters.storage_sql.unit_of_work import SqlUnitOfWork
from domain.errors import StorageUnavailable

__all__ = ["SqlStorage", "SqlUnitOfWork", "StorageUnavailable"]

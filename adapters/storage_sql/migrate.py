"""Alembic, configured in code: the scripts ship inside this package.

``alembic_config(url)`` is also what a developer uses to write a new revision::

    from alembic import command
    from adapters.storage_sql.migrate import alembic_config
    command.revision(alembic_config("sqlite:///var/dev.db"),
                     "what changes", rev_id="0002", autogenerate=True)
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str | None = None, *, connection: Connection | None = None) -> Config:
    """Alembic's configuration for our migrations; no ``alembic.ini`` is read.

    With ``connection`` the migration runs on it (inside the caller's
    transaction); otherwise ``env.py`` connects to ``url`` itself.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no migration scripts found")
    return head


def current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def upgrade_to_head(connection: Connection) -> None:
    """Bring the schema to the newest revision (nothing to do when it is there)."""
    command.upgrade(alembic_config(connection=connection), "head")

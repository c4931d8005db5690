"""Backups: ``trainerbot backup``, ``trainerbot restore`` and the daily backup of ``run``.

A backup is one zip (see :mod:`app.backup_archive`) holding a consistent copy of the
SQLite database (SQLite's online backup API, while the bot runs), the artifact store
and the example memories. The model weights under ``models/`` are left out:
``trainerbot models pull`` fetches and verifies them again. The database is copied
first, the files after it, so every memory a model version names is in the archive.

Writing goes to a hidden ``.…partial-…`` file that is linked to its final name only
when complete, so a killed or failed backup never leaves a half archive under it.
Restoring goes into a hidden folder beside an empty (or new) data directory, checks
every checksum and the schema revision, migrates an older schema, and renames the
folder into place: all or nothing.

With PostgreSQL the database is not copied here (``pg_dump``/``pg_restore`` do it);
``--files-only`` backs up the artifacts and memories, and so does the daily backup.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import structlog

from adapters.storage_sql import SqlStorage
from adapters.storage_sql.backup import (
    check_database,
    known_revisions,
    snapshot_sqlite,
    sqlite_file,
)
from app.backup_archive import DATABASE, STAMP, ArchiveWriter, Manifest, read_manifest, unpack
from app.settings import Settings
from domain.errors import InvalidInput
from domain.models import utcnow

log = structlog.get_logger()

EXCLUDED = [
    "models/ (the model weights: `trainerbot models pull` fetches and verifies them again)",
    "logs/",
    "backups/",
]
POSTGRES_REFUSAL = (
    "The database is PostgreSQL: back it up with pg_dump and restore it with pg_restore "
    "(docs/storage.md shows the commands). `trainerbot backup --files-only` backs up the "
    "artifacts and memories."
)


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    manifest: Manifest


@dataclass(frozen=True, slots=True)
class RestoreResult:
    data_dir: Path
    manifest: Manifest
    migrated_from: str | None  # the schema revision before migrating, when it was older


# --------------------------------------------------------------------------- backup


def write_backup(
    settings: Settings,
    path: Path | None = None,
    *,
    files_only: bool = False,
    now: datetime | None = None,
    prefix: str = "trainerbot-",
    check: Callable[[], None] | None = None,
) -> BackupResult:
    """Write one backup archive (blocking: run it in a thread) and return where it is.

    ``path``: a file name, or an existing folder to write the default name into; default
    ``<backup dir>/trainerbot-<UTC stamp>.zip``. An existing file is never replaced.
    """
    now = now or utcnow()
    database = sqlite_file(settings.database_url)
    if database is None and not files_only:
        raise InvalidInput(POSTGRES_REFUSAL)
    target = _target(settings, path, now, prefix)
    if target.exists():
        raise InvalidInput(f"{target} already exists; a backup never replaces a file.")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.partial-{uuid.uuid4().hex[:8]}")
    manifest = Manifest(
        created_at=now.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        trainerbot_version=trainerbot_version(),
        database=None,
        schema_revision=None,
        excluded=EXCLUDED,
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix=".backup-", dir=target.parent) as staging,
            ArchiveWriter(partial, manifest, check=check) as writer,
        ):
            if database is not None and not files_only:
                snapshot = Path(staging) / "trainerbot.db"
                checked = snapshot_sqlite(database, snapshot)
                if checked.problem is not None:
                    raise InvalidInput(
                        f"The database failed its integrity check ({checked.problem}); "
                        "no backup was written."
                    )
                manifest.database, manifest.schema_revision = "sqlite", checked.revision
                writer.add_file(snapshot, DATABASE)
            writer.add_tree(settings.artifacts_dir, "artifacts", skip=_half_written)
            writer.add_tree(settings.memories_dir, "memories", skip=_half_written)
            writer.finish()
        _fsync(partial)
        _publish(partial, target)
        _fsync(target.parent)
    except FileExistsError:
        raise InvalidInput(f"{target} already exists; a backup never replaces a file.") from None
    finally:
        partial.unlink(missing_ok=True)
    log.info(
        "backup_written",
        path=str(target),
        files=len(manifest.files),
        bytes=manifest.total_bytes,
        database=manifest.database,
        revision=manifest.schema_revision,
    )
    return BackupResult(path=target, manifest=manifest)


def _publish(partial: Path, target: Path) -> None:
    """Give the complete archive its name, never replacing a file that took it meanwhile."""
    try:
        os.link(partial, target)  # FileExistsError if the name is taken
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links
        if target.exists():
            raise FileExistsError(target) from None
        os.replace(partial, target)


def _target(settings: Settings, path: Path | None, now: datetime, prefix: str) -> Path:
    name = f"{prefix}{now.astimezone(UTC):{STAMP}}.zip"
    if path is None:
        return settings.backups_dir / name
    return path / name if path.is_dir() else path


def _half_written(name: str) -> bool:
    return name.startswith(".tmp-")  # the artifact store's and the memory builder's


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def trainerbot_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("trainerbot")
    except PackageNotFoundError:
        return "unknown"


# --------------------------------------------------------------------------- restore


async def restore_backup(settings: Settings, archive: Path, data_dir: Path) -> RestoreResult:
    """Restore ``archive`` into ``data_dir``, which must be empty or not exist yet."""
    staging, manifest = await asyncio.to_thread(_unpack_beside, settings, archive, data_dir)
    try:
        migrated_from = None
        if manifest.database is not None and manifest.schema_revision != known_revisions()[-1]:
            migrated_from = manifest.schema_revision
            storage = SqlStorage(f"sqlite:///{(staging / 'trainerbot.db').resolve()}")
            try:
                await storage.migrate()
            finally:
                await storage.aclose()
        await asyncio.to_thread(_place, staging, data_dir)
    except BaseException:
        await asyncio.to_thread(shutil.rmtree, staging, True)
        raise
    log.info("backup_restored", archive=str(archive), data_dir=str(data_dir))
    return RestoreResult(data_dir=data_dir, manifest=manifest, migrated_from=migrated_from)


def _refuse_non_empty(data_dir: Path) -> None:
    if data_dir.is_dir():
        entries = sorted(os.listdir(data_dir))
        if entries:
            shown = ", ".join(entries[:3]) + (", …" if len(entries) > 3 else "")
            raise InvalidInput(
                f"{data_dir} is not empty ({shown}): a backup is restored only into an empty "
                "or new data directory, so nothing is overwritten. Nothing was restored."
            )
    elif data_dir.exists():
        raise InvalidInput(f"{data_dir} is a file, not a data directory. Nothing was restored.")


def _unpack_beside(settings: Settings, archive: Path, data_dir: Path) -> tuple[Path, Manifest]:
    _refuse_non_empty(data_dir)
    shown = archive.name
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput(f"{shown} is not a trainerbot backup (not a readable zip).") from None
    with zf:
        manifest = read_manifest(zf, shown)
        if manifest.database is not None:
            _check_database_fits(settings, manifest, shown)
        data_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}.restore-", dir=data_dir.parent))
        try:
            os.chmod(staging, data_dir.stat().st_mode & 0o7777 if data_dir.is_dir() else 0o755)
            unpack(zf, manifest, staging, shown)
            if manifest.database is not None:
                database = staging / "trainerbot.db"
                os.replace(staging / DATABASE, database)
                (staging / DATABASE).parent.rmdir()
                checked = check_database(database)
                if checked.problem is not None or checked.revision != manifest.schema_revision:
                    raise InvalidInput(
                        f"{shown}: the database in it is not sound "
                        f"({checked.problem or 'its schema revision differs from the manifest'})."
                        " Nothing was restored."
                    )
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
    return staging, manifest


def _check_database_fits(settings: Settings, manifest: Manifest, shown: str) -> None:
    if manifest.database != "sqlite":
        raise InvalidInput(f"{shown} holds a {manifest.database} database; this one reads SQLite.")
    if sqlite_file(settings.database_url) is None:
        raise InvalidInput(
            f"{shown} holds a SQLite database, but the configured storage is PostgreSQL "
            "(TRAINERBOT_STORAGE__URL): restore PostgreSQL with pg_restore (docs/storage.md)."
        )
    known = known_revisions()
    if manifest.schema_revision not in known:
        raise InvalidInput(
            f"{shown} was made with a newer trainerbot: its database is at schema revision "
            f"{manifest.schema_revision}, and this one knows revisions up to {known[-1]}. "
            "Upgrade trainerbot, then restore. Nothing was restored."
        )


def _place(staging: Path, data_dir: Path) -> None:
    _refuse_non_empty(data_dir)  # again: something may have arrived meanwhile
    try:
        os.rename(staging, data_dir)  # replaces an empty folder; refuses a non-empty one
    except OSError as exc:
        raise InvalidInput(
            f"{data_dir} could not be put in place ({exc.strerror}). Nothing was restored."
        ) from None
    _fsync(data_dir.parent)

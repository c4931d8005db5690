"""The backup archive: a zip of files under known folders, with a manifest of checksums.

Layout::

    manifest.json            format, version, created at, schema revision,
                             trainerbot version, every file with size and sha256
    database/trainerbot.db   the SQLite database (absent with PostgreSQL)
    artifacts/…              the artifact store
    memories/…               the trained example memories

:class:`ArchiveWriter` streams each file into the zip while hashing it and writes
the manifest last. :func:`unpack` refuses an archive whose manifest is missing or
from a newer format, whose members differ from the manifest, or whose path leaves
its folder, and checks every size and checksum while writing the files out.
Nothing here knows what a database or a memory is.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any

from domain.errors import InvalidInput

FORMAT = "trainerbot-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE = "database/trainerbot.db"
FOLDERS = ("database", "artifacts", "memories")
STAMP = "%Y%m%dT%H%M%SZ"  # in archive names: trainerbot-20260101T030000Z.zip
_CHUNK = 1024 * 1024
_MAX_MANIFEST = 64 * 1024 * 1024

Check = Callable[[], None]  # raises to stop (a shutdown while a backup runs)


@dataclass(frozen=True, slots=True)
class Entry:
    path: str  # inside the archive, e.g. "memories/mem-0001/manifest.json"
    size: int
    sha256: str


@dataclass(slots=True)
class Manifest:
    created_at: str
    trainerbot_version: str
    database: str | None  # "sqlite", or None when the archive holds no database
    schema_revision: str | None
    excluded: list[str]
    files: list[Entry] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)  # empty ones, kept as they are
    format_version: int = FORMAT_VERSION

    def to_json(self) -> bytes:
        body: dict[str, Any] = {
            "format": FORMAT,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "trainerbot_version": self.trainerbot_version,
            "database": self.database,
            "schema_revision": self.schema_revision,
            "excluded": self.excluded,
            "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.files],
            "directories": self.directories,
        }
        return json.dumps(body, indent=2, ensure_ascii=False).encode() + b"\n"

    @property
    def total_bytes(self) -> int:
        return sum(e.size for e in self.files)


class ArchiveWriter:
    """Add files one by one; ``finish`` writes the manifest. Use it as a context manager."""

    def __init__(self, target: Path, manifest: Manifest, *, check: Check | None = None) -> None:
        self._zip = zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self.manifest = manifest
        self._check = check or (lambda: None)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self._zip.close()

    def add_file(self, source: Path, path: str) -> bool:
        """Store ``source`` as ``path``; False when it vanished before it could be read."""
        self._check()
        digest, size = hashlib.sha256(), 0
        try:
            handle = open(source, "rb")  # noqa: SIM115 - closed below, after the zip entry
        except FileNotFoundError:
            return False
        with handle, self._zip.open(_zip_info(path), "w", force_zip64=True) as out:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        self.manifest.files.append(Entry(path, size, digest.hexdigest()))
        return True

    def add_tree(self, root: Path, folder: str, *, skip: Callable[[str], bool]) -> None:
        """Every regular file under ``root`` (symlinks are not followed), as ``folder/…``.

        ``skip(name)`` leaves out top-level entries, e.g. half-written ``.tmp-`` ones.
        """
        if not root.is_dir():
            return
        for top in sorted(os.scandir(root), key=lambda e: e.name):
            if skip(top.name):
                continue
            if top.is_file(follow_symlinks=False):
                self.add_file(Path(top.path), f"{folder}/{top.name}")
            elif top.is_dir(follow_symlinks=False):
                self._add_dir(Path(top.path), f"{folder}/{top.name}")

    def _add_dir(self, directory: Path, path: str) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except FileNotFoundError:
            return
        if not entries:
            self.manifest.directories.append(path)
        for entry in entries:
            if entry.is_file(follow_symlinks=False):
                self.add_file(Path(entry.path), f"{path}/{entry.name}")
            elif entry.is_dir(follow_symlinks=False):
                self._add_dir(Path(entry.path), f"{path}/{entry.name}")

    def finish(self) -> None:
        self._check()
        self._zip.writestr(_zip_info(MANIFEST), self.manifest.to_json())


def _zip_info(path: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


# --------------------------------------------------------------------------- reading


def read_manifest(archive: zipfile.ZipFile, shown: str) -> Manifest:
    """The archive's manifest, after checking that it describes exactly its members."""
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        raise InvalidInput(f"{shown} is not a trainerbot backup: it has no {MANIFEST}.") from None
    if info.file_size > _MAX_MANIFEST:
        raise InvalidInput(f"{shown}: {MANIFEST} is too large to be a backup manifest.")
    try:
        body = json.loads(archive.read(info))
        if body.get("format") != FORMAT:
            raise ValueError
        version = int(body["format_version"])
        if version > FORMAT_VERSION:
            raise InvalidInput(
                f"{shown} was written by a newer trainerbot (backup format {version}; this "
                f"one reads up to {FORMAT_VERSION}). Upgrade trainerbot to restore it."
            )
        manifest = Manifest(
            created_at=str(body["created_at"]),
            trainerbot_version=str(body["trainerbot_version"]),
            database=body["database"],
            schema_revision=body["schema_revision"],
            excluded=[str(x) for x in body.get("excluded", [])],
            files=[Entry(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in body["files"]],
            directories=[str(d) for d in body.get("directories", [])],
            format_version=version,
        )
    except InvalidInput:
        raise
    except Exception:
        raise InvalidInput(f"{shown} is not a trainerbot backup: its {MANIFEST} is not.") from None
    _check_members(archive, manifest, shown)
    return manifest


def _check_members(archive: zipfile.ZipFile, manifest: Manifest, shown: str) -> None:
    listed = [e.path for e in manifest.files]
    for path in [*listed, *manifest.directories]:
        if not _safe(path):
            raise InvalidInput(f"{shown}: {path!r} is not a path a backup may hold.")
    members = {i.filename for i in archive.infolist() if not i.is_dir()} - {MANIFEST}
    if len(set(listed)) != len(listed) or members != set(listed):
        extra = sorted(members - set(listed))[:3]
        missing = sorted(set(listed) - members)[:3]
        raise InvalidInput(
            f"{shown} does not match its manifest (not listed: {extra or 'none'}; "
            f"missing: {missing or 'none'}): the archive is damaged or was changed."
        )


def _safe(path: str) -> bool:
    pure = PurePosixPath(path)
    return (
        not pure.is_absolute()
        and "\\" not in path
        and len(pure.parts) >= 2
        and pure.parts[0] in FOLDERS
        and all(part not in ("", ".", "..") for part in pure.parts)
        and str(pure) == path
    )


def unpack(archive: zipfile.ZipFile, manifest: Manifest, into: Path, shown: str) -> None:
    """Write every file of ``manifest`` under ``into``, checking its size and sha256."""
    for directory in manifest.directories:
        (into / directory).mkdir(parents=True, exist_ok=True)
    for entry in manifest.files:
        target = into / entry.path
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), -1
        with open(target, "xb") as out:
            try:
                with archive.open(entry.path) as source:
                    size = _copy(source, out, digest, entry.size + 1)
            except (zipfile.BadZipFile, zlib.error, EOFError):
                pass  # the zip's own CRC or compressed data is broken: the same refusal
            out.flush()
            os.fsync(out.fileno())
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise InvalidInput(
                f"{shown}: {entry.path} does not match its checksum: the archive is damaged "
                "or was changed. Nothing was restored."
            )


def _copy(source: IO[bytes], out: IO[bytes], digest: Any, limit: int) -> int:
    size = 0
    while size < limit and (chunk := source.read(min(_CHUNK, limit - size))):
        digest.update(chunk)
        size += len(chunk)
        out.write(chunk)
    return size

"""``ArtifactStore`` over one directory, with no way out of it.

Every name goes through ``validate_artifact_name`` (one segment of
``[A-Za-z0-9._-]``, no ``..``), so no name can hold a separator, a drive, NUL or
a traversal. On top of that the store only ever touches regular files directly
inside its root: reads open with ``O_NOFOLLOW`` (a planted symlink is refused,
not followed), check with ``fstat`` that what was opened is a regular file (a
FIFO or device is refused without blocking, thanks to ``O_NONBLOCK``), and check
that the resolved path is inside the resolved root. A refusal says so
(``PermissionDenied``), unlike a name with nothing behind it (``NotFound``).
Writes go to a hidden temp file (a name no caller can address) and
``os.replace`` it into place, which replaces a planted symlink itself rather
than writing through it; a write that runs out of room (disk full, the file
size limit, a quota) removes its temp file and says so (``StorageUnavailable``),
so a name holds a whole file or nothing. File I/O runs in a worker thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import structlog

from domain.artifacts import validate_artifact_name
from domain.errors import (
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
    StorageUnavailable,
)
from domain.models import Artifact

log = structlog.get_logger()

_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_TEMP_PREFIX = ".tmp-"  # never a valid artifact name: those start with a letter or digit


def _missing(name: str) -> NotFound:
    return NotFound(f"There is no file named {name!r}.")


_NO_ROOM = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # disk full, file size limit, quota


def _no_room(name: str) -> StorageUnavailable:
    return StorageUnavailable(
        f"{name!r} could not be written: the disk is full (or a file size limit was "
        "reached). Nothing was written; free some disk space and try again."
    )


def _refused(name: str, *, link: bool) -> PermissionDenied:
    """Something other than a file the store wrote has this name; it is never read."""
    what = "a link" if link else "not a regular file"
    return PermissionDenied(
        f"{name!r} is {what}, so it is refused: the artifact store only hands out "
        "the regular files in its own folder."
    )


class FileSystemArtifactStore:
    def __init__(self, root: Path, *, max_bytes: int | None = None) -> None:
        self._root = Path(root)
        self._max_bytes = max_bytes

    @property
    def root(self) -> Path:
        return self._root

    async def write(self, name: str, data: bytes) -> Artifact:
        validate_artifact_name(name)
        self._check_size(name, len(data))
        return await asyncio.to_thread(self._write, name, bytes(data))

    async def read(self, name: str) -> bytes:
        validate_artifact_name(name)
        return await asyncio.to_thread(self._read, name)

    async def all(self) -> list[Artifact]:
        return await asyncio.to_thread(self._all)

    async def exists(self, name: str) -> bool:
        validate_artifact_name(name)
        return await asyncio.to_thread(self._exists, name)

    async def aclose(self) -> None:
        return None

    # ------------------------------------------------------------------ in the worker thread

    def _real_root(self) -> Path:
        return self._root.resolve()

    def _path(self, name: str) -> Path:
        """``root/name`` after checking that it lies directly inside the real root."""
        root = self._real_root()
        path = root / name
        if path.parent != root or path.name != name:  # one segment, nothing else
            raise _missing(name)
        return path

    def _check_size(self, name: str, size: int) -> None:
        if self._max_bytes is not None and size > self._max_bytes:
            raise LimitExceeded(
                f"{name!r} is {size:,} bytes; the artifact store takes files up to "
                f"{self._max_bytes:,} bytes.",
                limit=self._max_bytes,
            )

    def _write(self, name: str, data: bytes) -> Artifact:
        self._root.mkdir(parents=True, exist_ok=True)
        path = self._path(name)
        fd, temp = tempfile.mkstemp(prefix=_TEMP_PREFIX, dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, 0o644)
            os.replace(temp, path)
        except IsADirectoryError:
            os.unlink(temp)
            raise InvalidInput(f"{name!r} cannot be written: a folder has that name.") from None
        except BaseException as exc:
            if os.path.lexists(temp):
                os.unlink(temp)
            if isinstance(exc, OSError) and exc.errno in _NO_ROOM:
                log.error("artifact_write_failed", artifact=name, reason=errno.errorcode[exc.errno])
                raise _no_room(name) from None
            raise
        info = os.stat(path, follow_symlinks=False)
        log.info("artifact_written", artifact=name, size=len(data))
        return Artifact(name=name, size=info.st_size, created_at=_mtime(info))

    def _read(self, name: str) -> bytes:
        path = self._path(name)
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            raise _missing(name) from None
        except OSError as exc:
            # ELOOP: a symlink; ENXIO: a FIFO without a writer; EISDIR etc.
            reason = errno.errorcode.get(exc.errno or 0, "error")
            log.warning("artifact_read_refused", artifact=name, reason=reason)
            raise _refused(name, link=exc.errno == errno.ELOOP) from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                log.warning("artifact_read_refused", artifact=name, reason="not_regular_file")
                raise _refused(name, link=False)
            if os.path.realpath(path) != str(path):
                log.warning("artifact_read_refused", artifact=name, reason="outside_root")
                raise _refused(name, link=True)
            self._check_size(name, info.st_size)
        except BaseException:
            os.close(fd)
            raise
        with os.fdopen(fd, "rb") as handle:
            data = handle.read() if self._max_bytes is None else handle.read(self._max_bytes + 1)
        self._check_size(name, len(data))
        return data

    def _all(self) -> list[Artifact]:
        root = self._real_root()
        try:
            entries = list(os.scandir(root))
        except FileNotFoundError:
            return []
        found = []
        for entry in entries:
            if not _valid(entry.name) or not entry.is_file(follow_symlinks=False):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue  # removed meanwhile
            found.append(Artifact(name=entry.name, size=info.st_size, created_at=_mtime(info)))
        return sorted(found, key=lambda a: a.name)

    def _exists(self, name: str) -> bool:
        try:
            info = os.stat(self._path(name), follow_symlinks=False)
        except (FileNotFoundError, NotADirectoryError, NotFound):
            return False
        return stat.S_ISREG(info.st_mode)


def _valid(name: str) -> bool:
    try:
        validate_artifact_name(name)
    except InvalidInput:
        return False
    return True


def _mtime(info: os.stat_result) -> datetime:
    return datetime.fromtimestamp(info.st_mtime, UTC)

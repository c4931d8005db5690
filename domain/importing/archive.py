"""Reading the members of an uploaded zip without trusting what it says about itself.

Refused: more members than allowed, members or totals larger than the limits
(checked on the sizes the archive declares, and again on the bytes actually
unpacked, so a member that lies about its size is caught), encrypted members and
damaged archives. Directories, ``__MACOSX`` folders and hidden files (``.name``)
are skipped; members come in name order.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

from domain.errors import InvalidInput, LimitExceeded
from domain.importing.limits import DatasetLimits, size_text
from domain.uploads import shown_name

CHUNK = 64 * 1024


def is_zip(data: bytes) -> bool:
    return data.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def _skipped(info: zipfile.ZipInfo) -> bool:
    parts = info.filename.replace("\\", "/").split("/")
    return info.is_dir() or "__MACOSX" in parts or parts[-1].startswith(".") or not parts[-1]


def _members(name: str, archive: zipfile.ZipFile, limits: DatasetLimits) -> list[zipfile.ZipInfo]:
    members = sorted((i for i in archive.infolist() if not _skipped(i)), key=lambda i: i.filename)
    if len(members) > limits.max_archive_members:
        raise LimitExceeded(
            f"{name} holds {len(members):,} files; an archive may hold at most "
            f"{limits.max_archive_members:,}. Nothing was imported.",
            limit=limits.max_archive_members,
        )
    total = 0
    for info in members:
        if info.flag_bits & 0x1:
            raise InvalidInput(
                f"{name}/{shown_name(info.filename)} is encrypted; "
                "upload an archive without a password."
            )
        if info.file_size > limits.max_file_bytes:
            raise _too_big_member(name, info, limits)
        total += info.file_size
    if total > limits.max_unpacked_bytes:
        raise _too_big_total(name, limits)
    return members


def _too_big_member(name: str, info: zipfile.ZipInfo, limits: DatasetLimits) -> LimitExceeded:
    return LimitExceeded(
        f"{name}/{shown_name(info.filename)} unpacks to more than "
        f"{size_text(limits.max_file_bytes)}, the limit for one file. Nothing was imported.",
        limit=limits.max_file_bytes,
    )


def _too_big_total(name: str, limits: DatasetLimits) -> LimitExceeded:
    return LimitExceeded(
        f"{name} unpacks to more than {size_text(limits.max_unpacked_bytes)}, "
        "the limit for one archive. Nothing was imported.",
        limit=limits.max_unpacked_bytes,
    )


def _damaged(name: str) -> InvalidInput:
    return InvalidInput(f"{name} is not a readable zip archive (it may be damaged).")


def read_members(name: str, data: bytes, limits: DatasetLimits) -> Iterator[tuple[str, bytes]]:
    """``(member path, bytes)`` one at a time, in name order; raises on any limit."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise _damaged(name) from None
    with archive:
        unpacked = 0
        for info in _members(name, archive, limits):
            allowed = min(info.file_size, limits.max_file_bytes)
            chunks: list[bytes] = []
            size = 0
            try:
                with archive.open(info) as member:
                    while chunk := member.read(CHUNK):
                        size += len(chunk)
                        unpacked += len(chunk)
                        if size > allowed:
                            raise _too_big_member(name, info, limits)
                        if unpacked > limits.max_unpacked_bytes:
                            raise _too_big_total(name, limits)
                        chunks.append(chunk)
            except (zipfile.BadZipFile, ValueError, EOFError, OSError):
                raise _damaged(name) from None
            except NotImplementedError:
                raise InvalidInput(
                    f"{name}/{shown_name(info.filename)} uses a compression method that is "
                    "not supported; use a standard (deflate) zip."
                ) from None
            yield shown_name(info.filename), b"".join(chunks)

"""How much one dataset (and one import) may hold; every limit has a sane default."""

from __future__ import annotations

from dataclasses import dataclass

from domain.json_input import MAX_DEPTH

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class DatasetLimits:
    max_file_bytes: int = 20 * MIB  # one uploaded file, and each member of a zip
    max_examples: int = 50_000  # per dataset, counting what it already holds
    max_text_chars: int = 20_000  # per field: each message, answer, rejected, label, name
    max_archive_members: int = 200  # files in one zip
    max_unpacked_bytes: int = 200 * MIB  # all members of one zip together
    max_depth: int = MAX_DEPTH  # JSON nesting of one record (the same for test sets)


def size_text(n: int) -> str:
    """``20971520`` → ``"20 MiB"``; small sizes in bytes or KiB."""
    if n >= MIB:
        return f"{n / MIB:,.1f} MiB".replace(".0 ", " ")
    if n >= 1024:
        return f"{n / 1024:,.1f} KiB".replace(".0 ", " ")
    return f"{n:,} bytes"

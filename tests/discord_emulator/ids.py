"""Snowflake ids and timestamps shaped like Discord's."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1_420_070_400_000


class SnowflakeGenerator:
    """Unique, increasing snowflakes whose timestamp part is the current time."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        now_ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        candidate = now_ms << 22
        self._last = max(candidate, self._last + 1)
        return self._last


def iso_now() -> str:
    """A timestamp in the format Discord uses (ISO 8601 with an explicit UTC offset)."""
    return datetime.now(UTC).isoformat()


def new_token(prefix: str) -> str:
    """An opaque, URL-safe token (interaction tokens, session ids)."""
    return f"{prefix}{secrets.token_urlsafe(24)}"

"""Downloading attachments safely: size limits, content types, a timeout."""

from __future__ import annotations

import asyncio
import posixpath

import aiohttp
import discord
import structlog

from domain.errors import DomainError, InvalidInput, LimitExceeded

log = structlog.get_logger()

AUDIO_EXTENSIONS = frozenset(
    {".ogg", ".oga", ".opus", ".mp3", ".wav", ".m4a", ".flac", ".webm", ".aac", ".mp4"}
)
DATASET_EXTENSIONS = frozenset({".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt", ".zip"})
TEST_EXTENSIONS = frozenset({".json", ".jsonl", ".ndjson"})


class DownloadFailed(DomainError):
    key = "download_failed"


def extension(filename: str) -> str:
    return posixpath.splitext(filename.lower())[1]


def size_text(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MiB"
    if n >= 1024:
        return f"{n / 1024:.0f} KiB"
    return f"{n} bytes"


def is_audio(attachment: discord.Attachment) -> bool:
    """A voice message or an audio file (by content type, else by extension)."""
    if attachment.is_voice_message():
        return True
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    if kind.startswith("audio/"):
        return True
    if kind and kind != "application/octet-stream":
        return False
    return extension(attachment.filename) in AUDIO_EXTENSIONS


def has_audio(message: discord.Message) -> bool:
    return any(is_audio(a) for a in message.attachments)


def check_audio(attachment: discord.Attachment, *, max_bytes: int) -> None:
    if not is_audio(attachment):
        raise InvalidInput(
            f"{attachment.filename[:80]!r} is not an audio file: send a voice message or an "
            "audio file (ogg, mp3, wav, m4a, flac, webm).",
            file=attachment.filename[:80],
        )
    check_size(attachment, max_bytes=max_bytes)


def check_file(
    attachment: discord.Attachment, *, max_bytes: int, extensions: frozenset[str]
) -> None:
    if extension(attachment.filename) not in extensions:
        allowed = ", ".join(sorted(e.lstrip(".") for e in extensions))
        raise InvalidInput(
            f"{attachment.filename[:80]!r} has a file type I can't read; use one of: {allowed}.",
            file=attachment.filename[:80],
            allowed=allowed,
        )
    check_size(attachment, max_bytes=max_bytes)


def check_size(attachment: discord.Attachment, *, max_bytes: int) -> None:
    if attachment.size > max_bytes:
        raise LimitExceeded(
            f"{attachment.filename[:80]!r} is {size_text(attachment.size)}; "
            f"the limit is {size_text(max_bytes)}.",
            size=size_text(attachment.size),
            limit=size_text(max_bytes),
        )


async def download(attachment: discord.Attachment, *, max_bytes: int, time_limit: float) -> bytes:
    """The attachment's bytes; refuses more than ``max_bytes`` or longer than ``time_limit``."""
    check_size(attachment, max_bytes=max_bytes)
    try:
        async with asyncio.timeout(time_limit):
            data = await attachment.read()
    except (TimeoutError, discord.HTTPException, aiohttp.ClientError) as exc:
        log.warning("attachment_download_failed", error_type=type(exc).__name__)
        raise DownloadFailed(
            f"I couldn't download {attachment.filename[:80]!r}; please try again."
        ) from None
    if len(data) > max_bytes:  # the declared size lied
        raise LimitExceeded(
            f"{attachment.filename[:80]!r} is larger than the limit of {size_text(max_bytes)}.",
            limit=size_text(max_bytes),
        )
    log.debug("attachment_downloaded", size=len(data))
    return data

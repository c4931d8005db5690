"""Voice settings (the app fills them from its settings)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from domain.models import Speech


@dataclass(frozen=True, slots=True)
class SpeechFile:
    """How ``/say`` turns speech into an attachment when the bot is in no voice channel:
    ``encode`` (CPU work, run in a thread) and the file name (its extension tells
    Discord's clients how to play it)."""

    encode: Callable[[Sequence[Speech]], bytes]
    filename: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VoiceConfig:
    idle_timeout: float = 300.0  # seconds connected with nothing to say before leaving
    connect_timeout: float = 15.0  # seconds for the voice handshake
    max_say_chars: int = 1000  # longest `/say` text
    bitrate: int = 64  # kbit/s of the Opus stream (speech)

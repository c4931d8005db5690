"""Builds the speech adapters from settings, when the ``speech`` extra is installed."""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING

import structlog

from app.settings import Settings
from domain.errors import DomainError

if TYPE_CHECKING:
    from adapters.speech_whisper import FasterWhisperSpeechToText

log = structlog.get_logger()


def build_speech_to_text(settings: Settings) -> FasterWhisperSpeechToText | None:
    """faster-whisper behind the port, or None when speech is off or not installed."""
    s = settings.speech
    if s.enabled == "false":
        return None
    if importlib.util.find_spec("faster_whisper") is None:
        if s.enabled == "true":
            raise DomainError(
                "Speech is enabled but faster-whisper is not installed: "
                "install the speech extra (pip install -e '.[speech]')."
            )
        log.info("speech_unavailable", hint="install the speech extra to transcribe audio")
        return None
    from adapters.speech_whisper import FasterWhisperSpeechToText

    return FasterWhisperSpeechToText(
        cache_dir=settings.models_dir,
        model_dir=s.model_dir,
        model_name=s.model_name,
        compute_type=s.compute_type,
        cpu_threads=s.cpu_threads,
        workers=s.workers,
        beam_size=s.beam_size,
        vad=s.vad,
        language=s.language,
        max_seconds=s.max_seconds,
        max_bytes=settings.discord.max_audio_bytes,
        preload=s.preload,
    )

"""Builds the speech adapters from settings, when the ``speech`` extra is installed."""

from __future__ import annotations

import ctypes.util
import importlib.util
from typing import TYPE_CHECKING

import structlog

from app.settings import Settings
from domain.errors import DomainError

if TYPE_CHECKING:
    from adapters.speech_piper import PiperTextToSpeech
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


def build_text_to_speech(settings: Settings) -> PiperTextToSpeech | None:
    """Piper behind the port for voice channels, or None when voice is off or not installed."""
    v = settings.voice
    if v.enabled == "false":
        return None
    missing = [
        what
        for what, present in (
            ("piper-tts (the speech extra)", importlib.util.find_spec("piper") is not None),
            ("libopus (apt-get install libopus0)", ctypes.util.find_library("opus") is not None),
        )
        if not present
    ]
    if missing:
        if v.enabled == "true":
            raise DomainError("Voice is enabled but these are missing: " + ", ".join(missing) + ".")
        log.info("voice_unavailable", missing=missing)
        return None
    from adapters.speech_piper import PiperTextToSpeech

    return PiperTextToSpeech(
        voices=v.voices,
        default_voice=v.default_voice,
        length_scale=v.length_scale,
        speaker_id=v.speaker_id,
        preload=True,
    )

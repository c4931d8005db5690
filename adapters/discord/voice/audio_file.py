"""Speech as a file to attach: one mono 16-bit WAV (Discord plays it inline)."""

from __future__ import annotations

import io
import wave
from collections.abc import Sequence

import numpy as np
import soxr

from domain.errors import SpeechError
from domain.models import Speech


def to_wav(speeches: Sequence[Speech]) -> bytes:
    """The speeches in order, at the first one's rate (others resampled to it)."""
    if not speeches:
        raise SpeechError("There is no speech to save.", reason="empty")
    rate = speeches[0].sample_rate
    parts = []
    for speech in speeches:
        usable = len(speech.pcm) - len(speech.pcm) % 2
        samples = np.frombuffer(speech.pcm[:usable], dtype="<i2")
        if speech.sample_rate != rate:
            samples = soxr.resample(samples, speech.sample_rate, rate, quality="HQ").astype("<i2")
        parts.append(samples)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(np.concatenate(parts).tobytes())
    return out.getvalue()

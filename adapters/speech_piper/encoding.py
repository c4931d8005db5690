"""Speech → audio files: WAV, and OGG/Opus (the format of Discord voice messages).

These are CPU work for whole answers: call them through the worker pool / ``Offload``.
"""

from __future__ import annotations

import io
import wave
from collections.abc import Iterable

import av
import numpy as np
import numpy.typing as npt
import soxr

from domain.errors import SpeechError
from domain.models import Speech

OPUS_RATE = 48_000
_OPUS_FRAME = 960  # 20 ms at 48 kHz


def to_wav_bytes(speeches: Iterable[Speech]) -> bytes:
    """One mono 16-bit WAV at the first speech's rate (later ones resampled to it)."""
    rate, samples = _joined(speeches, rate=None)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return out.getvalue()


def to_ogg_opus_bytes(speeches: Iterable[Speech], *, bitrate: int = 32_000) -> bytes:
    """One mono 48 kHz OGG/Opus file, like the voice messages Discord clients record."""
    _, samples = _joined(speeches, rate=OPUS_RATE)
    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = bitrate
        padded = np.concatenate(
            [samples, np.zeros(-samples.size % _OPUS_FRAME, dtype=np.int16)]
        ).reshape(1, -1)
        for start in range(0, padded.shape[1], _OPUS_FRAME):
            frame = av.AudioFrame.from_ndarray(
                np.ascontiguousarray(padded[:, start : start + _OPUS_FRAME]),
                format="s16",
                layout="mono",
            )
            frame.sample_rate = OPUS_RATE
            frame.pts = start
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return out.getvalue()


def _joined(speeches: Iterable[Speech], *, rate: int | None) -> tuple[int, npt.NDArray[np.int16]]:
    parts: list[npt.NDArray[np.int16]] = []
    for speech in speeches:
        rate = rate or speech.sample_rate
        usable = len(speech.pcm) - len(speech.pcm) % 2
        samples = np.frombuffer(speech.pcm[:usable], dtype="<i2")
        if speech.sample_rate != rate:
            samples = soxr.resample(samples, speech.sample_rate, rate, quality="HQ")
        parts.append(samples.astype(np.int16, copy=False))
    if rate is None or not parts or not any(part.size for part in parts):
        raise SpeechError("There is no speech to save.", reason="empty")
    return rate, np.concatenate(parts)

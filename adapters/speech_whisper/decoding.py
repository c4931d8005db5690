"""Any audio container in, 16 kHz mono float32 out — with the limits checked early.

PyAV (FFmpeg) reads OGG/Opus voice messages, wav, mp3, m4a, webm and flac. The
container's declared duration is checked before decoding anything, and the decoded
length is checked while decoding, so over-long audio costs little and never fills
memory. Every failure becomes a :class:`SpeechError` with a message for the user.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import av.error
import numpy as np
import numpy.typing as npt
import structlog

from domain.errors import SpeechError

log = structlog.get_logger()

SAMPLE_RATE = 16_000
_DURATION_SLACK = 0.5  # seconds of tolerance for declared durations
_SILENCE_PEAK = 1e-4  # below this the audio is digital silence


@dataclass(frozen=True, slots=True)
class DecodedAudio:
    samples: npt.NDArray[np.float32]  # mono, SAMPLE_RATE
    duration: float

    @property
    def is_silent(self) -> bool:
        return self.samples.size == 0 or float(np.max(np.abs(self.samples))) < _SILENCE_PEAK


def not_audio() -> SpeechError:
    return SpeechError(
        "I could not read that as audio: the file is damaged or not a sound file "
        "(voice messages, wav, mp3, m4a, webm, ogg and flac work).",
        reason="not_audio",
    )


def too_long(max_seconds: float) -> SpeechError:
    return SpeechError(
        f"That audio is too long: the limit is {_format_seconds(max_seconds)}.",
        reason="too_long",
        limit_seconds=max_seconds,
    )


def decode_audio(data: bytes, *, max_seconds: float) -> DecodedAudio:
    """Decode ``data`` to 16 kHz mono float32; refuse anything over ``max_seconds``."""
    if not data:
        raise SpeechError("The audio file is empty.", reason="empty")
    try:
        container = av.open(io.BytesIO(data), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, ValueError, UnicodeDecodeError, OSError) as exc:
        log.info("audio_decode_refused", error=type(exc).__name__, size=len(data))
        raise not_audio() from None
    try:
        return _decode(container, max_seconds=max_seconds, size=len(data))
    finally:
        container.close()


def _decode(
    container: av.container.InputContainer, *, max_seconds: float, size: int
) -> DecodedAudio:
    if not container.streams.audio:
        log.info("audio_decode_refused", error="no_audio_stream", size=size)
        raise not_audio()
    stream = container.streams.audio[0]
    declared = _declared_duration(container, stream)
    if declared is not None and declared > max_seconds + _DURATION_SLACK:
        raise too_long(max_seconds)

    limit = int(max_seconds * SAMPLE_RATE)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
    chunks: list[npt.NDArray[np.float32]] = []
    total = 0
    bad_packets = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.error.InvalidDataError:
                bad_packets += 1
                continue
            for frame in frames:
                frame.pts = None  # timestamps of damaged streams may jump; order is enough
                for out in resampler.resample(frame):
                    chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    chunks.append(chunk)
                    total += chunk.size
            if total > limit:
                raise too_long(max_seconds)
    except (av.error.FFmpegError, ValueError) as exc:
        log.info("audio_decode_refused", error=type(exc).__name__, size=size)
        if total == 0:
            raise not_audio() from None
        # A damaged tail: keep what decoded cleanly.
    for out in resampler.resample(None):
        chunk = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
        chunks.append(chunk)
        total += chunk.size
    if total == 0:
        log.info("audio_decode_refused", error="no_samples", size=size, bad_packets=bad_packets)
        raise not_audio()
    if total > limit:
        raise too_long(max_seconds)
    samples = np.concatenate(chunks) if len(chunks) > 1 else chunks[0]
    return DecodedAudio(samples=samples, duration=total / SAMPLE_RATE)


def _declared_duration(
    container: av.container.InputContainer, stream: av.audio.stream.AudioStream
) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return None


def _format_seconds(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    if seconds == int(seconds):
        return f"{int(seconds)} second{'s' if seconds != 1 else ''}"
    return f"{seconds:g} seconds"

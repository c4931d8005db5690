"""Speech → what discord.py plays: 20 ms frames of 48 kHz stereo signed 16-bit PCM.

Piper speaks mono int16 at its own rate (22,050 Hz for medium voices). soxr resamples
it as a stream (band-limited, not by repeating samples), keeping its filter state
between pieces so the sentences of one answer join without clicks; the mono signal
is copied to both channels and cut into 3,840-byte frames.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import soxr

DISCORD_RATE = 48_000
FRAME_MS = 20
FRAME_SAMPLES = DISCORD_RATE * FRAME_MS // 1000  # per channel: 960
FRAME_BYTES = FRAME_SAMPLES * 2 * 2  # stereo, 16-bit: 3,840
SILENCE = bytes(FRAME_BYTES)


class FrameCutter:
    """Feed mono PCM pieces of one utterance in order; take whole frames as they form.

    ``feed(pcm, rate)`` returns the frames complete so far and keeps the rest (and
    the resampler's state) for the next piece; ``finish()`` flushes everything and
    pads the last frame with silence. The rate may change between pieces (a voice
    change): the resampler is drained and rebuilt. Not thread-safe; one per utterance.
    """

    def __init__(self, *, quality: str = "HQ") -> None:
        self._quality = quality
        self._rate: int | None = None
        self._resampler: soxr.ResampleStream | None = None
        self._odd_byte = b""
        self._buffer = bytearray()

    def feed(self, pcm: bytes, rate: int) -> list[bytes]:
        if rate <= 0:
            raise ValueError("the sample rate must be positive")
        if rate != self._rate:
            self._drain()
            self._rate = rate
            self._resampler = (
                None
                if rate == DISCORD_RATE
                else soxr.ResampleStream(
                    rate, DISCORD_RATE, 1, dtype="int16", quality=self._quality
                )
            )
        data = self._odd_byte + pcm
        usable = len(data) - len(data) % 2
        self._odd_byte = data[usable:]
        samples = np.frombuffer(data[:usable], dtype="<i2")
        self._append(self._resample(samples, last=False))
        return self._cut()

    def finish(self) -> list[bytes]:
        self._drain()
        self._rate = None
        self._odd_byte = b""
        remainder = len(self._buffer) % FRAME_BYTES
        if remainder:
            self._buffer.extend(bytes(FRAME_BYTES - remainder))
        return self._cut()

    def _resample(self, samples: npt.NDArray[np.int16], *, last: bool) -> npt.NDArray[np.int16]:
        if self._resampler is None:
            return samples
        out: npt.NDArray[np.int16] = self._resampler.resample_chunk(samples, last=last)
        return out

    def _drain(self) -> None:
        if self._resampler is not None:
            self._append(self._resample(np.zeros(0, dtype=np.int16), last=True))
            self._resampler = None

    def _append(self, mono: npt.NDArray[np.int16]) -> None:
        if mono.size:
            self._buffer.extend(np.repeat(mono.astype("<i2", copy=False), 2).tobytes())

    def _cut(self) -> list[bytes]:
        whole = len(self._buffer) - len(self._buffer) % FRAME_BYTES
        frames = [bytes(self._buffer[i : i + FRAME_BYTES]) for i in range(0, whole, FRAME_BYTES)]
        del self._buffer[:whole]
        return frames

"""The PCM source discord.py's player thread reads: frames pushed from the event loop.

discord.py calls ``read()`` every 20 ms from its own thread and sends what it gets;
an empty result ends the playback. While the next sentence is still being
synthesized the source answers with silence, so the packet cadence never breaks
inside an utterance; it ends only after ``finish()`` once every frame was played,
or at once after ``stop()``.
"""

from __future__ import annotations

import threading
from collections import deque

import discord

from adapters.discord.voice.frames import FRAME_BYTES, SILENCE


class FrameSource(discord.AudioSource):
    """Thread-safe: ``push``/``finish``/``stop`` from the loop, ``read`` from the player."""

    def __init__(self) -> None:
        self._frames: deque[bytes] = deque()
        self._lock = threading.Lock()
        self._finished = False
        self._stopped = False
        self.played = 0  # frames handed to the player (speech, not filler)
        self.underruns = 0  # silent frames sent while waiting for speech

    def push(self, frames: list[bytes]) -> None:
        for frame in frames:
            if len(frame) != FRAME_BYTES:
                raise ValueError(f"a frame must be {FRAME_BYTES} bytes")
        with self._lock:
            self._frames.extend(frames)

    def finish(self) -> None:
        """No more frames will come: end after the queued ones."""
        with self._lock:
            self._finished = True

    def stop(self) -> None:
        """End now, dropping what is queued."""
        with self._lock:
            self._stopped = True
            self._frames.clear()

    @property
    def pending(self) -> int:
        return len(self._frames)

    @property
    def stopped(self) -> bool:
        return self._stopped

    def read(self) -> bytes:
        with self._lock:
            if self._stopped:
                return b""
            if self._frames:
                self.played += 1
                return self._frames.popleft()
            if self._finished:
                return b""
            self.underruns += 1
            return SILENCE

    def is_opus(self) -> bool:
        return False

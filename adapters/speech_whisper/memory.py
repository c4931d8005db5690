"""Handing memory back to the OS once transcriptions stop."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    try:
        trim: Callable[[int], int] = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError, TypeError):
        return None  # not glibc: nothing to do
    return trim


def release_free_memory() -> None:
    """Hand freed heap pages back to the OS (glibc keeps them otherwise).

    Loading converts the weights through a large temporary buffer, and every
    transcription frees ~100–150 MB of work buffers that glibc would keep resident.
    Not after every clip: the next one would fault those pages in again (~5 % slower).
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


class IdleTrigger:
    """Runs ``action`` once nothing was busy for ``delay`` seconds (loop thread only)."""

    def __init__(self, delay: float | None, action: Callable[[], object]) -> None:
        self._delay = delay
        self._action = action
        self._handle: asyncio.TimerHandle | None = None

    def busy(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def idle(self) -> None:
        self.busy()
        if self._delay is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._handle = loop.call_later(self._delay, self._fire)

    def _fire(self) -> None:
        self._handle = None
        self._action()

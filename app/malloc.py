"""glibc's malloc for the whole process, set once at start (``workers.malloc_arenas``).

glibc gives each thread that allocates its own arena, up to 8 per core, and memory
freed in one arena is only reused by the threads on that arena. The speech models
allocate from several threads at once (the Whisper and Piper pools, CTranslate2's
and ONNX Runtime's own threads), so each keeps its own high-water mark of freed
work buffers. Capping the arenas lets those threads reuse each other's freed memory:
measured on 2 cores with Whisper base and one Piper voice, a 30 s transcription after
speaking peaks at ~490 MB instead of ~565 MB (~640 instead of ~715 MB when both run
at once), with no measurable change in speed (docs/bench/speech.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameter number from glibc's malloc.h


def limit_malloc_arenas(arenas: int) -> bool:
    """Let at most ``arenas`` glibc malloc arenas exist from now on; 0 keeps glibc's.

    Returns whether the limit was set (not on a C library without ``mallopt``).
    Call it early: arenas already created stay, only new ones are refused.
    """
    if arenas <= 0:
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return False  # not glibc: its allocator has no arenas to limit
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))

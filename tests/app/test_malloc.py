"""The process-wide cap on glibc malloc arenas (``workers.malloc_arenas``)."""

from __future__ import annotations

import ctypes.util
import platform
import subprocess
import sys

import pytest

from app.malloc import limit_malloc_arenas

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc" or ctypes.util.find_library("c") is None,
    reason="malloc arenas are a glibc feature",
)

# Six threads allocate at the same time, then glibc prints one block per arena.
THREADS_ALLOCATING = """
import ctypes, sys, threading
from app.malloc import limit_malloc_arenas
print(limit_malloc_arenas(int(sys.argv[1])))
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
together = threading.Barrier(6)
def allocate():
    together.wait()
    libc.free(libc.malloc(64 * 1024))
    together.wait()
threads = [threading.Thread(target=allocate) for _ in range(6)]
for thread in threads: thread.start()
for thread in threads: thread.join()
libc.malloc_stats()
"""


def arenas_used(limit: int) -> tuple[str, int]:
    result = subprocess.run(
        [sys.executable, "-c", THREADS_ALLOCATING, str(limit)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip(), result.stderr.count("Arena ")


def test_threads_share_the_configured_number_of_arenas() -> None:
    applied, arenas = arenas_used(2)

    assert applied == "True"
    assert arenas == 2


def test_zero_keeps_glibcs_arena_per_thread() -> None:
    applied, arenas = arenas_used(0)

    assert applied == "False"
    assert arenas > 2


def test_zero_changes_nothing_in_this_process() -> None:
    assert limit_malloc_arenas(0) is False

"""The real ``trainerbot`` CLI in a subprocess, for the process and disk faults.

``Cli`` runs one command in a data directory (optionally under a file size limit:
``RLIMIT_FSIZE``, with ``SIGXFSZ`` ignored so that a write past it fails with
``EFBIG`` as on a full disk instead of killing the process) or starts one to kill.
The helpers read the database as it was left: its integrity and its datasets.
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHM_BYTES = 32 * 1024  # SQLite's -shm file: a file size limit must leave room for it
SLACK = 6.0  # seconds a loaded 2-core machine may add to a bound


@dataclass(frozen=True, slots=True)
class Done:
    code: int
    out: str
    err: str

    @property
    def lines(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.strip()]


def limited(max_bytes: int | None) -> Callable[[], None] | None:
    """A ``preexec_fn`` that caps every file the child writes at ``max_bytes``."""
    if max_bytes is None:
        return None

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail with EFBIG, don't die
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return apply


@dataclass
class Cli:
    data: Path
    cwd: Path

    @property
    def db(self) -> Path:
        return self.data / "trainerbot.db"

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
        env.update(
            TRAINERBOT_DATA_DIR=str(self.data),
            TRAINERBOT_LLM__BASE_URL="http://127.0.0.1:9/v1",  # nothing listens: not needed
            TRAINERBOT_LLM__MODEL="standin-model",
            TRAINERBOT_LOG__FORMAT="json",
            COLUMNS="400",
            PYTHONPATH=str(ROOT),
        )
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "app.cli", *args]

    def run(self, *args: str, max_bytes: int | None = None, timeout: float = 120) -> Done:
        done = subprocess.run(
            self.command(*args),
            capture_output=True,
            text=True,
            cwd=self.cwd,
            env=self.env,
            timeout=timeout,
            preexec_fn=limited(max_bytes),
        )
        return Done(done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str) -> str:
        done = self.run(*args)
        assert done.code == 0, done.out + done.err
        return done.out

    def start(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=self.cwd,
            env=self.env,
        )


def no_traceback(done: Done) -> None:
    assert "Traceback" not in done.out + done.err, done.out + done.err
    assert "Something went wrong" not in done.out, done.out


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def datasets(db: Path) -> dict[str, tuple[int, int]]:
    """Each dataset: (its ``example_count``, the rows it holds)."""
    conn = sqlite3.connect(db)
    try:
        return {
            name: (
                count,
                conn.execute("SELECT count(*) FROM examples WHERE dataset = ?", (name,)).fetchone()[
                    0
                ],
            )
            for name, count in conn.execute("SELECT name, example_count FROM datasets")
        }
    finally:
        conn.close()


def jsonl(path: Path, rows: int, *, width: int = 200, varied: bool = False) -> Path:
    """A dataset file of ``rows`` distinct examples, about ``2 × width`` bytes each;
    ``varied``: hex digests instead of repeated letters, so that it compresses little."""

    def text(seed: str) -> str:
        if not varied:
            return seed[0] * width
        digest = "".join(hashlib.sha256(f"{seed}{n}".encode()).hexdigest() for n in range(8))
        return (digest * (width // len(digest) + 1))[:width]

    with path.open("w", encoding="utf-8") as out:
        for i in range(rows):
            record = {
                "prompt": f"question {i} " + text(f"q{i}"),
                "completion": f"answer {i} " + text(f"a{i}"),
            }
            out.write(json.dumps(record) + "\n")
    return path


def wait_until(
    done: Callable[[], bool], *, seconds: float, what: str, alive: Callable[[], bool] | None = None
) -> None:
    """Poll ``done`` (every 10 ms) until it holds; fail after ``seconds`` or when ``alive``
    says the process being watched has ended first."""
    deadline = time.monotonic() + seconds
    while not done():
        assert alive is None or alive(), f"the process ended before {what}"
        assert time.monotonic() < deadline, f"not {what} within {seconds} s"
        time.sleep(0.01)

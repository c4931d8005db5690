"""The process: ``kill -9`` of a ``trainerbot train start`` whose job is queued or running.

The real CLI runs in subprocesses over one SQLite file. The job trains on the
``openai`` backend against a provider that accepts connections and never answers,
so it stays unfinished for as long as its process lives; then the process is
killed and the next command, in a new process, must say the job failed, interrupted
— in a CLI-only set-up nothing else would ever look at it again.
"""

from __future__ import annotations

import queue
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.services.training import INTERRUPTED_QUEUED, INTERRUPTED_RUNNING
from tests.app.cli_process import cli_env, run_cli

pytestmark = pytest.mark.faults

BOUND = 60.0  # seconds any one step may take on a loaded 2-core machine


@pytest.fixture
def silent_provider() -> Iterator[str]:
    """An endpoint that completes the TCP handshake (the backlog) and never replies."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)
        yield f"http://127.0.0.1:{server.getsockname()[1]}/v1"


def _env(data_dir: Path, provider: str) -> dict[str, str]:
    return cli_env(
        data_dir,
        TRAINERBOT_FINETUNE__ENABLED="true",
        TRAINERBOT_FINETUNE__BASE_URL=provider,
        TRAINERBOT_FINETUNE__API_KEY="sk-never-shown",
        TRAINERBOT_FINETUNE__TIMEOUT="600",
        TRAINERBOT_TRAINING__HEARTBEAT_SECONDS="0.5",
    )


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    out = run_cli(env, cwd, *args)
    assert "sk-never-shown" not in out
    return out


def _lines(stream: object) -> queue.Queue[str]:
    """The lines of a child's stdout as they come (a thread reads; the test waits)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in stream:  # type: ignore[attr-defined]
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    return found


def _job_line(listing: str, job_id: str) -> str:
    (line,) = [line for line in listing.splitlines() if line.startswith(job_id)]
    return line


def test_a_training_job_whose_process_is_killed_is_listed_as_failed_interrupted(
    tmp_path: Path, silent_provider: str
) -> None:
    data = tmp_path / "data"
    env = _env(data, silent_provider)
    _cli(env, tmp_path, "dataset", "create", "faq")
    _cli(env, tmp_path, "dataset", "add", "faq", "--prompt", "How?", "--answer", "Like so.")
    trainer = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "train", "start", "faq", "--backend", "openai"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        out = _lines(trainer.stdout)
        deadline = time.monotonic() + BOUND
        started = None
        while started is None:
            line = out.get(timeout=max(0.0, deadline - time.monotonic()))
            started = re.search(r"Started job (\w+)", line)
        job_id = started.group(1)  # stored, queued, owned by the trainer process

        alive = _job_line(_cli(env, tmp_path, "train", "list"), job_id)
        assert re.search(rf"(queued|running) .* in process {trainer.pid}, last heartbeat", alive)
        status = _cli(env, tmp_path, "train", "status", job_id)
        assert "If that process stops" in status and "failed" not in alive
    finally:
        trainer.send_signal(signal.SIGKILL)
        trainer.wait(timeout=BOUND)
    assert trainer.returncode == -signal.SIGKILL

    listed = _job_line(_cli(env, tmp_path, "train", "list"), job_id)
    assert " failed " in listed, listed
    assert any(reason in listed for reason in (INTERRUPTED_RUNNING, INTERRUPTED_QUEUED)), listed
    assert "in process" not in listed
    assert _job_line(_cli(env, tmp_path, "train", "status", job_id), job_id) == listed
    with sqlite3.connect(data / "trainerbot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute(
            "SELECT count(*) FROM jobs WHERE status IN ('queued', 'running')"
        ).fetchone() == (0,)

"""The real embedded llama.cpp server killed (SIGKILL) mid-answer, in ``trainerbot chat``.

The terminal chat runs as an operator starts it (a subprocess, no endpoint
configured, so it runs the embedded server on the pulled Qwen model). Once the
first answer is streaming, the test kills the server process; the user reads that
the answer was cut off, the supervisor restarts the server, and the next question
is answered by it. Skipped where the ``local-llm`` extra is missing.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from adapters.model_files import pull_model
from app.local_llm import DIED_MID_ANSWER
from tests.app.test_embedded_teach_loop import CHAT_MODEL, _env, _why_not_installed
from tests.faults.process import ROOT, wait_until

pytestmark = [
    pytest.mark.faults,
    pytest.mark.slow,
    pytest.mark.skipif(_why_not_installed() is not None, reason=_why_not_installed() or ""),
]

FIRST = "Write a long story about a lighthouse keeper and his cat."
SECOND = "What is the capital of France?"
CUT = (
    "(answer cut off: the model's stream broke off before the end; it is kept, but never "
    "used to teach the bot)"
)
WITHIN = 240.0  # seconds: the first start, an answer, a restart and another answer


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def test_the_real_server_killed_mid_answer_is_restarted_and_answers_the_next_question(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    pull_model(CHAT_MODEL, data / "models")
    env = {**_env(data), "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    chat = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    out: list[str] = []
    err: list[str] = []

    def read(stream: object, into: list[str]) -> None:
        for piece in iter(lambda: stream.read(1), ""):  # type: ignore[attr-defined]
            into.append(piece)

    readers = [
        threading.Thread(target=read, args=(chat.stdout, out), daemon=True),
        threading.Thread(target=read, args=(chat.stderr, err), daemon=True),
    ]
    for reader in readers:
        reader.start()
    assert chat.stdin is not None
    try:
        chat.stdin.write(FIRST + "\n")
        chat.stdin.flush()
        alive = lambda: chat.poll() is None  # noqa: E731
        # streaming: some words of the answer are on the screen
        wait_until(
            lambda: re.search(r"bot> \S+ \S+", "".join(out)) is not None,
            seconds=WITHIN,
            what="answering",
            alive=alive,
        )
        (server,) = children(chat.pid)
        os.kill(server, signal.SIGKILL)
        chat.stdin.write(SECOND + "\n")
        chat.stdin.close()
        started = time.monotonic()
        chat.wait(WITHIN)
        took = time.monotonic() - started
    finally:
        if chat.poll() is None:
            chat.kill()
            chat.wait(10)
    for reader in readers:
        reader.join(10)
    text, log = "".join(out), "".join(err)
    assert chat.returncode == 0, text + log
    assert "Traceback" not in text + log and "Something went wrong" not in text
    first, second = text.split("bot> ")[1:3]
    assert first.splitlines()[-1] in (DIED_MID_ANSWER, CUT), text  # how the connection broke
    assert re.search(r"paris", second, re.IGNORECASE), text
    assert '"event": "llama_server_restarting"' in log  # (WARNING level: not "restarted")
    print(f"first answer: {first!r}; the restart and the next answer took {took:.1f} s")

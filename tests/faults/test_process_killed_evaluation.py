"""The process: ``kill -9`` of a ``trainerbot eval run`` halfway through its test set.

The real CLI runs in subprocesses over one SQLite file, against the OpenAI stand-in
in a thread. One case of the test set is held by the stand-in (no answer comes), so
the run stops there with the cases before it answered; then the process is killed.
What it answered must be kept, the run listed as interrupted, and
``eval run --resume RUN`` must answer only the cases it had left.
"""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.app.cli_process import cli_env, run_cli
from tests.app.conftest import ThreadedStandin
from tests.standins.openai_server import Behaviour, OpenAIStandin

pytestmark = pytest.mark.faults

HOLD = "Is this the question that hangs?"
BOUND = 60.0  # seconds any one step may take on a loaded 2-core machine
CASES = [
    *({"input": f"What is {n} + {n}?", "expected": f"echo: What is {n} + {n}?"} for n in range(3)),
    {"input": HOLD, "expected": f"echo: {HOLD}"},
    {"input": "And the last one?", "expected": "echo: And the last one?"},
]


@pytest.fixture
def standin() -> Iterator[OpenAIStandin]:
    with ThreadedStandin() as server:
        yield server


def _asked(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    return str(messages[-1].get("content", "")) if messages else ""


def _stored_results(db: Path) -> int:
    """How many results the stored run holds (0 before it is stored)."""
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT results FROM eval_runs").fetchone()
    return 0 if row is None else len(json.loads(row[0]))


def test_an_eval_run_killed_halfway_keeps_its_results_and_resume_finishes_it(
    tmp_path: Path, standin: OpenAIStandin
) -> None:
    held = threading.Event()

    def hold(body: Any) -> Behaviour | None:
        if HOLD not in _asked(body):
            return None
        held.set()
        return Behaviour(first_byte_delay=BOUND * 10)  # no answer while the test runs

    standin.chat_rule = hold
    data = tmp_path / "data"
    env = cli_env(
        data,
        standin.base_url,
        TRAINERBOT_EVALUATION__CONCURRENCY="1",  # the cases in order
        TRAINERBOT_LLM__TIMEOUT=str(BOUND * 10),
        TRAINERBOT_LLM__DEADLINE=str(BOUND * 10),
        TRAINERBOT_TRAINING__HEARTBEAT_SECONDS="0.5",
    )
    cases = tmp_path / "cases.jsonl"
    cases.write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")

    evaluator = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "eval", "run", str(cases), "--name", "nightly"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert held.wait(BOUND), "the run never reached the held case"
        deadline = time.monotonic() + BOUND
        while _stored_results(data / "trainerbot.db") < 3:  # kept within a heartbeat
            assert time.monotonic() < deadline, "the answered cases were never stored"
            time.sleep(0.05)
        going = run_cli(env, tmp_path, "eval", "list")
        assert re.search(rf"running in process {evaluator.pid}, 3 of 5 cases so far", going)
    finally:
        evaluator.send_signal(signal.SIGKILL)
        evaluator.wait(timeout=BOUND)
    assert evaluator.returncode == -signal.SIGKILL

    listed = run_cli(env, tmp_path, "eval", "list")
    found = re.search(
        r"Run (\w+) on standin-model: 3/3 passed .* — interrupted after 3 of 5 cases: "
        r"`eval run --resume (\w+)` finishes it",
        listed,
    )
    assert found, listed
    run_id, short = found.groups()
    assert run_id.startswith(short)

    standin.chat_rule = None  # the model answers again
    before = len(standin.chat_requests)
    resumed = run_cli(env, tmp_path, "eval", "run", "--resume", short)
    assert f"Run {run_id} on standin-model: 5/5 passed" in resumed and "interrupted" not in resumed
    asked = [_asked(r.json) for r in standin.chat_requests[before:]]
    assert asked == [HOLD, "And the last one?"]  # only what was left

    final = run_cli(env, tmp_path, "eval", "list")
    assert f"Run {run_id} on standin-model: 5/5 passed" in final and "—" not in final
    with sqlite3.connect(data / "trainerbot.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT status, pending FROM eval_runs").fetchall() == [
            ("complete", "[]")
        ]

"""The real ``trainerbot`` command line in a subprocess, over a data directory of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_MODEL = "http://127.0.0.1:9/v1"  # nothing listens there


def cli_env(data_dir: Path, llm_base_url: str = NO_MODEL, **extra: str) -> dict[str, str]:
    """This environment without any ``TRAINERBOT_`` setting of its own, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAINERBOT_")}
    env.update(
        TRAINERBOT_DATA_DIR=str(data_dir),
        TRAINERBOT_LLM__BASE_URL=llm_base_url,
        TRAINERBOT_LLM__MODEL="standin-model",
        TRAINERBOT_LOG__FORMAT="json",
        COLUMNS="200",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def cli_run(
    env: dict[str, str], cwd: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """``trainerbot ARGS`` to its end (at most two minutes)."""
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


def run_cli(env: dict[str, str], cwd: Path, *args: str, stdin: str = "", expect: int = 0) -> str:
    """``trainerbot ARGS``: its stdout, once it exited with ``expect`` and no traceback."""
    done = cli_run(env, cwd, *args, stdin=stdin)
    assert done.returncode == expect, done.stdout + done.stderr
    assert "Traceback" not in done.stdout
    return done.stdout

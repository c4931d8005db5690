from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from app.cli import app


def _all_commands(group: TyperGroup, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [prefix]
    for name, command in group.commands.items():
        if isinstance(command, TyperGroup):
            found += _all_commands(command, (*prefix, name))
        else:
            found.append((*prefix, name))
    return found


COMMANDS = _all_commands(typer.main.get_command(app))  # type: ignore[arg-type]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "trainerbot")
def test_every_command_has_help(command: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_the_cli_has_the_promised_commands() -> None:
    names = {" ".join(c) for c in COMMANDS}
    assert {
        "run", "chat", "dataset import", "dataset export", "dataset archive", "train start",
        "train cancel", "eval run", "eval compare", "models use", "models rollback",
    } <= names  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_without_a_reachable_model_the_chat_starts_and_says_what_to_configure(
    tmp_path: Path,
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/v1"
    env = {
        **os.environ,
        "TRAINERBOT_DATA_DIR": str(tmp_path / "data"),
        "TRAINERBOT_LLM__BASE_URL": url,
        "TRAINERBOT_LLM__MAX_RETRIES": "0",
        "TRAINERBOT_LOG__LEVEL": "ERROR",
    }
    env.pop("TRAINERBOT_DISCORD__TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "chat"],
        input="hello\n/dataset list\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(url in line and "TRAINERBOT_LLM__BASE_URL" in line for line in lines)
    assert "Traceback" not in done.stdout + done.stderr
    # a question gets a clear message, management still works
    assert any("language model" in line.lower() for line in lines[1:])
    assert "No datasets yet" in done.stdout


def test_version_prints_the_package_version() -> None:
    from importlib.metadata import version

    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"trainerbot {version('trainerbot')}"


def test_dataset_export_help_explains_both_formats() -> None:
    result = CliRunner().invoke(app, ["dataset", "export", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--format" in text and "sft" in text and "dpo" in text
    assert "supervised" in text and "preference" in text


def test_base_is_offered_wherever_a_version_is_named() -> None:
    for command in (["eval", "run"], ["models", "use"], ["models", "list"]):
        result = CliRunner().invoke(app, [*command, "--help"], env={"COLUMNS": "200"})
        assert "base" in result.output, command

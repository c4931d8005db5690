from __future__ import annotations

import io
import json
import logging
import os
import pty
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import structlog

import app.logging
from app.logging import bind, configure_logging, configure_terminal_logging, log_file_in


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_stdlib_and_structlog_lines_share_one_json_shape() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    structlog.contextvars.clear_contextvars()
    bind(job_id="job-1")
    structlog.get_logger("trainerbot.test").info("training_started", examples=3)
    logging.getLogger("some.library").warning("library says %s", "hi")
    structlog.contextvars.clear_contextvars()
    ours, theirs = _lines(stream)
    assert ours["event"] == "training_started"
    assert ours["examples"] == 3
    assert ours["job_id"] == "job-1"
    assert theirs["event"] == "library says hi"
    assert theirs["job_id"] == "job-1"
    assert {"timestamp", "level", "logger"} <= set(ours) & set(theirs)


def test_secret_looking_keys_are_masked() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    structlog.get_logger().info("connecting", api_key="sk-123", discord_token="abc", user="ann")
    (line,) = _lines(stream)
    assert line["api_key"] == "***"
    assert line["discord_token"] == "***"
    assert line["user"] == "ann"
    assert "sk-123" not in stream.getvalue()


@pytest.mark.parametrize(
    "key",
    [
        "token",
        "bot_token",
        "discord_token",
        "access-token",
        "botToken",
        "api_key",
        "x_api_key",
        "OPENAI_API_KEY",
        "apikey",
        "authorization",
        "Authorization",
        "auth",
        "password",
        "db_password",
        "secret",
        "client_secret",
        "cookie",
        "private_key",
        "credentials",
    ],
)
def test_secrets_are_masked_under_every_usual_name(key: str) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    structlog.get_logger().info("connecting", **{key: "hunter2"})
    (line,) = _lines(stream)
    assert line[key] == "***"


@pytest.mark.parametrize(
    "key",
    [
        "prompt_tokens",
        "completion_tokens",
        "total_tokens",
        "max_tokens",
        "promptTokens",
        "tokens_per_second",
        "error_key",
        "author_id",
    ],
)
def test_token_counts_and_other_harmless_keys_are_shown(key: str) -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    structlog.get_logger().info("llm_request_finished", **{key: 42})
    (line,) = _lines(stream)
    assert line[key] == 42


def test_with_a_file_the_log_goes_there_and_the_terminal_gets_nothing(tmp_path: Path) -> None:
    terminal = io.StringIO()
    path = tmp_path / "logs" / "trainerbot.log"
    assert configure_logging(level="INFO", stream=terminal, file=path) == path
    structlog.get_logger().info("llm_request_finished", completion_tokens=7)
    logging.getLogger("httpx").warning("HTTP Request: POST http://x/v1 503")
    try:
        raise ValueError("boom")
    except ValueError:
        structlog.get_logger().exception("unexpected_error", ref="abc")
    logging.getLogger().handlers[0].flush()
    assert terminal.getvalue() == ""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [r["event"] for r in records] == [
        "llm_request_finished",
        "HTTP Request: POST http://x/v1 503",
        "unexpected_error",
    ]
    assert records[0]["completion_tokens"] == 7
    assert "ValueError: boom" in records[2]["exception"]


def test_with_a_file_and_a_stream_level_the_terminal_shows_only_warnings(tmp_path: Path) -> None:
    terminal = io.StringIO()
    path = tmp_path / "trainerbot.log"
    configure_logging(level="INFO", fmt="json", stream=terminal, file=path, stream_level="WARNING")
    structlog.get_logger().info("evaluation_started", cases=3)
    structlog.get_logger().warning("llm_unreachable", hint="start it")
    shown = [json.loads(line)["event"] for line in terminal.getvalue().splitlines()]
    assert shown == ["llm_unreachable"]
    logged = [json.loads(line)["event"] for line in path.read_text().splitlines()]
    assert logged == ["evaluation_started", "llm_unreachable"]


def test_a_log_file_that_cannot_be_opened_leaves_only_warnings_on_the_terminal(
    tmp_path: Path,
) -> None:
    (tmp_path / "logs").write_text("a file where the folder should be")
    terminal = io.StringIO()
    assert (
        configure_logging(level="INFO", stream=terminal, file=tmp_path / "logs" / "x.log") is None
    )
    structlog.get_logger().info("question_answered")
    structlog.get_logger().warning("llm_unreachable")
    shown = [json.loads(line)["event"] for line in terminal.getvalue().splitlines()]
    assert shown == ["log_file_unavailable", "llm_unreachable"]


def test_the_cli_logs_to_a_file_only_for_a_person_at_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.logging, "at_terminal", lambda: False)
    assert (
        configure_terminal_logging(level="INFO", fmt="auto", data_dir=tmp_path, chat=True) is None
    )
    assert not (tmp_path / "logs").exists()
    monkeypatch.setattr(app.logging, "at_terminal", lambda: True)
    path = configure_terminal_logging(level="INFO", fmt="auto", data_dir=tmp_path, chat=True)
    assert path == log_file_in(tmp_path) == (tmp_path / "logs" / "trainerbot.log").absolute()
    structlog.get_logger().info("question_answered")
    assert "question_answered" in path.read_text()
    configure_logging(level="INFO", fmt="json", stream=io.StringIO())  # close the file


def _read_until(fd: int, needle: bytes, timeout: float) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            seen += chunk
    return seen


def test_the_terminal_chat_in_a_pty_shows_no_log_lines_and_says_where_the_log_is(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    env = {
        **os.environ,
        "TRAINERBOT_DATA_DIR": str(tmp_path / "data"),
        "TRAINERBOT_LLM__BASE_URL": f"http://127.0.0.1:{closed}/v1",
        "TRAINERBOT_LLM__MAX_RETRIES": "0",
        "TRAINERBOT_LOG__LEVEL": "DEBUG",
        "COLUMNS": "200",
    }
    env.pop("TRAINERBOT_DISCORD__TOKEN", None)
    main, child = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "chat"],
        stdin=child,
        stdout=child,
        stderr=child,
        cwd=tmp_path,
        env=env,
        close_fds=True,
    )
    os.close(child)
    try:
        out = _read_until(main, b"you> ", 60)
        os.write(main, b"hello\n")
        out += _read_until(main, b"you> ", 60)
        os.write(main, b"/quit\n")
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
        os.close(main)
    text = out.decode(errors="replace")
    log_file = tmp_path / "data" / "logs" / "trainerbot.log"
    assert f"Log: {log_file}" in text.replace("\r\n", "\n").replace("\n", "")
    assert "language model" in text.lower()  # the question still gets a clear message
    for leak in ("llm_unreachable", "model_version_registered", "[debug", "[info", '"event"'):
        assert leak not in text
    logged = [json.loads(line)["event"] for line in log_file.read_text().splitlines()]
    assert "llm_unreachable" in logged


def test_a_library_that_turns_its_own_debug_on_at_import_stays_quiet() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", fmt="json", stream=stream)
    logging.getLogger("bm25s").setLevel(logging.DEBUG)  # what importing bm25s does
    logging.getLogger("bm25s").debug("Building index from IDs")
    logging.getLogger("httpx").info("HTTP Request: POST http://127.0.0.1/v1/chat/completions")
    logging.getLogger("bm25s").warning("index is empty")
    logging.getLogger("bm25sx").info("another library")
    assert [line["event"] for line in _lines(stream)] == ["index is empty", "another library"]

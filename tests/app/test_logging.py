from __future__ import annotations

import io
import json
import logging

import structlog

from app.logging import bind, configure_logging


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

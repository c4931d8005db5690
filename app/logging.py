"""Logging set-up: structlog and the stdlib rendered by the same processors.

discord.py, openai, httpx and faster-whisper log through the stdlib; their
records go through ``ProcessorFormatter`` so that every line has the same shape
(console on a terminal, JSON lines otherwise) and carries the context bound with
``structlog.contextvars`` (interaction id, job id, …). Secret-looking keys are
masked before rendering.
"""

from __future__ import annotations

import functools
import logging
import sys
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

_SECRET_KEYS = ("token", "api_key", "apikey", "authorization", "password", "secret")


@functools.lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(s in lowered for s in _SECRET_KEYS)


def mask_secrets(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        if value is not None and isinstance(key, str) and _is_secret(key):
            event_dict[key] = "***"
    return event_dict


def _drop_color_message(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(
    *, level: str = "INFO", fmt: str = "auto", stream: TextIO | None = None
) -> None:
    """Configure structlog and the stdlib root logger once, for the whole process."""
    stream = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not stream.isatty())

    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        mask_secrets,
    ]
    renderer: Processor
    if use_json:
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=stream.isatty())

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # drop disabled levels before any work
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # Chatty libraries: their debug output is noise, and httpx logs request URLs.
    for name in ("httpx", "httpcore", "openai", "discord.gateway", "aiosqlite", "alembic", "bm25s"):
        logging.getLogger(name).setLevel(max(logging.getLevelName(level), logging.WARNING))


def bind(**values: object) -> None:
    """Bind values to every log line of the current task (contextvars)."""
    structlog.contextvars.bind_contextvars(**values)

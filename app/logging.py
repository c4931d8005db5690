"""Logging set-up: structlog and the stdlib rendered by the same processors.

discord.py, openai, httpx and faster-whisper log through the stdlib; their
records go through ``ProcessorFormatter`` so that every line has the same shape
(console on a terminal, JSON lines otherwise) and carries the context bound with
``structlog.contextvars`` (interaction id, job id, …). Secrets are masked before
rendering: keys such as ``token``, ``api_key``, ``authorization``, ``password``,
``secret`` (and ``bot_token``, ``x_api_key`` …), but not counts such as
``prompt_tokens`` or ``max_tokens``.

For a person at a terminal (:func:`at_terminal`) the log goes to a file under the
data directory (:func:`log_file_in`), so that log lines never break into the chat
or a progress bar: the terminal chat shows no log records at all and says at start
where the file is; one-shot subcommands show warnings and errors as well.
"""

from __future__ import annotations

import functools
import logging
import logging.handlers
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

# Words that make a key secret wherever they stand in it ("db_password", "x_api_key").
_SECRET_WORDS = (
    "api_key",
    "apikey",
    "authorization",
    "password",
    "passwd",
    "secret",
    "private_key",
    "credential",
)
# Words that make a key secret as a whole word of it ("token", "bot_token",
# "access-token"), so counts such as "prompt_tokens" or "max_tokens" stay visible.
_SECRET_PARTS = frozenset({"token", "auth", "cookie"})
_KEY_PARTS = re.compile(r"[^a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")  # "botToken" → "bot_Token"

LOG_FILE_NAME = "trainerbot.log"
_LOG_FILE_BYTES = 5 * 1024 * 1024
_LOG_FILE_BACKUPS = 3


@functools.lru_cache(maxsize=4096)
def _is_secret(key: str) -> bool:
    lowered = _CAMEL.sub("_", key).lower()
    if any(word in lowered for word in _SECRET_WORDS):
        return True
    return any(part in _SECRET_PARTS for part in _KEY_PARTS.split(lowered))


def mask_secrets(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        if value is not None and isinstance(key, str) and _is_secret(key):
            event_dict[key] = "***"
    return event_dict


def _drop_color_message(_logger: Any, _name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def configure_logging(
    *,
    level: str = "INFO",
    fmt: str = "auto",
    stream: TextIO | None = None,
    file: Path | None = None,
    stream_level: str | None = None,
) -> Path | None:
    """Configure structlog and the stdlib root logger once, for the whole process.

    Without ``file`` every record at ``level`` goes to ``stream`` (stderr). With
    ``file`` they go to that file instead (appended, rotated at 5 MiB, 3 kept), and
    ``stream`` gets only the records at ``stream_level`` and above (none when it
    is None). Returns the file written to, or None: also when the file cannot be
    opened, in which case ``stream`` shows warnings and errors only.
    """
    stream = stream or sys.stderr
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        mask_secrets,
    ]
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
    handlers: list[logging.Handler] = []
    log_file = _open_log_file(file) if file is not None else None
    terminal_level: str | None = None  # None: the stream takes every record
    if log_file is not None:
        log_file.setFormatter(_formatter(shared, fmt, tty=False))
        handlers.append(log_file)
    elif file is not None:
        terminal_level = "WARNING"  # the file was wanted: keep the terminal quiet anyway
    if log_file is None or stream_level is not None:
        terminal = logging.StreamHandler(stream)
        terminal.setFormatter(_formatter(shared, fmt, tty=stream.isatty()))
        if log_file is not None:
            terminal_level = stream_level
        if terminal_level is not None:
            terminal.setLevel(terminal_level)
        handlers.append(terminal)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        old.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    # Chatty libraries: their debug output is noise, and httpx logs request URLs. Some
    # set their own level when imported (bm25s: DEBUG), so the handlers filter too.
    quiet = _QuietLibraries(max(logging.getLevelName(level), logging.WARNING))
    for name in _CHATTY:
        logging.getLogger(name).setLevel(quiet.level)
    for handler in handlers:
        handler.addFilter(quiet)
    if file is not None and log_file is None:
        structlog.get_logger().warning("log_file_unavailable", path=str(file))
    return file if log_file is not None else None


_CHATTY = ("httpx", "httpcore", "openai", "discord.gateway", "alembic", "bm25s")


class _QuietLibraries(logging.Filter):
    """Drops the chatty libraries' records below ``level``, whatever their loggers say."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= self.level:
            return True
        name = record.name
        return not any(name == lib or name.startswith(lib + ".") for lib in _CHATTY)


def _formatter(shared: list[Processor], fmt: str, *, tty: bool) -> logging.Formatter:
    """JSON lines, or console lines (coloured on a terminal) for ``fmt="console"``."""
    rendering: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if fmt == "json" or (fmt == "auto" and not tty):
        rendering += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer()]
    else:
        rendering.append(structlog.dev.ConsoleRenderer(colors=tty))
    return structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=rendering)


def _open_log_file(path: Path) -> logging.Handler | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return logging.handlers.RotatingFileHandler(
            path,
            maxBytes=_LOG_FILE_BYTES,
            backupCount=_LOG_FILE_BACKUPS,
            encoding="utf-8",
        )
    except OSError:
        return None


def configure_terminal_logging(*, level: str, fmt: str, data_dir: Path, chat: bool) -> Path | None:
    """Logging for the CLI: into :func:`log_file_in` when a person is at a terminal.

    There the terminal chat (``chat``) shows no log records and one-shot
    subcommands show warnings and errors; returns the log file. Otherwise (stdin
    scripted, output redirected) everything goes to stderr as before, and None.
    """
    if not at_terminal():
        return configure_logging(level=level, fmt=fmt)
    return configure_logging(
        level=level,
        fmt=fmt,
        file=log_file_in(data_dir),
        stream_level=None if chat else "WARNING",
    )


def log_file_in(data_dir: Path) -> Path:
    """Where the log goes when a person runs the bot at a terminal."""
    return (data_dir / "logs" / LOG_FILE_NAME).absolute()


def at_terminal() -> bool:
    """Whether a person is at a terminal: stdin, stdout and stderr are all one."""
    return all(s is not None and s.isatty() for s in (sys.stdin, sys.stdout, sys.stderr))


def bind(**values: object) -> None:
    """Bind values to every log line of the current task (contextvars)."""
    structlog.contextvars.bind_contextvars(**values)

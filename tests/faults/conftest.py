"""The model-endpoint faults: each mode of a misbehaving OpenAI-compatible server.

Every test of the fault suite drives a real ``OpenAIChatModel`` (the one the app
builds from its settings) against the stand-in in ``tests/standins/openai_server.py``
scripted to misbehave, with short timeouts so that the whole suite stays quick.
The fault applies only to questions that contain ``TRIGGER``: the next question in
the same session must be answered as usual.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from domain.models import Ending
from tests.discord.conftest import emulator, start_bot  # the Discord harness, reused
from tests.standins.openai_server import Behaviour, ErrorReply, OpenAIStandin

__all__ = ["emulator", "start_bot"]

SECRET = "sk-fault-suite-9d2f61c0b7a4e358"  # the API key: it must never show
TRIGGER = "FAULTY"
TIMEOUT = 0.4  # seconds for each read (llm.timeout) and to connect
RETRIES = 1  # llm.max_retries
DEADLINE = 2.0  # seconds for one answer in all (llm.deadline)
CAP = 300  # characters of an answer (chat.max_answer_chars)
SLACK = 6.0  # seconds a loaded 2-core machine may add to a bound


@dataclass(frozen=True, slots=True)
class Fault:
    """One way the endpoint misbehaves, and what the user must be told."""

    id: str
    behaviour: Behaviour | None  # None: nothing listens at the endpoint
    says: str  # in the one line the user sees, on every surface
    stored: Ending | None = None  # None: the turn is not stored at all


NOT_READABLE = "sent an answer we could not read"
TOO_SLOW = "took too long to answer"

FAULTS = [
    Fault("500", Behaviour(error=ErrorReply(500, retry_after=0.01)), "server error 500"),
    Fault(
        "429-retry-after",
        Behaviour(error=ErrorReply(429, retry_after=0.05)),
        "busy (too many requests)",
    ),
    Fault(
        "401-key-in-body",
        Behaviour(error=ErrorReply(401, f"Incorrect API key provided: {SECRET}.")),
        "refused our API key",
    ),
    Fault("refused", None, "cannot be reached"),
    Fault("hang-before-headers", Behaviour(first_byte_delay=30.0), TOO_SLOW),
    Fault("stall-mid-stream", Behaviour(stall_after_chunks=2), TOO_SLOW),
    Fault("cut-mid-stream", Behaviour(cut_after_chunks=2), "broke off before the end", Ending.CUT),
    Fault(
        "not-utf8",
        Behaviour(body=b"data: \xff\xfe\xfa\x81 not text\n\n", content_type="text/event-stream"),
        NOT_READABLE,
    ),
    Fault(
        "not-json",
        Behaviour(body=b"data: {this is not json\n\n", content_type="text/event-stream"),
        NOT_READABLE,
    ),
    Fault(
        "not-sse",
        Behaviour(body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        NOT_READABLE,
    ),
    Fault(
        "wrong-shape-json",
        Behaviour(body=b'data: {"choices": "none"}\n\n', content_type="text/event-stream"),
        NOT_READABLE,
    ),
    Fault("endless-stream", Behaviour(endless=True), "reached the length limit", Ending.TOO_LONG),
    Fault("trickle", Behaviour(trickle=0.05), TOO_SLOW),  # each byte in time, never the whole
]

FAULT_PARAMS = [pytest.param(fault, id=fault.id) for fault in FAULTS]


def last_question(body: Any) -> str:
    messages = body.get("messages") if isinstance(body, dict) else None
    users = [m for m in messages or [] if isinstance(m, dict) and m.get("role") == "user"]
    return str(users[-1].get("content") or "") if users else ""


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandin]:
    async with OpenAIStandin(api_key=SECRET) as server:
        yield server


def closed_port_url() -> str:
    """A base URL on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def endpoint_for(fault: Fault, standin: OpenAIStandin) -> str:
    """The base URL to configure: the stand-in, misbehaving for ``TRIGGER`` questions."""
    if fault.behaviour is None:
        return closed_port_url()
    behaviour = fault.behaviour
    standin.chat_rule = lambda body: behaviour if TRIGGER in last_question(body) else None
    return standin.base_url


def leaks(secret: str, *texts: object) -> list[int]:
    """Which of ``texts`` show ``secret`` (the indexes), for a readable failure."""
    return [index for index, text in enumerate(texts) if secret in str(text)]

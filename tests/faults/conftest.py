"""The model-endpoint faults: each mode of a misbehaving OpenAI-compatible server.

Every test of the fault suite drives a real ``OpenAIChatModel`` (the one the app
builds from its settings) against the stand-in in ``tests/standins/openai_server.py``
scripted to misbehave, with short timeouts so that the whole suite stays quick.
The fault applies only to questions that contain ``TRIGGER``: the next question in
the same session must be answered as usual.
"""

from __future__ import annotations

import io
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from adapters.llm_openai import OpenAIChatModel
from app.bootstrap import Overrides
from app.repl import repl
from app.settings import ChatSettings, LlmSettings, LocalLlmSettings, Settings
from domain.models import Ending
from tests.discord.conftest import BotFactory, Harness, emulator, start_bot  # reused
from tests.discord_emulator import InteractionHandle
from tests.fakes import FakeExampleMemory
from tests.standins.openai_server import Behaviour, ErrorReply, OpenAIStandin

__all__ = ["emulator", "start_bot"]

SECRET = "sk-fault-suite-9d2f61c0b7a4e358"  # the API key: it must never show
TRIGGER = "FAULTY"
TIMEOUT = 0.4  # seconds for each read (llm.timeout) and to connect
RETRIES = 1  # llm.max_retries
DEADLINE = 2.0  # seconds for one answer in all (llm.deadline)
CAP = 300  # characters of an answer (chat.max_answer_chars)
SLACK = 6.0  # seconds a loaded 2-core machine may add to a bound
NEXT = "and a plain question afterwards"  # asked after the fault: answered as usual


@dataclass(frozen=True, slots=True)
class Fault:
    """One way the endpoint misbehaves, and what the user must be told."""

    id: str
    behaviour: Behaviour | None  # None: nothing listens at the endpoint
    says: str  # in the one line the user sees, on every surface
    stored: Ending | None = None  # None: the turn is not stored at all


NOT_READABLE = "sent an answer we could not read"


def events(data: bytes) -> Behaviour:
    """A body of server-sent events carrying ``data`` as it is."""
    return Behaviour(body=data, content_type="text/event-stream")


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
        events(b"data: \xff\xfe\xfa\x81 not text\n\n"),
        NOT_READABLE,
    ),
    Fault(
        "not-json",
        events(b"data: {this is not json\n\n"),
        NOT_READABLE,
    ),
    Fault(
        "not-sse",
        Behaviour(body=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        NOT_READABLE,
    ),
    Fault(
        "wrong-shape-json",
        events(b'data: {"choices": "none"}\n\n'),
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


Start = Callable[[Fault], Any]


@pytest.fixture
async def faulty_bot(start_bot: BotFactory, standin: OpenAIStandin) -> AsyncIterator[Start]:
    """``await faulty_bot(fault)``: a bot whose model endpoint misbehaves that way."""
    models: list[OpenAIChatModel] = []

    async def start(fault: Fault) -> Harness:
        model = OpenAIChatModel(
            base_url=endpoint_for(fault, standin),
            api_key=SECRET,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_retries=RETRIES,
        )
        models.append(model)
        limits = {"chat": {"max_answer_chars": CAP}, "llm": {"deadline": DEADLINE}}
        return await start_bot(real_llm=model, app_settings=limits)

    yield start
    for model in models:
        await model.aclose()


def shown(handle: InteractionHandle) -> str:
    """Everything the asker sees: the response and every follow-up, in order."""
    original = handle.record.original
    parts = [original.content] if original is not None else []
    return "\n".join([*parts, *(m.content for m in handle.followups)])


def fault_settings(tmp_path: Path, base_url: str) -> Settings:
    return Settings(
        data_dir=tmp_path,
        llm=LlmSettings(
            base_url=base_url,
            api_key=SECRET,
            timeout=TIMEOUT,
            connect_timeout=TIMEOUT,
            max_retries=RETRIES,
            deadline=DEADLINE,
        ),
        local_llm=LocalLlmSettings(enabled="false"),
        chat=ChatSettings(max_answer_chars=CAP),
    )


def stored_rows(tmp_path: Path) -> tuple[list[tuple[str, str, str]], str]:
    """The predictions (prompt, answer, ending) and a dump of the whole database."""
    with sqlite3.connect(tmp_path / "trainerbot.db") as db:
        rows = db.execute("SELECT prompt, answer, ending FROM predictions ORDER BY seq").fetchall()
        dump = "\n".join(db.iterdump())
    return rows, dump


async def chat(tmp_path: Path, base_url: str, script: str) -> tuple[int, str, float]:
    out = io.StringIO()
    started = time.monotonic()
    code = await repl(
        fault_settings(tmp_path, base_url),
        overrides=Overrides(memory=FakeExampleMemory(), no_charts=True),
        stdin=io.StringIO(script),
        console=Console(file=out, width=400),
    )
    return code, out.getvalue(), time.monotonic() - started


def leaks(secret: str, *texts: object) -> list[int]:
    """Which of ``texts`` show ``secret`` (the indexes), for a readable failure."""
    return [index for index, text in enumerate(texts) if secret in str(text)]

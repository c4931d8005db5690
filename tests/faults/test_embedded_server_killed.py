"""The embedded llama.cpp server killed (SIGKILL) in the middle of an answer.

The supervisor (``adapters/llama_server``) runs a stand-in for ``python -m
llama_cpp.server`` (``tests/adapters/llama_server/fake_llama_server.py``) that
streams its answers word by word and kills itself, once, three words into one;
the terminal chat talks to it through the real ``OpenAIChatModel``. The user is
told in one line that the answer broke off, the supervisor restarts the server on
the same port, and the next question, asked at once, is answered.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from rich.console import Console

from adapters.llama_server import LlamaServer, LlamaServerConfig
from adapters.llm_openai import OpenAIChatModel
from app.bootstrap import Overrides
from app.local_llm import SupervisedChatModel
from app.repl import repl
from tests.fakes import FakeExampleMemory
from tests.faults.conftest import (
    DEADLINE,
    RETRIES,
    SECRET,
    SLACK,
    TIMEOUT,
    fault_settings,
    stored_rows,
)

pytestmark = pytest.mark.faults

FAKE = Path(__file__).resolve().parents[1] / "adapters" / "llama_server" / "fake_llama_server.py"
FIRST = "tell me a long story about the lighthouse keeper"
SECOND = "and now a short one"
BACKOFF = 0.5  # seconds before the restart (local_llm.restart_backoff; 1 s by default)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[LlamaServer]:
    mark = tmp_path / "killed"
    server = LlamaServer(
        config=LlamaServerConfig(
            model_path=tmp_path / "model.gguf",
            model_alias="local-model",
            n_threads=1,
            start_timeout=30.0,
            restart_backoff=BACKOFF,
            program=(sys.executable, str(FAKE), "--die-mid-answer", str(mark)),
        )
    )
    await server.start()
    yield server
    await server.aclose()


async def test_a_server_killed_mid_answer_is_one_line_and_the_next_question_is_answered(
    tmp_path: Path, server: LlamaServer
) -> None:
    first_pid = server.pid
    code, out, took = await chat_with(server, tmp_path, f"{FIRST}\n{SECOND}\n")

    assert code == 0
    assert (tmp_path / "killed").exists()  # it was killed, mid-answer
    assert server.restarts == 1 and server.pid != first_pid
    assert "Traceback" not in out and "Something went wrong" not in out
    first, second = out.split("bot> ")[1:]
    assert first.splitlines()[:2] == [
        "echo: tell me",
        "(answer cut off: the model's stream broke off before the end; it is kept, "
        "but never used to teach the bot)",
    ]
    assert second.startswith(f"echo: {SECOND}\n(")
    rows, _ = stored_rows(tmp_path)
    assert [(prompt, ending) for prompt, _, ending in rows] == [
        (FIRST, "cut"),
        (SECOND, "complete"),
    ]
    assert took < 2 * DEADLINE + SLACK


async def chat_with(server: LlamaServer, tmp_path: Path, script: str) -> tuple[int, str, float]:
    """The terminal chat on the embedded server's model, as ``bootstrap`` wires it."""
    model = OpenAIChatModel(
        base_url=server.base_url,
        api_key=SECRET,
        timeout=TIMEOUT,
        connect_timeout=TIMEOUT,
        max_retries=RETRIES,
    )
    out = io.StringIO()
    started = time.monotonic()
    try:
        code = await repl(
            fault_settings(tmp_path, server.base_url),
            overrides=Overrides(
                llm=SupervisedChatModel(model, server), memory=FakeExampleMemory(), no_charts=True
            ),
            stdin=io.StringIO(script),
            console=Console(file=out, width=400),
        )
    finally:
        await model.aclose()
    return code, out.getvalue(), time.monotonic() - started

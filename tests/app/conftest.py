from __future__ import annotations

import asyncio
import itertools
import os
import re
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from domain.models import ChatMessage, Role
from domain.prompting import ANSWERS_FLAG
from tests.app.cli_process import cli_run
from tests.fakes.llm import taught_entries
from tests.standins.openai_server import OpenAIStandin


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def follow_examples(messages: Sequence[ChatMessage]) -> str:
    """A stand-in LLM that follows what its prompt teaches, like a good model.

    It answers with the taught entry marked as answering the question, else with an
    entry whose question is the question itself; else, when an earlier user message
    of the conversation is the question, with the reply that followed it; otherwise
    it echoes the question.
    """
    question = messages[-1].content
    entries = taught_entries(messages)
    for entry in entries:
        if entry.get(ANSWERS_FLAG):
            return str(entry["answer"])
    for entry in entries:
        if _norm(str(entry["question"])) == _norm(question):
            return str(entry["answer"])
    for earlier, reply in itertools.pairwise(messages[:-1]):
        if (
            earlier.role is Role.USER
            and reply.role is Role.ASSISTANT
            and _norm(earlier.content) == _norm(question)
        ):
            return reply.content
    return f"echo: {question}"


class ThreadedStandin:
    """The OpenAI stand-in served from its own thread, for tests that run the CLI."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.server = OpenAIStandin(reply=follow_examples)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> OpenAIStandin:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self.server.start(), self.loop).result(10)
        return self.server

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.server.stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@pytest.fixture
def threaded_standin() -> Iterator[OpenAIStandin]:
    with ThreadedStandin() as server:
        yield server


@pytest.fixture
def cli(tmp_path: Path, threaded_standin: OpenAIStandin):
    env = {
        **os.environ,
        "TRAINERBOT_DATA_DIR": str(tmp_path / "data"),
        "TRAINERBOT_LLM__BASE_URL": threaded_standin.base_url,
        "TRAINERBOT_LLM__MODEL": "standin-model",
        "TRAINERBOT_LLM__API_KEY": "sk-test-secret-key",
        "TRAINERBOT_LOG__FORMAT": "json",
        "COLUMNS": "200",
    }
    env.pop("TRAINERBOT_DISCORD__TOKEN", None)

    def run(*args: str, stdin: str = "", expect: int = 0) -> str:
        done = cli_run(env, tmp_path, *args, stdin=stdin)
        assert "sk-test-secret-key" not in done.stdout + done.stderr
        assert done.returncode == expect, done.stdout + done.stderr
        return done.stdout

    return run

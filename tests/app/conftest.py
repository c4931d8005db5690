from __future__ import annotations

import asyncio
import itertools
import re
import threading
from collections.abc import Iterator, Sequence

import pytest

from domain.models import ChatMessage, Role
from tests.standins.openai_server import OpenAIStandin


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def follow_examples(messages: Sequence[ChatMessage]) -> str:
    """A stand-in LLM that follows the examples in its prompt, like a good model.

    When an earlier user message is the question itself, it answers with the
    assistant message that followed it (the first such pair — demonstrations come
    before history); otherwise it echoes the question.
    """
    question = messages[-1].content
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

"""A working in-memory chat model: deterministic replies, streaming, usage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence

from domain.errors import ModelUnavailable
from domain.models import (
    ChatMessage,
    Completion,
    CompletionChunk,
    Ending,
    GenerationOptions,
    Role,
    Usage,
)

Reply = Callable[[Sequence[ChatMessage]], str]


def echo_reply(messages: Sequence[ChatMessage]) -> str:
    """The default reply: ``echo: <last user message>``."""
    for message in reversed(messages):
        if message.role is Role.USER:
            return f"echo: {message.content}"
    return "echo:"


def taught_entries(messages: Sequence[ChatMessage]) -> list[dict[str, object]]:
    """The taught entries of a prompt: the JSON lines of its system message."""
    entries: list[dict[str, object]] = []
    if messages and messages[0].role is Role.SYSTEM:
        for line in messages[0].content.splitlines():
            if line.startswith("{"):
                entries.append(json.loads(line))
    return entries


def split_pieces(text: str) -> list[str]:
    """Word-sized pieces whose concatenation is exactly ``text``."""
    pieces: list[str] = []
    current = ""
    for ch in text:
        current += ch
        if ch == " ":
            pieces.append(current)
            current = ""
    if current:
        pieces.append(current)
    return pieces


def count_usage(messages: Sequence[ChatMessage], text: str) -> Usage:
    prompt = sum(len(m.content.split()) + 4 for m in messages)
    return Usage(prompt_tokens=prompt, completion_tokens=len(text.split()))


class FakeChatModel:
    """Implements ``ChatModel``; records every call in ``calls``."""

    def __init__(
        self,
        reply: Reply = echo_reply,
        *,
        delay: float = 0.0,
        unavailable: str | None = None,
        ending: Ending = Ending.COMPLETE,
    ) -> None:
        self.reply = reply
        self.delay = delay
        self.unavailable = unavailable
        self.ending = ending  # how every answer ends (``CUT``: as if the stream broke off)
        self.calls: list[tuple[str, tuple[ChatMessage, ...]]] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        self._check()
        self.calls.append((model, tuple(messages)))
        if self.delay:
            await asyncio.sleep(self.delay)
        text = self.reply(messages)
        return Completion(text=text, usage=count_usage(messages, text), ending=self.ending)

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        self._check()
        self.calls.append((model, tuple(messages)))
        text = self.reply(messages)
        for piece in split_pieces(text):
            if self.delay:
                await asyncio.sleep(self.delay)
            yield CompletionChunk(text=piece)
        yield CompletionChunk(text="", usage=count_usage(messages, text), ending=self.ending)

    async def check(self) -> str | None:
        return self.unavailable

    def _check(self) -> None:
        if self.unavailable is not None:
            raise ModelUnavailable("The language model is not reachable right now.")

    async def aclose(self) -> None:
        return None

    @property
    def last_messages(self) -> tuple[ChatMessage, ...]:
        return self.calls[-1][1]

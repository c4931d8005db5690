"""Between domain types and the OpenAI wire format."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

from domain.models import ChatMessage, Role, Usage


def to_wire(messages: Sequence[ChatMessage]) -> list[ChatCompletionMessageParam]:
    wire: list[ChatCompletionMessageParam] = []
    for message in messages:
        if message.role is Role.SYSTEM:
            wire.append({"role": "system", "content": message.content})
        elif message.role is Role.ASSISTANT:
            wire.append({"role": "assistant", "content": message.content})
        else:
            wire.append({"role": "user", "content": message.content})
    return wire


def to_usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens, completion_tokens=usage.completion_tokens)


def display_url(url: str) -> str:
    """The endpoint address without credentials, query or fragment (safe to show)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = f"{host}:{port}" if port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def first_piece(chunk: ChatCompletionChunk) -> str:
    for choice in chunk.choices:
        if choice.index == 0 and choice.delta is not None and choice.delta.content:
            return choice.delta.content
    return ""

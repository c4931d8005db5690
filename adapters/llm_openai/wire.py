"""Between domain types and the OpenAI wire format."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from openai.types import CompletionUsage
from openai.types.chat import ChatCompletion, ChatCompletionChunk, ChatCompletionMessageParam

from domain.models import ChatMessage, Ending, Role, Usage


class Unreadable(ValueError):
    """The server's answer is not shaped like an OpenAI completion."""


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


@dataclass(frozen=True, slots=True)
class ChunkRead:
    """What one streamed chunk says: a piece of text, maybe usage and how it ended."""

    piece: str
    usage: Usage | None
    ending: Ending | None


def read_chunk(chunk: object) -> ChunkRead:
    """The first choice's piece of ``chunk``; ``Unreadable`` when it is not a chunk.

    The SDK builds chunks from the server's JSON without validating them, so a server
    sending JSON of another shape gives objects whose fields are missing or of any
    type: every field read here is checked.
    """
    if not isinstance(chunk, ChatCompletionChunk):
        raise Unreadable("not a chat completion chunk")
    try:
        choices: Any = chunk.choices
        raw_usage: Any = chunk.usage
        piece, ending = "", None
        if not isinstance(choices, list):
            raise Unreadable("choices is not a list")
        for choice in choices:
            if getattr(choice, "index", 0) != 0:
                continue
            delta = getattr(choice, "delta", None)
            content = getattr(delta, "content", None)
            if content is not None and not isinstance(content, str):
                raise Unreadable("content is not text")
            piece = content or ""
            ending = to_ending(getattr(choice, "finish_reason", None))
            break
        usage = to_usage(raw_usage) if isinstance(raw_usage, CompletionUsage) else None
    except (AttributeError, TypeError) as exc:  # a field of another type than declared
        raise Unreadable(type(exc).__name__) from exc
    return ChunkRead(piece, usage, ending)


def read_completion(response: object) -> tuple[str, Usage, Ending]:
    """Text, usage and ending of a whole answer; ``Unreadable`` when it is not one."""
    if not isinstance(response, ChatCompletion):
        raise Unreadable("not a chat completion")
    try:
        choices: Any = response.choices
        if not isinstance(choices, list) or not choices:
            raise Unreadable("no choices")
        message = getattr(choices[0], "message", None)
        text = getattr(message, "content", None)
        if text is not None and not isinstance(text, str):
            raise Unreadable("content is not text")
        ending = to_ending(getattr(choices[0], "finish_reason", None)) or Ending.COMPLETE
        raw_usage: Any = getattr(response, "usage", None)
        usage = to_usage(raw_usage) if isinstance(raw_usage, CompletionUsage) else Usage()
    except (AttributeError, TypeError) as exc:
        raise Unreadable(type(exc).__name__) from exc
    return text or "", usage, ending


def to_ending(finish_reason: object) -> Ending | None:
    """None while the answer goes on; ``length`` means max_tokens cut it short."""
    if finish_reason is None:
        return None
    return Ending.TOO_LONG if finish_reason == "length" else Ending.COMPLETE

"""One record (a JSON object or a CSV row as a dict) → one :class:`ParsedExample`.

Shapes, tried in this order:

- chat: ``{"messages": [...]}``; the last message is the assistant's answer and
  the one before it the user's; optional ``rejected``.
- preference: ``{"input": {"messages": [...]}, "preferred_output": [...],
  "non_preferred_output": [...]}`` (what the DPO export writes).
- prompt/answer: a prompt under ``prompt``, ``question``, ``input`` or ``text`` and
  an answer under ``completion``, ``answer``, ``output`` or ``response``; without an
  answer, a ``label`` is the answer (the prototype's ``{"text","label","name"}``).

Every shape may carry ``rejected``, ``label`` and ``name``; prompt/answer records
may carry ``system``.
"""

from __future__ import annotations

from collections.abc import Mapping

from domain.importing.problems import ParsedExample, RowError
from domain.json_input import json_type
from domain.models import ChatMessage, Role

PROMPT_KEYS = ("prompt", "question", "input", "text")
ANSWER_KEYS = ("completion", "answer", "output", "response")
EXTRA_KEYS = ("rejected", "label", "name", "system")


def text_field(value: object, what: str, max_chars: int, *, required: bool = True) -> str | None:
    """Check one text field: present (if required), text, no NUL, not too long."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise RowError(f"{what} is empty" if value is not None else f"{what} is missing")
        return None
    if not isinstance(value, str):
        raise RowError(f"{what} must be text, found {json_type(value)}")
    if "\x00" in value:
        raise RowError(f"{what} contains a NUL character")
    if len(value) > max_chars:
        raise RowError(f"{what} is {len(value):,} characters long; the limit is {max_chars:,}")
    return value


def _label_like(value: object, what: str, max_chars: int) -> str | None:
    """Labels and names may be numbers in labelled sets (``"label": 3``)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return text_field(value, what, max_chars, required=False)


def _content(value: object, what: str, max_chars: int) -> str:
    """Message content: text, or a list of ``{"type": "text", "text": ...}`` parts."""
    if isinstance(value, list):
        parts = []
        for part in value:
            if not (isinstance(part, Mapping) and part.get("type") == "text"):
                raise RowError(f"{what}: only text content parts are supported")
            parts.append(part.get("text"))
        if not all(isinstance(p, str) for p in parts):
            raise RowError(f"{what}: a text part has no text")
        value = "".join(str(p) for p in parts)
    text = text_field(value, what, max_chars)
    assert text is not None
    return text


def _messages(value: object, what: str, max_chars: int) -> list[ChatMessage]:
    if not isinstance(value, list) or not value:
        raise RowError(f"{what} must be a non-empty list of messages")
    out = []
    for i, item in enumerate(value, 1):
        where = f"{what}[{i}]"
        if not isinstance(item, Mapping):
            raise RowError(f"{where} must be an object with 'role' and 'content'")
        role = item.get("role")
        if role not in ("system", "user", "assistant"):
            shown = repr(role[:20]) if isinstance(role, str) else json_type(role)
            raise RowError(f"{where}: role must be system, user or assistant, found {shown}")
        out.append(ChatMessage(Role(role), _content(item.get("content"), where, max_chars)))
    return out


def _check_input(messages: list[ChatMessage], what: str) -> tuple[ChatMessage, ...]:
    if not messages or messages[-1].role is not Role.USER:
        raise RowError(f"{what}: the answer must follow a user message")
    return tuple(messages)


def _reply(value: object, what: str, max_chars: int, *, required: bool) -> str | None:
    """An answer given as text, one message, or a list ending with an assistant message."""
    if isinstance(value, list) and value:
        messages = _messages(value, what, max_chars)
        if messages[-1].role is not Role.ASSISTANT:
            raise RowError(f"{what} must end with an assistant message")
        return messages[-1].content
    if isinstance(value, Mapping):
        return _reply([value], what, max_chars, required=required)
    if isinstance(value, list):
        value = None
    return text_field(value, what, max_chars, required=required)


def _example(
    record: Mapping[str, object],
    messages: tuple[ChatMessage, ...],
    answer: str,
    max_chars: int,
    *,
    rejected: str | None = None,
) -> ParsedExample:
    """Add the optional ``rejected``, ``label`` and ``name`` every shape may carry."""
    if rejected is None:
        rejected = _reply(record.get("rejected"), "rejected", max_chars, required=False)
    return ParsedExample(
        messages=messages,
        answer=answer,
        rejected=rejected,
        label=_label_like(record.get("label"), "label", max_chars),
        name=_label_like(record.get("name"), "name", max_chars),
    )


def _chat(record: Mapping[str, object], max_chars: int) -> ParsedExample:
    messages = _messages(record.get("messages"), "messages", max_chars)
    if messages[-1].role is not Role.ASSISTANT:
        raise RowError("messages: the last message must be the assistant's answer")
    inputs = _check_input(messages[:-1], "messages")
    return _example(record, inputs, messages[-1].content, max_chars)


def _preference(record: Mapping[str, object], max_chars: int) -> ParsedExample:
    given = record.get("input")
    if not isinstance(given, Mapping):
        raise RowError("input must be an object with 'messages'")
    inputs = _check_input(_messages(given.get("messages"), "input.messages", max_chars), "input")
    answer = _reply(record.get("preferred_output"), "preferred_output", max_chars, required=True)
    rejected = _reply(
        record.get("non_preferred_output"), "non_preferred_output", max_chars, required=False
    )
    assert answer is not None
    return _example(record, inputs, answer, max_chars, rejected=rejected)


def _prompt_answer(record: Mapping[str, object], max_chars: int) -> ParsedExample:
    prompt_key = next((k for k in PROMPT_KEYS if k in record), None)
    if prompt_key is None:
        raise RowError("no prompt: expected 'messages', 'prompt', 'question', 'input' or 'text'")
    prompt = text_field(record[prompt_key], prompt_key, max_chars)
    label = _label_like(record.get("label"), "label", max_chars)
    answer_key = next((k for k in ANSWER_KEYS if k in record), None)
    if answer_key is not None:
        answer = text_field(record[answer_key], answer_key, max_chars)
    elif label is not None:
        answer = label  # a labelled example: the label is the answer
    else:
        raise RowError(
            "no answer: expected 'completion', 'answer', 'output', 'response' or 'label'"
        )
    assert prompt is not None and answer is not None
    system = text_field(record.get("system"), "system", max_chars, required=False)
    messages = [ChatMessage(Role.USER, prompt)]
    if system is not None:
        messages.insert(0, ChatMessage(Role.SYSTEM, system))
    return _example(record, tuple(messages), answer, max_chars)


def example_from_record(record: object, *, max_chars: int) -> ParsedExample:
    """Read one record; raises :class:`RowError` saying what is wrong with it."""
    if not isinstance(record, Mapping):
        raise RowError(f"expected a JSON object, found {json_type(record)}")
    if "messages" in record:
        return _chat(record, max_chars)
    if isinstance(record.get("input"), Mapping) or "preferred_output" in record:
        return _preference(record, max_chars)
    return _prompt_answer(record, max_chars)

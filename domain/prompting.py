"""Prompt assembly: pure functions from history and retrieved examples to messages.

The prompt sent for a question is, in order:

1. the system prompt, plus a note when a trainer's correction answers this very
   question (see :func:`pick_demonstrations`);
2. demonstrations — retrieved examples as user/assistant pairs, the matching
   correction first;
3. the conversation's history, newest turns kept within the budgets;
4. the question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from domain.models import (
    ChatMessage,
    Example,
    ExampleSource,
    Exchange,
    RetrievedExample,
    Role,
)
from domain.text import similarity

CORRECTION_NOTE = (
    "A trainer has corrected your earlier answer to this question. "
    "Give the trainer's corrected answer (the first example exchange below), "
    "not the old one:\n{answer}"
)


@dataclass(frozen=True, slots=True)
class Demonstrations:
    """Examples to show the model; ``correction`` (if any) is also ``examples[0]``."""

    examples: tuple[Example, ...] = ()
    correction: Example | None = None


def select_history(turns: Sequence[Exchange], *, max_turns: int, max_chars: int) -> list[Exchange]:
    """The newest turns (oldest first) that fit both budgets.

    ``turns`` is oldest first. A turn costs the characters of its prompt and answer;
    the oldest turns go first, and nothing older than a turn that does not fit is
    kept (the history has no gaps).
    """
    if max_turns <= 0 or max_chars <= 0:
        return []
    kept: list[Exchange] = []
    used = 0
    for turn in reversed(turns[-max_turns:]):
        used += len(turn.prompt) + len(turn.answer)
        if used > max_chars:
            break
        kept.append(turn)
    kept.reverse()
    return kept


def pick_demonstrations(
    retrieved: Sequence[RetrievedExample], question: str, *, correction_match: float
) -> Demonstrations:
    """Order retrieved examples for the prompt; a matching correction goes first.

    A *matching correction* is an example made from a trainer's correction whose
    prompt is at least ``correction_match`` similar to the question
    (:func:`domain.text.similarity`). The closest one wins (the best-ranked on a
    tie); other matching corrections are left out, since they answer the same
    question differently and would contradict it. Everything else keeps the
    retrieval order; examples without a prompt or an answer are skipped.
    """
    retrieved = [r for r in retrieved if r.example.prompt.strip() and r.example.answer.strip()]
    best: Example | None = None
    best_score = -1.0
    matching: set[str] = set()
    for item in retrieved:
        example = item.example
        if example.source is not ExampleSource.CORRECTION:
            continue
        score = similarity(example.prompt, question)
        if score >= correction_match:
            matching.add(example.id)
            if score > best_score:
                best, best_score = example, score
    if best is None:
        return Demonstrations(examples=tuple(item.example for item in retrieved))
    rest = tuple(item.example for item in retrieved if item.example.id not in matching)
    return Demonstrations(examples=(best, *rest), correction=best)


def build_messages(
    *,
    system_prompt: str,
    question: str,
    history: Sequence[Exchange] = (),
    demonstrations: Demonstrations = Demonstrations(),
) -> tuple[ChatMessage, ...]:
    """Every message sent to the model for ``question``, system prompt first."""
    messages: list[ChatMessage] = []
    system = system_prompt.strip()
    if demonstrations.correction is not None:
        note = CORRECTION_NOTE.format(answer=demonstrations.correction.answer)
        system = f"{system}\n\n{note}" if system else note
    if system:
        messages.append(ChatMessage(Role.SYSTEM, system))
    for example in demonstrations.examples:
        messages.append(ChatMessage(Role.USER, example.prompt))
        messages.append(ChatMessage(Role.ASSISTANT, example.answer))
    for turn in history:
        messages.append(ChatMessage(Role.USER, turn.prompt))
        messages.append(ChatMessage(Role.ASSISTANT, turn.answer))
    messages.append(ChatMessage(Role.USER, question))
    return tuple(messages)

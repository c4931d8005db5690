"""A burst of ``/ask`` against a slow model: acknowledged in time, answers bounded.

A bounded version of the load row of docs/reliability.md (40 questions, a model that
takes 0.5 s, 4 answers at once); ``bench/bench_discord.py --model-seconds 2`` runs
the full 200 against a 2 s model and reports peak memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from domain.models import ChatMessage, CompletionChunk, GenerationOptions
from tests.discord.conftest import BotFactory
from tests.fakes import FakeChatModel

pytestmark = pytest.mark.faults

QUESTIONS = 40
ANSWER_SECONDS = 0.5
AT_ONCE = 4
ACK_LIMIT = 3.0  # Discord's: an interaction not acknowledged within 3 s expires


class SlowModel(FakeChatModel):
    """Takes ``ANSWER_SECONDS`` to answer; counts how many answers run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.running = 0
        self.most = 0

    async def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(ANSWER_SECONDS)
            async for chunk in super().stream(messages, model=model, options=options):
                yield chunk
        finally:
            self.running -= 1


async def test_a_burst_against_a_slow_model_is_acknowledged_in_time_and_answered_in_turn(
    start_bot: BotFactory,
) -> None:
    model = SlowModel()
    h = await start_bot(real_llm=model, max_concurrent_answers=AT_ONCE)
    users = [h.emulator.add_member(h.guild, f"user{i}") for i in range(QUESTIONS)]

    handles = [
        h.command("ask", {"prompt": f"question {i}"}, user=user) for i, user in enumerate(users)
    ]

    for handle in handles:
        await handle.acknowledged(timeout=ACK_LIMIT * 2)
    latencies = [handle.ack_latency for handle in handles]
    assert all(x is not None and x < ACK_LIMIT for x in latencies), max(latencies)  # type: ignore[type-var]
    assert not any(handle.record.expired for handle in handles)
    budget = QUESTIONS / AT_ONCE * ANSWER_SECONDS * 3 + 10  # in turn, with slack
    await h.settled(
        lambda: all(x.record.original and x.record.original.custom_ids() for x in handles),
        timeout=budget,
    )
    assert sorted(x.record.original.content for x in handles) == sorted(
        f"echo: question {i}" for i in range(QUESTIONS)
    )
    assert model.most == AT_ONCE  # the limit held, and was used
    assert len(h.predictions()) == QUESTIONS

"""Streaming into messages: paced edits, continuation past the limit, one request when quick."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import discord

from adapters.discord.streaming import StreamingReply

_ids = itertools.count(1)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


@dataclass
class FakeMessage:
    time: FakeTime
    revisions: list[tuple[float, str, discord.ui.View | None]] = field(default_factory=list)
    id: int = field(default_factory=lambda: next(_ids))

    async def edit(self, *, content: str, view: discord.ui.View | None = None) -> None:
        self.revisions.append((self.time.now, content, view))

    @property
    def content(self) -> str:
        return self.revisions[-1][1]


class Channel:
    def __init__(self, time: FakeTime) -> None:
        self.time = time
        self.sent: list[FakeMessage] = []

    async def send(self, content: str, view: discord.ui.View | None) -> FakeMessage:
        message = FakeMessage(self.time)
        message.revisions.append((self.time.now, content, view))
        self.sent.append(message)
        return message

    def reply(self, time: FakeTime, *, interval: float = 1.0, limit: int = 2000) -> StreamingReply:
        return StreamingReply(
            first=self.send,
            more=self.send,
            interval=interval,
            limit=limit,
            clock=time.clock,
            sleep=time.sleep,
        )


async def test_an_answer_complete_before_the_first_write_costs_one_request() -> None:
    time = FakeTime()
    channel = Channel(time)
    view = discord.ui.View()
    async with channel.reply(time) as reply:
        for piece in ["Hello", ", ", "world", "!"]:
            reply.feed(piece)
        await reply.finish(view)
    assert len(channel.sent) == 1
    assert channel.sent[0].revisions == [(0.0, "Hello, world!", view)]
    assert reply.requests == 1


async def test_a_long_stream_is_paced_and_continues_in_new_messages() -> None:
    time = FakeTime()
    channel = Channel(time)
    words = [f"w{i}" for i in range(1500)]
    text = " ".join(words)
    view = discord.ui.View()
    async with channel.reply(time, interval=1.0, limit=2000) as reply:
        for start in range(0, len(text), 40):
            reply.feed(text[start : start + 40])
            await time.sleep(0.05)  # the model's pace: 800 characters per second
        await reply.finish(view)
    sent = channel.sent
    assert len(sent) >= 4
    assert all(len(m.content) <= 2000 for m in sent)
    assert " ".join(m.content for m in sent).split() == words  # nothing cut or lost
    for message in sent:  # at most one edit per second per message
        times = [at for at, _, _ in message.revisions]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))
        assert len(message.revisions) > 1 or message is sent[-1]
    assert [m.revisions[-1][2] for m in sent] == [None] * (len(sent) - 1) + [view]


async def test_the_newest_text_is_shown_after_a_pause() -> None:
    time = FakeTime()
    channel = Channel(time)
    async with channel.reply(time, interval=1.0) as reply:
        reply.feed("first")
        await time.sleep(0.1)
        reply.feed(" second")
        await time.sleep(0.1)
        for _ in range(20):  # the model pauses; the writer catches up on its own
            await time.sleep(0.1)
        assert channel.sent[0].content == "first second"
        await reply.finish(None)
    assert [c for _, c, _ in channel.sent[0].revisions] == ["first", "first second"]


async def test_abort_keeps_what_arrived_and_says_it_was_interrupted() -> None:
    time = FakeTime()
    channel = Channel(time)
    async with channel.reply(time) as reply:
        reply.feed("Half an ans")
        assert await reply.abort("(interrupted)")
    assert channel.sent[0].content == "Half an ans\n\n(interrupted)"


async def test_abort_before_anything_arrived_writes_nothing() -> None:
    time = FakeTime()
    channel = Channel(time)
    async with channel.reply(time) as reply:
        assert not await reply.abort("(interrupted)")
    assert channel.sent == []


async def test_an_empty_answer_shows_a_placeholder() -> None:
    time = FakeTime()
    channel = Channel(time)
    async with channel.reply(time) as reply:
        await reply.finish(None)
    assert [m.content for m in channel.sent] == ["…"]

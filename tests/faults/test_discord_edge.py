"""Discord misbehaving while an answer is on its way, through the emulator.

Each test asks ``/ask`` with a model that streams slowly enough for the fault to land
mid-answer, and then checks what a member would: the answer arrives exactly once and
whole, with its buttons, no "thinking…" is left, and one prediction is stored.
"""

from __future__ import annotations

import time

import pytest

from tests.discord.conftest import BotFactory, Harness
from tests.discord_emulator import InteractionHandle

pytestmark = pytest.mark.faults

EDIT = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
ANSWER = " ".join(f"word{i}" for i in range(40))  # 40 pieces, streamed one by one
PIECE_DELAY = 0.02  # seconds between streamed pieces: the answer takes ~0.8 s
BOUND = 15.0  # seconds; generous for a loaded 2-core machine


async def slow_bot(start_bot: BotFactory) -> Harness:
    h = await start_bot()
    h.llm.reply = lambda messages: ANSWER
    h.llm.delay = PIECE_DELAY
    return h


async def answered_once(h: Harness, handle: InteractionHandle) -> None:
    """The whole answer, once, in the interaction's own message, with its buttons."""
    await h.settled(
        lambda: handle.record.original is not None and handle.record.original.custom_ids(),
        timeout=BOUND,
    )
    original = handle.record.original
    assert original is not None
    assert original.content.startswith(ANSWER), original.content
    assert "thinking" not in original.content.lower()
    carrying = [m for m in h.emulator.messages_in(h.general) if ANSWER in m.content]
    assert carrying == [original]  # no duplicate message, no second follow-up
    assert not handle.followups
    [prediction] = h.predictions()
    assert prediction.answer == ANSWER


async def mid_answer(h: Harness, handle: InteractionHandle) -> None:
    """Wait until the answer has started to show (a first edit carried some of it)."""
    await handle.acknowledged()
    await h.settled(
        lambda: handle.record.original is not None and "word" in handle.record.original.content,
        timeout=BOUND,
    )


async def test_a_rate_limited_edit_mid_answer_is_retried_and_the_answer_arrives_once(
    start_bot: BotFactory,
) -> None:
    h = await slow_bot(start_bot)
    handle = h.command("ask", {"prompt": "tell me"}, user=h.member)
    await mid_answer(h, handle)
    h.emulator.force_rate_limit(EDIT, count=2, retry_after=0.3)
    started = time.monotonic()

    await answered_once(h, handle)

    statuses = [r.status for r in h.emulator.requests_to(EDIT)]
    assert statuses.count(429) == 2 and statuses[-1] == 200
    assert time.monotonic() - started < BOUND


async def test_a_server_error_on_an_edit_mid_answer_is_retried_and_the_answer_arrives_once(
    start_bot: BotFactory,
) -> None:
    h = await slow_bot(start_bot)
    handle = h.command("ask", {"prompt": "tell me"}, user=h.member)
    await mid_answer(h, handle)
    h.emulator.fail_requests(EDIT, status=502, count=1)

    await answered_once(h, handle)

    statuses = [r.status for r in h.emulator.requests_to(EDIT)]
    assert 502 in statuses and statuses[-1] == 200


@pytest.mark.parametrize("close_code", [4000, None], ids=["close-frame", "no-close-frame"])
async def test_the_gateway_dropping_mid_answer_resumes_and_the_answer_arrives_once(
    start_bot: BotFactory, close_code: int | None
) -> None:
    h = await slow_bot(start_bot)
    handle = h.command("ask", {"prompt": "tell me"}, user=h.member)
    await mid_answer(h, handle)

    assert await h.emulator.drop_gateway(close_code) >= 1
    await answered_once(h, handle)

    await h.settled(lambda: any(c.kind == "resume" for c in h.emulator.gateway_log), BOUND)
    h.llm.delay = 0.0
    after = await h.reply(h.command("ask", {"prompt": "still there?"}, user=h.member), BOUND)
    assert after.content.startswith(ANSWER)  # the gateway serves interactions again


async def test_an_invalid_session_mid_answer_identifies_anew_and_the_answer_arrives_once(
    start_bot: BotFactory,
) -> None:
    h = await slow_bot(start_bot)
    handle = h.command("ask", {"prompt": "tell me"}, user=h.member)
    await mid_answer(h, handle)
    identifies = sum(1 for c in h.emulator.gateway_log if c.kind == "identify")

    h.emulator.invalidate_sessions()  # the resume is refused: INVALID_SESSION
    assert await h.emulator.drop_gateway(4000) >= 1
    await answered_once(h, handle)

    await h.settled(
        lambda: sum(1 for c in h.emulator.gateway_log if c.kind == "identify") > identifies,
        BOUND,
    )
    h.llm.delay = 0.0
    after = await h.reply(h.command("ask", {"prompt": "still there?"}, user=h.member), BOUND)
    assert after.content.startswith(ANSWER)


async def test_a_server_error_on_the_send_of_a_chat_reply_is_retried_and_it_arrives_once(
    start_bot: BotFactory,
) -> None:
    h = await slow_bot(start_bot)
    send = "POST /channels/{channel_id}/messages"
    h.emulator.fail_requests(send, status=500, count=1)

    h.emulator.post_message(h.chat, h.member, "tell me")

    def replied() -> bool:
        return any(
            m.author.id != h.member.id and m.content.startswith(ANSWER) and m.custom_ids()
            for m in h.emulator.messages_in(h.chat)
        )

    await h.settled(replied, BOUND)
    carrying = [m for m in h.emulator.messages_in(h.chat) if ANSWER in m.content]
    assert len(carrying) == 1
    statuses = [r.status for r in h.emulator.requests_to(send)]
    assert statuses[0] == 500 and 200 in statuses
    [prediction] = h.predictions()
    assert prediction.answer == ANSWER

"""Chatting through the real bot: /ask, streaming, plain messages, memory, /forget."""

from __future__ import annotations

import structlog

from tests.discord.conftest import Harness
from tests.discord_emulator.records import CALLBACK_DEFERRED


async def test_the_bot_logs_in_and_syncs_its_commands_to_the_dev_guild(h: Harness) -> None:
    names = {c["name"] for c in h.emulator.guild_commands(h.guild)}
    assert names >= {
        "ask",
        "hi",
        "help",
        "forget",
        "correct",
        "feedback",
        "dataset",
        "train",
        "test",
        "model",
        "getfile",
        "transcribe",
        "Correct this answer",
    }
    ask = next(c for c in h.emulator.guild_commands(h.guild) if c["name"] == "ask")
    assert ask["name_localizations"]["ru"] == "спросить"


async def test_ask_answers_in_the_channel_with_feedback_buttons(h: Harness) -> None:
    handle = h.command("ask", {"prompt": "What is Python?"}, user=h.member)
    assert await handle.acknowledged() == CALLBACK_DEFERRED
    reply = await h.reply(handle)
    assert reply.content == "echo: What is Python?"
    [prediction] = h.predictions()
    assert prediction.message_id == str(reply.id)
    assert reply.custom_ids() == [
        f"tb:rate:up:{prediction.id}",
        f"tb:rate:down:{prediction.id}",
        f"tb:correct:{prediction.id}",
    ]
    assert not reply.ephemeral
    assert handle.ack_latency is not None and handle.ack_latency < 3.0


async def test_every_log_line_of_an_interaction_names_it(h: Harness) -> None:
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        handle = h.command("ask", {"prompt": "log me"}, user=h.member)
        await h.settled(lambda: any(e["event"] == "answer_delivered" for e in logs))
    delivered = next(e for e in logs if e["event"] == "answer_delivered")
    assert delivered["interaction_id"] == str(handle.id)
    assert delivered["command"] == "ask"
    assert delivered["user_id"] == str(h.member.id)
    assert delivered["guild_id"] == str(h.guild.id)
    assert all("log me" not in str(value) for e in logs for value in e.values())


CODE = "```python\n" + "".join(f"value_{i} = compute({i})  # step {i}\n" for i in range(60)) + "```"
LONG_ANSWER = (
    "Here is a long explanation. " * 60
    + "\n\nAnd the code:\n\n"
    + CODE
    + "\n\n"
    + "Closing words follow here. " * 80
)


def _fences_balanced(text: str) -> bool:
    return sum(1 for line in text.splitlines() if line.startswith("```")) % 2 == 0


async def test_a_long_answer_streams_and_continues_in_follow_ups_without_cutting(
    h: Harness,
) -> None:
    h.llm.reply = lambda messages: LONG_ANSWER
    h.llm.delay = 0.001  # about 1,000 word pieces: the stream takes over a second
    handle = h.command("ask", {"prompt": "Explain everything"}, user=h.member)
    prediction = await h.settled(lambda: next(iter(h.predictions()), None), timeout=15)
    last_id = await h.settled(lambda: h.db.committed.predictions[prediction.id].message_id)
    original = await h.reply(handle)
    messages = [original, *handle.followups]
    assert len(messages) >= 3
    assert str(messages[-1].id) == last_id
    assert all(len(m.content) <= 2000 and _fences_balanced(m.content) for m in messages)
    shown = "\n".join(m.content for m in messages)
    body = [ln for ln in shown.splitlines() if not ln.startswith("```")]
    assert (
        " ".join(body).split()
        == " ".join(ln for ln in LONG_ANSWER.splitlines() if not ln.startswith("```")).split()
    )
    assert len(original.history) > 2  # placeholder, first text, later edits: streamed
    assert [bool(m.custom_ids()) for m in messages] == [False] * (len(messages) - 1) + [True]


async def test_conversation_memory_is_per_channel_and_thread(h: Harness) -> None:
    first = h.command("ask", {"prompt": "My name is Ada"}, user=h.member)
    await h.reply(first)
    second = h.command("ask", {"prompt": "What is my name?"}, user=h.member)
    await h.reply(second)
    history = [m.content for m in h.llm.last_messages]
    assert "My name is Ada" in history and "echo: My name is Ada" in history
    thread = h.emulator.add_thread(h.general, "side talk", owner=h.member)
    third = h.command("ask", {"prompt": "What is my name?"}, user=h.member, channel=thread)
    await h.reply(third)
    assert "My name is Ada" not in [m.content for m in h.llm.last_messages]


async def test_forget_starts_the_conversation_afresh(h: Harness) -> None:
    await h.reply(h.command("ask", {"prompt": "Remember the number 42"}, user=h.member))
    forgot = await h.reply(h.command("forget", user=h.member))
    assert "1 turn" in forgot.content
    await h.reply(h.command("ask", {"prompt": "Which number?"}, user=h.member))
    assert "Remember the number 42" not in [m.content for m in h.llm.last_messages]


async def test_plain_messages_are_answered_when_addressed_and_ignored_otherwise(
    h: Harness,
) -> None:
    me = h.emulator.bot_user
    h.emulator.post_message(h.general, h.member, "just chatting among people")
    mention = h.emulator.post_message(h.general, h.member, f"<@{me.id}> what time is it?")
    in_chat = h.emulator.post_message(h.chat, h.member, "tell me a joke")
    other_bot = h.emulator.add_user("otherbot", bot=True)
    h.emulator.post_message(h.chat, other_bot, "I am a bot, do not answer me")
    dm = h.emulator.dm_channel(h.member)
    direct = h.emulator.post_message(dm, h.member, "hello in private")

    def answered(channel: object) -> list[object]:
        return h.emulator.bot_messages(channel)  # type: ignore[arg-type]

    await h.settled(lambda: answered(h.general) and answered(h.chat) and answered(dm))
    await h.settled(lambda: len(h.predictions()) == 3)
    [reply] = answered(h.general)
    assert reply.content == "echo: what time is it?" and reply.referenced.id == mention.id
    assert answered(h.chat)[0].referenced.id == in_chat.id
    assert answered(dm)[0].referenced.id == direct.id
    assert sorted(p.prompt for p in h.predictions()) == [
        "hello in private",
        "tell me a joke",
        "what time is it?",
    ]
    assert {p.conversation_id for p in h.predictions()} == {
        f"discord:{h.general.id}",
        f"discord:{h.chat.id}",
        f"discord:{dm.id}",
    }


async def test_without_chat_channels_the_bot_asks_for_no_message_content(start_bot: object) -> None:
    h = await start_bot(chat_channels=frozenset())  # type: ignore[operator]
    assert not h.bot.intents.message_content
    assert h.bot.intents.guilds and h.bot.intents.voice_states and h.bot.intents.dm_messages
    me = h.emulator.bot_user
    h.emulator.post_message(h.general, h.member, f"<@{me.id}> still there?")
    await h.settled(lambda: h.emulator.bot_messages(h.general))
    assert h.emulator.bot_messages(h.general)[0].content == "echo: still there?"


async def test_chat_cooldown_refuses_a_second_question_in_the_users_language(
    start_bot: object,
) -> None:
    h = await start_bot(chat_cooldown=60.0)  # type: ignore[operator]
    await h.reply(h.command("ask", {"prompt": "first"}, user=h.member))
    refused = await h.reply(h.command("ask", {"prompt": "second"}, user=h.member, locale="ru"))
    assert refused.ephemeral and "попробуйте через" in refused.content
    h.emulator.post_message(h.chat, h.member, "third")
    h.emulator.post_message(h.chat, h.member, "fourth")
    await h.settled(lambda: h.emulator.bot_messages(h.chat))
    assert len(h.predictions()) == 1
    assert "try again in" in h.emulator.bot_messages(h.chat)[0].content


async def test_an_unavailable_model_is_explained_without_raw_errors(h: Harness) -> None:
    h.llm.unavailable = "configure TRAINERBOT_LLM__BASE_URL"
    reply = await h.reply(h.command("ask", {"prompt": "hello?"}, user=h.member))
    assert "not reachable" in reply.content
    assert h.predictions() == []


async def test_an_unexpected_failure_shows_a_reference_and_never_the_exception(h: Harness) -> None:
    def explode(messages: object) -> str:
        raise RuntimeError("database password is hunter2")

    h.llm.reply = explode
    reply = await h.reply(h.command("ask", {"prompt": "boom"}, user=h.member))
    assert "reference" in reply.content and "hunter2" not in reply.content


async def test_an_invalid_question_is_refused_ephemerally_before_deferring(h: Harness) -> None:
    handle = h.command("ask", {"prompt": "   "}, user=h.member, locale="ru")
    reply = await h.reply(handle)
    assert reply.ephemeral
    assert reply.content.startswith("**Неверные данные.**")


async def test_rate_limited_edits_are_retried_and_the_answer_arrives(h: Harness) -> None:
    route = "PATCH /webhooks/{webhook_id}/{webhook_token}/messages/{message_id}"
    h.emulator.force_rate_limit(route, count=2, retry_after=0.05)
    handle = h.command("ask", {"prompt": "despite the limits"}, user=h.member)
    await h.settled(lambda: handle.record.original and handle.record.original.custom_ids())
    assert handle.record.original.content == "echo: despite the limits"
    statuses = [r.status for r in h.emulator.requests_to(route)]
    assert statuses.count(429) == 2 and statuses[-1] == 200


async def test_burst_of_questions_is_acknowledged_and_answered(start_bot: object) -> None:
    h = await start_bot(max_concurrent_answers=2)  # type: ignore[operator]
    users = [h.emulator.add_member(h.guild, f"user{i}") for i in range(12)]
    handles = [
        h.command("ask", {"prompt": f"question {i}"}, user=user) for i, user in enumerate(users)
    ]
    for handle in handles:
        await handle.acknowledged()
    await h.settled(
        lambda: all(x.record.original and x.record.original.custom_ids() for x in handles)
    )
    assert sorted(x.record.original.content for x in handles) == sorted(
        f"echo: question {i}" for i in range(12)
    )

"""Where a bot can get Discord wrong: length limits, rate limits, the 3-second window,
the message-content intent. The real discord.py must see what it would see on Discord."""

from __future__ import annotations

import discord
import pytest

from .conftest import World
from .interactions import InteractionExpired
from .probe_bot import Probe, ProbeBot, default_intents, error_codes, running_bot
from .ratelimit import RateLimitPolicy
from .server import DiscordEmulator

BotUnderTest = tuple[ProbeBot, Probe]
SEND = "POST /channels/{channel_id}/messages"


async def test_message_over_2000_characters_is_refused_to_the_bot(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    handle = emulator.invoke_command("long", user=world.bob, channel=world.general)
    assert (await handle.response()).content == "tried"
    assert error_codes(probe) == [(400, 50035)]
    assert all(len(m.content) <= 2000 for m in emulator.messages_in(world.general))


async def test_edit_over_2000_characters_is_refused_and_the_message_is_unchanged(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    await emulator.invoke_command(
        "long", {"edit": True}, user=world.bob, channel=world.general
    ).response()
    assert error_codes(probe) == [(400, 50035)]
    short = next(m for m in emulator.messages_in(world.general) if m.content == "short")
    assert short.edits == []


async def test_forced_429s_are_waited_out_and_every_message_arrives(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    emulator.force_rate_limit(SEND, count=2, retry_after=0.1)
    handle = emulator.invoke_command("burst", {"count": 3}, user=world.bob, channel=world.general)
    assert (await handle.response(timeout=10)).content == "sent 3"
    assert [r.status for r in emulator.requests_to(SEND)] == [429, 429, 200, 200, 200]
    burst = [
        m.content for m in emulator.messages_in(world.general) if m.content.startswith("burst")
    ]
    assert burst == ["burst 0", "burst 1", "burst 2"]


async def test_hidden_bucket_429_is_honoured_by_the_rate_limiter(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    emulator.rate_limits = RateLimitPolicy(
        limit=2, window=0.3, advertise=False, routes=frozenset({SEND})
    )
    handle = emulator.invoke_command("burst", {"count": 4}, user=world.bob, channel=world.general)
    assert (await handle.response(timeout=10)).content == "sent 4"
    statuses = [r.status for r in emulator.requests_to(SEND)]
    assert 429 in statuses and statuses.count(200) == 4
    burst = [
        m.content for m in emulator.messages_in(world.general) if m.content.startswith("burst")
    ]
    assert burst == [f"burst {i}" for i in range(4)]


async def test_advertised_bucket_is_respected_without_any_429(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    emulator.rate_limits = RateLimitPolicy(limit=2, window=0.3, routes=frozenset({SEND}))
    handle = emulator.invoke_command("burst", {"count": 4}, user=world.bob, channel=world.general)
    assert (await handle.response(timeout=10)).content == "sent 4"
    assert [r.status for r in emulator.requests_to(SEND)] == [200, 200, 200, 200]


async def test_late_acknowledgement_gets_unknown_interaction(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    emulator.config.ack_timeout = 0.2
    handle = emulator.invoke_command(
        "sleepy", {"seconds": 0.5}, user=world.bob, channel=world.general
    )
    with pytest.raises(InteractionExpired):
        await handle.acknowledged()
    await emulator.wait_for(lambda: probe.errors)
    assert isinstance(probe.errors[0], discord.NotFound)
    assert error_codes(probe) == [(404, 10062)]
    assert emulator.bot_messages(world.general) == []


async def test_acknowledgement_inside_the_window_succeeds(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    emulator.config.ack_timeout = 2.0
    handle = emulator.invoke_command(
        "sleepy", {"seconds": 0.05}, user=world.bob, channel=world.general
    )
    assert (await handle.response()).content == "finally"
    assert probe.errors == []


async def test_message_content_is_withheld_without_the_intent(
    emulator: DiscordEmulator, world: World
) -> None:
    async with running_bot(
        emulator, intents=default_intents(message_content=False), sync_guild=world.guild.id
    ) as (
        client,
        probe,
    ):
        plain = emulator.post_message(world.general, world.bob, "just chatting")
        mention = emulator.post_message(
            world.general, world.bob, f"{emulator.bot_user.mention} hello"
        )
        private = emulator.post_message(emulator.dm_channel(world.bob), world.bob, "in a DM")
        own = await emulator.invoke_command(
            "echo", {"text": "mine"}, user=world.bob, channel=world.general
        ).response()
        wanted = {plain.id, mention.id, private.id, own.id}
        await emulator.wait_for(lambda: wanted <= {m.id for m in probe.messages})
        seen = {m.id: m.content for m in probe.messages}
        assert seen[plain.id] == ""
        assert seen[mention.id] == f"{emulator.bot_user.mention} hello"
        assert seen[private.id] == "in a DM"
        assert seen[own.id] == "mine"
        assert client.user in next(m for m in probe.messages if m.id == mention.id).mentions


async def test_privileged_intent_not_enabled_for_the_app_stops_the_login(
    emulator: DiscordEmulator, world: World
) -> None:
    emulator.config.privileged_intents = frozenset({"members"})
    with pytest.raises(discord.PrivilegedIntentsRequired):
        async with running_bot(emulator):
            pass

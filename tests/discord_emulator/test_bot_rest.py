"""REST calls a bot makes on its own (outside interactions), through the real discord.py."""

from __future__ import annotations

import discord
import pytest

from .conftest import World
from .probe_bot import Probe, ProbeBot
from .server import DiscordEmulator

BotUnderTest = tuple[ProbeBot, Probe]


async def test_interaction_carries_locale_and_member_roles(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    alice = emulator.invoke_command("whoami", user=world.alice, channel=world.general)
    assert (await alice.response()).content == "alice ru Trainer"
    bob = emulator.invoke_command("whoami", user=world.bob, channel=world.general, locale="en-GB")
    assert (await bob.response()).content == "bob en-GB -"


async def test_bot_opens_a_dm_and_writes_to_it(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    user = await client.fetch_user(world.bob.id)
    sent = await user.send("a private note")
    dm = emulator.dm_channel(world.bob)
    assert [m.content for m in emulator.bot_messages(dm)] == ["a private note"]
    assert sent.channel.id == dm.id


async def test_a_user_who_refuses_dms_gets_none_and_discord_py_raises_forbidden(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    world.bob.user.accepts_dms = False
    user = await client.fetch_user(world.bob.id)
    with pytest.raises(discord.Forbidden) as refused:
        await user.send("a private note")
    assert (refused.value.status, refused.value.code) == (403, 50007)
    assert emulator.bot_messages(emulator.dm_channel(world.bob)) == []


async def test_typing_reactions_and_deletion(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, probe = bot
    channel = client.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    async with channel.typing():
        sent = await channel.send("thinking done")
    await sent.add_reaction("👍")
    stored = emulator.bot_messages(world.general)[0]
    assert stored.reactions == {"👍": [emulator.bot_user.id]}
    emulator.add_reaction(stored, world.bob, "👎")
    await emulator.wait_for(lambda: "MESSAGE_REACTION_ADD" in probe.events)
    await sent.remove_reaction("👍", client.user)  # type: ignore[arg-type]
    assert stored.reactions["👍"] == []
    await sent.delete()
    assert stored.deleted and emulator.bot_messages(world.general) == []
    assert emulator.requests_to("POST /channels/{channel_id}/typing")


async def test_fetching_members_channels_and_history(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    guild = client.get_guild(world.guild.id)
    assert guild is not None
    alice = await guild.fetch_member(world.alice.id)
    assert [r.name for r in alice.roles if not r.is_default()] == ["Trainer"]
    fetched = await client.fetch_channel(world.general.id)
    assert isinstance(fetched, discord.TextChannel) and fetched.name == "general"
    for text in ("one", "two", "three"):
        emulator.post_message(world.general, world.bob, text)
    history = [m.content async for m in fetched.history(limit=2)]
    assert history == ["three", "two"]


async def test_reply_mentions_the_author_unless_told_not_to(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    question = emulator.post_message(world.general, world.bob, "a question")
    seen = await emulator.wait_for(
        lambda: next((m for m in probe.messages if m.id == question.id), None)
    )
    await seen.reply("an answer")
    await seen.reply("a quiet answer", mention_author=False)
    loud, quiet = emulator.bot_messages(world.general)
    assert loud.referenced is question and [u.id for u in loud.mentions] == [world.bob.id]
    assert quiet.mentions == []


async def test_allowed_mentions_none_does_not_ping(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    channel = client.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    await channel.send(f"<@{world.alice.id}> done", allowed_mentions=discord.AllowedMentions.none())
    await channel.send(f"<@{world.alice.id}> done")
    silent, loud = emulator.bot_messages(world.general)
    assert silent.mentions == [] and [u.id for u in loud.mentions] == [world.alice.id]


async def test_thread_from_a_message(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    channel = client.get_channel(world.general.id)
    assert isinstance(channel, discord.TextChannel)
    starter = await channel.send("let's discuss")
    thread = await starter.create_thread(name="discussion")
    await thread.send("inside the thread")
    stored = emulator.state.channels[thread.id]
    assert stored.is_thread and stored.parent_id == world.general.id
    assert [m.content for m in emulator.bot_messages(stored)] == ["inside the thread"]

"""The gateway with a real discord.py client: heartbeats, drops and RESUME with replay,
invalidated sessions, late guilds, member visibility by intent, voice state hooks."""

from __future__ import annotations

import discord
import pytest

from .conftest import World
from .probe_bot import Probe, ProbeBot, running_bot
from .server import DiscordEmulator

BotUnderTest = tuple[ProbeBot, Probe]


def kinds(emulator: DiscordEmulator) -> list[str]:
    return [c.kind for c in emulator.gateway_log if c.kind != "closed"]


async def test_heartbeats_are_acknowledged(emulator: DiscordEmulator, bot: BotUnderTest) -> None:
    client, _ = bot
    await emulator.wait_for(lambda: emulator.gateway.heartbeats >= 2, timeout=5)
    assert client.latency < 1.0


@pytest.mark.parametrize("close_code", [4000, None], ids=["close-4000", "abrupt"])
async def test_dropped_connection_resumes_and_replays_what_was_missed(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest, close_code: int | None
) -> None:
    _, probe = bot
    await emulator.drop_gateway(close_code)
    missed = emulator.post_message(world.general, world.bob, "while you were away")
    await emulator.wait_for(lambda: probe.resumed == 1)
    resume = next(c for c in emulator.gateway_log if c.kind == "resume")
    assert resume.path == "/ws/resume"
    assert resume.detail == "replayed=1"
    assert kinds(emulator) == ["identify", "resume"]
    await emulator.wait_for(lambda: any(m.id == missed.id for m in probe.messages))
    later = emulator.invoke_command(
        "echo", {"text": "still here"}, user=world.bob, channel=world.general
    )
    assert (await later.response()).content == "still here"


async def test_reconnect_request_is_followed_by_a_resume(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    emulator.request_reconnect()
    await emulator.wait_for(lambda: probe.resumed == 1)
    assert kinds(emulator) == ["identify", "resume"]


async def test_invalid_session_makes_the_client_identify_again(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    emulator.invalidate_sessions()
    await emulator.drop_gateway(4000)
    await emulator.wait_for(lambda: kinds(emulator) == ["identify", "invalid_session", "identify"])
    await emulator.wait_for(lambda: probe.ready == 2)
    later = emulator.invoke_command(
        "echo", {"text": "fresh session"}, user=world.bob, channel=world.general
    )
    assert (await later.response()).content == "fresh session"
    assert len(emulator.gateway.live_sessions()) == 1


async def test_guild_added_after_ready_arrives_as_guild_create(
    emulator: DiscordEmulator, bot: BotUnderTest
) -> None:
    client, _ = bot
    second = emulator.add_guild("Second Guild")
    channel = emulator.add_text_channel(second, "lobby")
    joined = await emulator.wait_for(lambda: client.get_guild(second.id))
    await emulator.wait_for(lambda: joined.get_channel(channel.id))
    assert joined.name == "Second Guild"


async def test_members_are_only_visible_with_the_members_intent(
    emulator: DiscordEmulator, world: World
) -> None:
    async with running_bot(emulator, sync_guild=world.guild.id) as (client, _):
        guild = client.get_guild(world.guild.id)
        assert guild is not None and guild.get_member(world.alice.id) is None
    intents = discord.Intents.default()
    intents.members = True
    async with running_bot(emulator, intents=intents, sync_guild=world.guild.id) as (client, _):
        guild = client.get_guild(world.guild.id)
        assert guild is not None
        alice = await emulator.wait_for(lambda: guild.get_member(world.alice.id))
        assert [r.name for r in alice.roles if not r.is_default()] == ["Trainer"]


async def test_voice_state_updates_reach_the_bot_and_hook_the_voice_server(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, probe = bot
    asked: list[tuple[int, int]] = []

    async def voice_server(guild_id: int, channel_id: int, session_id: str) -> dict[str, str]:
        asked.append((guild_id, channel_id))
        return {"token": "voice-token", "endpoint": "127.0.0.1:1"}

    emulator.gateway.voice_server_provider = voice_server
    emulator.set_voice_state(world.alice, world.voice)
    voice = client.get_channel(world.voice.id)
    assert isinstance(voice, discord.VoiceChannel)
    await emulator.wait_for(lambda: [m.id for m in voice.members] == [world.alice.id])
    await client.ws.voice_state(world.guild.id, world.voice.id)
    await emulator.wait_for(lambda: "VOICE_SERVER_UPDATE" in probe.events)
    assert asked == [(world.guild.id, world.voice.id)]
    assert emulator.state.voice_state(world.guild.id, emulator.bot_user.id) is not None

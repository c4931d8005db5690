"""Fixtures: a running emulator with a small world, and a real discord.py bot connected to it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from .models import MANAGE_MESSAGES, Channel, Guild, Member, Role
from .probe_bot import Probe, ProbeBot, running_bot
from .server import DiscordEmulator


@dataclass(frozen=True)
class World:
    guild: Guild
    general: Channel
    voice: Channel
    trainer_role: Role
    alice: Member
    bob: Member


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(heartbeat_interval_ms=500) as discord_emulator:
        yield discord_emulator


@pytest.fixture
def world(emulator: DiscordEmulator) -> World:
    guild = emulator.add_guild("Test Guild")
    trainer = emulator.add_role(guild, "Trainer", permissions=MANAGE_MESSAGES)
    return World(
        guild=guild,
        general=emulator.add_text_channel(guild, "general"),
        voice=emulator.add_voice_channel(guild, "Voice"),
        trainer_role=trainer,
        alice=emulator.add_member(guild, "alice", roles=[trainer], locale="ru"),
        bob=emulator.add_member(guild, "bob"),
    )


@pytest.fixture
async def bot(emulator: DiscordEmulator, world: World) -> AsyncIterator[tuple[ProbeBot, Probe]]:
    async with running_bot(emulator, sync_guild=world.guild.id) as running:
        yield running
    emulator.assert_no_unknown_requests()

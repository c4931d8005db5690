"""The emulator's voice side against the real discord.py voice client (probe bot)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import aiohttp
import discord
import numpy as np
import pytest

from .conftest import World
from .probe_bot import Probe, ProbeBot, running_bot
from .server import DiscordEmulator
from .voice import MODE, VoiceServer, route_voice_websocket
from .voice_udp import cadence, pcm_of, utterances


@pytest.fixture
async def voice(emulator: DiscordEmulator) -> AsyncIterator[VoiceServer]:
    server = VoiceServer(heartbeat_interval_ms=100).attach(emulator)
    async with server:
        with route_voice_websocket(server):
            yield server


@pytest.fixture
async def voice_bot(
    emulator: DiscordEmulator, world: World, voice: VoiceServer
) -> AsyncIterator[tuple[ProbeBot, Probe]]:
    async with running_bot(emulator) as running:
        yield running


def tone(hz: float, seconds: float) -> bytes:
    t = np.arange(int(seconds * 48_000)) / 48_000
    mono = (np.sin(2 * np.pi * hz * t) * 10_000).astype("<i2")
    return np.repeat(mono, 2).tobytes()  # stereo


async def test_the_bot_connects_plays_and_the_audio_is_decoded_back(
    emulator: DiscordEmulator,
    world: World,
    voice: VoiceServer,
    voice_bot: tuple[ProbeBot, Probe],
) -> None:
    bot, _ = voice_bot
    channel = bot.get_channel(world.voice.id)
    assert isinstance(channel, discord.VoiceChannel)

    client = await channel.connect(timeout=10, self_deaf=True)
    [conn] = voice.live(world.guild.id)
    assert (conn.mode, len(conn.secret_key), conn.channel_id) == (MODE, 32, world.voice.id)
    assert emulator.state.voice_state(world.guild.id, emulator.bot_user.id) is not None

    client.play(discord.PCMAudio(io.BytesIO(tone(440, 0.6))))
    await voice.wait_for(lambda: any(p.silence_marker for p in voice.packets), timeout=10)

    [run] = utterances(voice.packets)
    shape = cadence(run)
    assert shape.packets == 30 and shape.sequence_ok and shape.timestamps_ok
    left = np.frombuffer(pcm_of(run), dtype="<i2")[::2].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(left))
    assert np.fft.rfftfreq(left.size, 1 / 48_000)[spectrum.argmax()] == pytest.approx(440, abs=5)
    assert [flags for _, flags in conn.speaking][:2] == [0, 1]  # SSRC announced, then voice
    await voice.wait_for(lambda: conn.heartbeats >= 2, timeout=5)
    assert voice.undecryptable == 0

    await client.disconnect()
    await voice.wait_for(lambda: conn.closed, timeout=5)
    assert emulator.state.voice_state(world.guild.id, emulator.bot_user.id) is None


async def test_a_voice_identify_with_a_wrong_token_is_refused(
    emulator: DiscordEmulator, voice: VoiceServer
) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"ws://{voice.endpoint}/?v=8") as ws,
    ):
        hello = await ws.receive_json()
        await ws.send_json({"op": 0, "d": {"token": "nope", "server_id": "1", "session_id": "x"}})
        closing = await ws.receive()

    assert hello["op"] == 8 and hello["d"]["heartbeat_interval"] == 100
    assert ws.close_code == 4004 or closing.data == 4004

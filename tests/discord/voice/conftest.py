"""The real bot with the voice cog, real Piper speech, and the emulator's voice side.

Whisper and Piper load once per session (each about a second); the audio the bot
plays is captured at the emulator's UDP endpoint, decrypted, decoded and, where a
test needs it, transcribed back with Whisper.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
import string
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from adapters.discord import TrainerBot
from adapters.discord.voice import SpeechFile, VoiceCog, VoiceConfig
from adapters.speech_piper import PiperTextToSpeech, to_ogg_opus_bytes
from adapters.speech_whisper import FasterWhisperSpeechToText, assemble_whisper_base
from domain.models import Audio
from tests.discord.conftest import BotFactory, Harness
from tests.discord_emulator import Channel, DiscordEmulator
from tests.discord_emulator.voice import VoiceServer, route_voice_websocket
from tests.discord_emulator.voice_udp import VoicePacket, wav_of


@pytest.fixture(scope="session")
def stt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FasterWhisperSpeechToText]:
    cache = tmp_path_factory.mktemp("voice-whisper")
    adapter = FasterWhisperSpeechToText(
        cache_dir=cache,
        model_dir=assemble_whisper_base(cache),
        cpu_threads=2,
        workers=1,
        language="en",
        preload=True,
    )
    asyncio.run(adapter.start())
    yield adapter
    asyncio.run(adapter.aclose())


@pytest.fixture(scope="session")
def tts() -> Iterator[PiperTextToSpeech]:
    adapter = PiperTextToSpeech(preload=True, release_memory_after=None)
    asyncio.run(adapter.start())
    yield adapter
    asyncio.run(adapter.aclose())


@pytest.fixture
async def voice_server(emulator: DiscordEmulator) -> AsyncIterator[VoiceServer]:
    server = VoiceServer().attach(emulator)
    async with server:
        with route_voice_websocket(server):
            yield server


@dataclasses.dataclass
class VoiceHarness:
    h: Harness
    server: VoiceServer
    voice: Channel  # the voice channel the trainer (and the bot) sit in

    @property
    def bot(self) -> TrainerBot:
        return self.h.bot

    @property
    def cog(self) -> VoiceCog:
        cog = self.h.bot.get_cog("VoiceCog")
        assert isinstance(cog, VoiceCog)
        return cog

    def bot_voice_channel(self) -> int | None:
        state = self.h.emulator.state.voice_state(self.h.guild.id, self.h.emulator.bot_user.id)
        return state.channel_id if state is not None else None

    def left(self) -> bool:
        """The bot is out of voice, as Discord and as discord.py see it."""
        guild = self.bot.get_guild(self.h.guild.id)
        return self.bot_voice_channel() is None and guild is not None and guild.voice_client is None

    async def join(self) -> None:
        """The trainer enters the voice channel and calls the bot in with /join."""
        self.h.emulator.set_voice_state(self.h.trainer, self.voice)
        await self.h.settled(lambda: self._member_seen(), timeout=5)
        reply = await self.h.reply(self.h.command("join"), timeout=15)
        assert self.voice.name in reply.content
        await self.server.wait_for(lambda: self.server.live(self.h.guild.id), timeout=10)

    def _member_seen(self) -> bool:
        guild = self.bot.get_guild(self.h.guild.id)
        member = guild.get_member(self.h.trainer.id) if guild else None
        return bool(member and member.voice and member.voice.channel)


@pytest.fixture
async def start_voice(
    voice_server: VoiceServer, start_bot: BotFactory, tts: PiperTextToSpeech
) -> Any:
    """``await start_voice(**VoiceConfig overrides)``: a ready bot with the voice cog."""

    async def start(**voice: Any) -> VoiceHarness:
        config = VoiceConfig(**voice)
        speech_file = SpeechFile(encode=to_ogg_opus_bytes, filename="speech.ogg")
        h = await start_bot(
            extra_cogs=[lambda bot: VoiceCog(bot, tts, speech_file=speech_file, config=config)]
        )
        channel = h.emulator.add_voice_channel(h.guild, "Lounge")
        await h.settled(lambda: h.bot.get_channel(channel.id), timeout=5)
        return VoiceHarness(h=h, server=voice_server, voice=channel)

    return start


async def transcribe(stt: FasterWhisperSpeechToText, packets: list[VoicePacket]) -> str:
    transcript = await stt.transcribe(Audio(wav_of(packets), "heard.wav", "audio/wav"))
    return transcript.text


def words(text: str) -> set[str]:
    cleaned = text.lower().translate(str.maketrans("", "", string.punctuation))
    return set(re.findall(r"[a-z0-9']+", cleaned))


def heard_fraction(heard: str, said: str) -> float:
    """The share of the said words (longer than 2 letters) that were heard."""
    wanted = {w for w in words(said) if len(w) > 2}
    return len(wanted & words(heard)) / len(wanted)

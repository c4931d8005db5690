"""Voice channels: ``/join``, ``/leave``, ``/say``, ``/stop`` and spoken answers.

Build it with a text-to-speech port and add it through ``extra_cogs``::

    run_discord(services, config, extra_cogs=[lambda bot: VoiceCog(bot, tts, config=voice)])
"""

from adapters.discord.voice.audio_file import to_wav
from adapters.discord.voice.cog import VoiceCog, VoiceUnavailable
from adapters.discord.voice.config import VoiceConfig
from adapters.discord.voice.frames import DISCORD_RATE, FRAME_BYTES, FRAME_SAMPLES, FrameCutter
from adapters.discord.voice.sentences import SentenceCutter, speakable
from adapters.discord.voice.source import FrameSource
from adapters.discord.voice.speaker import Speaker, Utterance

__all__ = [
    "DISCORD_RATE",
    "FRAME_BYTES",
    "FRAME_SAMPLES",
    "FrameCutter",
    "FrameSource",
    "SentenceCutter",
    "Speaker",
    "Utterance",
    "VoiceCog",
    "VoiceConfig",
    "VoiceUnavailable",
    "speakable",
    "to_wav",
]

"""Voice channels: ``/join``, ``/leave``, ``/say``, ``/stop`` and spoken answers.

Build it with a text-to-speech port and a way to write speech as a file (``/say`` when
the bot is in no voice channel), and add it through ``extra_cogs``::

    speech_file = SpeechFile(encode=to_ogg_opus_bytes, filename="speech.ogg")
    run_discord(
        services,
        config,
        extra_cogs=[lambda bot: VoiceCog(bot, tts, speech_file=speech_file, config=voice)],
    )
"""

from adapters.discord.voice.cog import VoiceCog, VoiceUnavailable
from adapters.discord.voice.config import SpeechFile, VoiceConfig
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
    "SpeechFile",
    "Utterance",
    "VoiceCog",
    "VoiceConfig",
    "VoiceUnavailable",
    "speakable",
]

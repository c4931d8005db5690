"""Text to speech: Piper behind ``domain.ports.TextToSpeech``, plus audio files.

Resampling to Discord's 48 kHz stereo frames belongs to the voice playback
(``adapters.discord.voice.frames``).
"""

from adapters.speech_piper.encoding import to_ogg_opus_bytes, to_wav_bytes
from adapters.speech_piper.synthesizer import PiperTextToSpeech
from adapters.speech_piper.text import detect_language, split_sentences
from adapters.speech_piper.voices import VoiceCache, packaged_voice

__all__ = [
    "PiperTextToSpeech",
    "VoiceCache",
    "detect_language",
    "packaged_voice",
    "split_sentences",
    "to_ogg_opus_bytes",
    "to_wav_bytes",
]

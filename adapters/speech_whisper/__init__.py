"""Speech to text: faster-whisper behind ``domain.ports.SpeechToText``."""

from adapters.speech_whisper.assembly import MODEL_BIN, assemble_whisper_base
from adapters.speech_whisper.decoding import DecodedAudio, decode_audio
from adapters.speech_whisper.transcriber import FasterWhisperSpeechToText

__all__ = [
    "MODEL_BIN",
    "DecodedAudio",
    "FasterWhisperSpeechToText",
    "assemble_whisper_base",
    "decode_audio",
]

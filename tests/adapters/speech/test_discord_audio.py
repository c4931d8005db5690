"""Speech → audio files (WAV, Discord-style OGG/Opus voice messages), and real Piper
speech through the voice playback's framing (``adapters.discord.voice.frames``, whose
own tests cover resampling and joining)."""

from __future__ import annotations

import io
import wave

import av
import pytest

from adapters.discord.voice.frames import FRAME_BYTES, FrameCutter
from adapters.speech_piper import to_ogg_opus_bytes, to_wav_bytes
from domain.errors import SpeechError
from domain.models import Speech


def test_piper_speech_becomes_frames_matching_its_duration(fox_speech: list[Speech]) -> None:
    spoken = sum(len(s.pcm) / 2 / s.sample_rate for s in fox_speech)

    cutter = FrameCutter()
    frames = [f for s in fox_speech for f in cutter.feed(s.pcm, s.sample_rate)]
    frames += cutter.finish()

    assert {len(f) for f in frames} == {FRAME_BYTES}
    assert len(frames) * 0.02 == pytest.approx(spoken, abs=0.021)


def test_wav_file_holds_the_speech_at_its_rate(fox_speech: list[Speech]) -> None:
    data = to_wav_bytes(fox_speech)

    with wave.open(io.BytesIO(data)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 22_050)
        assert wav.readframes(wav.getnframes()) == b"".join(s.pcm for s in fox_speech)


def test_voice_message_is_48k_mono_ogg_opus_of_the_same_length(fox_speech: list[Speech]) -> None:
    spoken = sum(len(s.pcm) / 2 / s.sample_rate for s in fox_speech)

    data = to_ogg_opus_bytes(fox_speech)

    assert data.startswith(b"OggS")
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert stream.codec_context.name == "opus"
        assert stream.codec_context.channels == 1
        decoded = sum(frame.samples for frame in container.decode(stream))
    assert decoded / 48_000 == pytest.approx(spoken, abs=0.03)


def test_no_speech_cannot_be_saved() -> None:
    with pytest.raises(SpeechError):
        to_wav_bytes([])
    with pytest.raises(SpeechError):
        to_ogg_opus_bytes([Speech(pcm=b"", sample_rate=22_050, text="")])

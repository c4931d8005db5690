"""Real speech models, loaded once per test session, and audio made from real speech."""

from __future__ import annotations

import asyncio
import io
import re
import string
from collections.abc import Iterator
from difflib import SequenceMatcher
from pathlib import Path

import av
import numpy as np
import pytest

from adapters.speech_piper import PiperTextToSpeech, to_ogg_opus_bytes, to_wav_bytes
from adapters.speech_whisper import FasterWhisperSpeechToText, assemble_whisper_base
from domain.models import Speech

FOX = "The quick brown fox jumps over the lazy dog."


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("speech-cache")


@pytest.fixture(scope="session")
def whisper_dir(whisper_cache: Path) -> Path:
    return assemble_whisper_base(whisper_cache)


@pytest.fixture(scope="session")
def stt(whisper_cache: Path, whisper_dir: Path) -> Iterator[FasterWhisperSpeechToText]:
    adapter = FasterWhisperSpeechToText(
        cache_dir=whisper_cache, model_dir=whisper_dir, cpu_threads=2, workers=1, preload=True
    )
    asyncio.run(adapter.start())
    yield adapter
    asyncio.run(adapter.aclose())


@pytest.fixture(scope="session")
def tts() -> Iterator[PiperTextToSpeech]:
    adapter = PiperTextToSpeech(preload=True)
    asyncio.run(adapter.start())
    yield adapter
    asyncio.run(adapter.aclose())


async def speak(tts: PiperTextToSpeech, text: str, **kwargs: str) -> list[Speech]:
    return [speech async for speech in tts.synthesize(text, **kwargs)]


@pytest.fixture(scope="session")
def fox_speech(tts: PiperTextToSpeech) -> list[Speech]:
    return asyncio.run(speak(tts, FOX))


@pytest.fixture(scope="session")
def fox_wav(fox_speech: list[Speech]) -> bytes:
    return to_wav_bytes(fox_speech)


@pytest.fixture(scope="session")
def fox_ogg(fox_speech: list[Speech]) -> bytes:
    return to_ogg_opus_bytes(fox_speech)


def encode(speeches: list[Speech], *, fmt: str, codec: str, rate: int) -> bytes:
    """Encode speech into another container with PyAV (what a user's app would send)."""
    pcm = b"".join(s.pcm for s in speeches)
    samples = np.frombuffer(pcm, dtype="<i2").reshape(1, -1)
    out = io.BytesIO()
    with av.open(out, mode="w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples, format="s16", layout="mono")
        frame.sample_rate = speeches[0].sample_rate
        resampler = av.AudioResampler(
            format=stream.codec_context.format.name, layout="mono", rate=rate
        )
        frame_size = stream.codec_context.frame_size or 1024
        fifo = av.AudioFifo()
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            fifo.write(resampled)
        while fifo.samples:
            chunk = fifo.read(min(frame_size, fifo.samples))
            if chunk is None:
                break
            container.mux(stream.encode(chunk))
        container.mux(stream.encode(None))
    return out.getvalue()


def words(text: str) -> list[str]:
    cleaned = text.lower().translate(str.maketrans("", "", string.punctuation))
    return re.findall(r"[a-z0-9']+", cleaned)


def similarity(heard: str, said: str) -> float:
    return SequenceMatcher(a=words(heard), b=words(said)).ratio()

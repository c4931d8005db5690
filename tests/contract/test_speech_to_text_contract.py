"""The SpeechToText contract: the fake and faster-whisper hear alike.

Each test runs against ``FakeSpeechToText`` (scripted with the words spoken) and
against ``FasterWhisperSpeechToText`` with the packaged Whisper base model, loaded
once for the session, hearing a short sentence spoken by the real Piper voice.
What only a real recogniser can tell (a silent clip, a clip over the length limit)
is tested with the adapter in ``tests/adapters/speech``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from adapters.speech_piper import PiperTextToSpeech, to_ogg_opus_bytes, to_wav_bytes
from adapters.speech_whisper import FasterWhisperSpeechToText, assemble_whisper_base
from domain.errors import SpeechError
from domain.models import Audio, Transcript
from tests.adapters.speech.conftest import FOX, similarity, speak
from tests.fakes.speech import FakeSpeechToText

pytestmark = pytest.mark.slow


class ClosableSpeechToText(Protocol):
    async def transcribe(self, audio: Audio, *, language: str | None = None) -> Transcript: ...
    async def aclose(self) -> None: ...


@dataclass
class Subject:
    stt: ClosableSpeechToText
    fresh: Callable[..., ClosableSpeechToText]  # another one, with other limits (max_bytes=)


@dataclass(frozen=True)
class Clips:
    wav: bytes
    ogg: bytes  # a voice message as Discord clients record it


@pytest.fixture(scope="module")
def clips() -> Clips:
    """``FOX`` spoken by the real Piper voice."""

    async def make() -> Clips:
        tts = PiperTextToSpeech(preload=True)
        await tts.start()
        try:
            speech = await speak(tts, FOX)
        finally:
            await tts.aclose()
        return Clips(wav=to_wav_bytes(speech), ogg=to_ogg_opus_bytes(speech))

    return asyncio.run(make())


@pytest.fixture(scope="session")
def whisper_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the packaged model is assembled, once for the session."""
    return tmp_path_factory.mktemp("contract-whisper")


@pytest.fixture(scope="session")
def whisper(whisper_cache: Path) -> Iterator[FasterWhisperSpeechToText]:
    """The real adapter with the packaged model, loaded once for the session."""
    adapter = whisper_adapter(whisper_cache, preload=True)
    asyncio.run(adapter.start())
    yield adapter
    asyncio.run(adapter.aclose())


def whisper_adapter(cache: Path, **options: object) -> FasterWhisperSpeechToText:
    return FasterWhisperSpeechToText(
        cache_dir=cache,
        model_dir=assemble_whisper_base(cache),
        cpu_threads=2,
        workers=1,
        **options,  # type: ignore[arg-type]
    )


Make = Callable[..., ClosableSpeechToText]


@pytest.fixture(params=["fake", "whisper"])
def recogniser(request: pytest.FixtureRequest) -> tuple[ClosableSpeechToText, Make]:
    """The one the test runs against, and how to make another (the real model is
    loaded only for the real one)."""
    if request.param == "fake":
        return FakeSpeechToText(FOX), lambda **limits: FakeSpeechToText(FOX, **limits)
    whisper: FasterWhisperSpeechToText = request.getfixturevalue("whisper")
    cache: Path = request.getfixturevalue("whisper_cache")
    # another adapter loads no model until it transcribes; refusals come before that
    return whisper, lambda **limits: whisper_adapter(cache, **limits)


@pytest.fixture
async def subject(
    recogniser: tuple[ClosableSpeechToText, Make],
) -> AsyncIterator[Subject]:
    stt, make = recogniser
    made: list[ClosableSpeechToText] = []

    def fresh(**limits: int) -> ClosableSpeechToText:
        made.append(make(**limits))
        return made[-1]

    yield Subject(stt, fresh)
    for other in made:
        await other.aclose()


async def refused(stt: ClosableSpeechToText, data: bytes) -> SpeechError:
    with pytest.raises(SpeechError) as refusal:
        await stt.transcribe(Audio(data, "clip.ogg", "audio/ogg"))
    assert refusal.value.user_message.strip()
    return refusal.value


# --------------------------------------------------------------------------- hearing


async def test_speech_is_transcribed_in_the_language_asked_segment_by_segment(
    subject: Subject, clips: Clips
) -> None:
    audio = Audio(clips.wav, "fox.wav", "audio/wav")

    transcript = await subject.stt.transcribe(audio, language="en")

    assert similarity(transcript.text, FOX) >= 0.8, transcript.text
    assert transcript.language == "en"
    assert transcript.duration > 0
    assert transcript.segments
    assert " ".join(s.text for s in transcript.segments if s.text) == transcript.text
    for segment in transcript.segments:
        assert 0.0 <= segment.start <= segment.end <= transcript.duration + 0.5


async def test_without_a_language_the_one_spoken_is_named(subject: Subject, clips: Clips) -> None:
    transcript = await subject.stt.transcribe(Audio(clips.ogg, "voice-message.ogg", "audio/ogg"))

    assert transcript.language == "en"
    assert similarity(transcript.text, FOX) >= 0.8, transcript.text


# --------------------------------------------------------------------------- refusals


async def test_an_empty_clip_is_refused(subject: Subject) -> None:
    error = await refused(subject.stt, b"")

    assert error.params["reason"] == "empty" and "empty" in error.user_message


@pytest.mark.parametrize(
    "data",
    [b"these are the minutes of Monday's meeting, not a recording", bytes(range(256)) * 8],
    ids=["text", "noise-bytes"],
)
async def test_bytes_that_are_no_sound_file_are_refused(subject: Subject, data: bytes) -> None:
    error = await refused(subject.stt, data)

    assert error.params["reason"] == "not_audio"


async def test_a_clip_over_the_size_limit_is_refused_with_the_limit(
    subject: Subject, clips: Clips
) -> None:
    limit = len(clips.ogg) - 1
    small = subject.fresh(max_bytes=limit)

    error = await refused(small, clips.ogg)

    assert error.params["reason"] == "too_big" and error.params["limit_bytes"] == limit
    assert "too big" in error.user_message


async def test_a_closed_recogniser_refuses_clips(subject: Subject, clips: Clips) -> None:
    closing = subject.fresh()
    await closing.aclose()
    await closing.aclose()

    error = await refused(closing, clips.ogg)

    assert error.params["reason"] == "closed"

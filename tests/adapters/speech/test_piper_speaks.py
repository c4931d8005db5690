"""Piper adapter with the real packaged voice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from adapters.speech_piper import PiperTextToSpeech, detect_language, split_sentences
from domain.errors import SpeechError
from domain.models import Speech

from .conftest import speak

pytestmark = pytest.mark.slow


def seconds(speeches: list[Speech]) -> float:
    return sum(len(s.pcm) / 2 / s.sample_rate for s in speeches)


async def test_speech_comes_sentence_by_sentence_at_the_voice_rate(
    tts: PiperTextToSpeech,
) -> None:
    text = "Hello there. How are you today? I hope the weather is kind to you!"

    speeches = await speak(tts, text)

    assert [s.text for s in speeches] == [
        "Hello there.",
        "How are you today?",
        "I hope the weather is kind to you!",
    ]
    assert all(s.sample_rate == 22_050 for s in speeches)
    assert all(0.3 < seconds([s]) < 5 for s in speeches)


async def test_first_sentence_arrives_before_the_rest_is_consumed(
    tts: PiperTextToSpeech,
) -> None:
    stream = tts.synthesize("One short sentence. " + "And a second, longer one follows it. " * 3)
    iterator = aiter(stream)

    first = await anext(iterator)
    await stream.aclose()  # stopping early is clean: the rest is never synthesized

    assert first.text == "One short sentence."
    assert first.pcm


@pytest.mark.parametrize("text", ["", "   \n\t "])
async def test_empty_text_is_refused(tts: PiperTextToSpeech, text: str) -> None:
    with pytest.raises(SpeechError, match="no text"):
        await speak(tts, text)


async def test_over_long_text_is_refused_with_the_limit(tts: PiperTextToSpeech) -> None:
    with pytest.raises(SpeechError, match="limit is 2000 characters"):
        await speak(tts, "word " * 500)


async def test_text_with_nothing_to_say_is_refused(tts: PiperTextToSpeech) -> None:
    with pytest.raises(SpeechError, match="nothing in that text"):
        await speak(tts, "... !!! ... 🙂")


async def test_russian_without_a_russian_voice_falls_back_to_the_default_voice(
    tts: PiperTextToSpeech,
) -> None:
    with capture_logs() as logs:
        speeches = await speak(tts, "Привет! Как дела?")

    assert speeches and all(s.pcm for s in speeches)
    assert tts.voice_path("ru") == tts.voice_path("en")
    assert {"event": "speech_voice_fallback", "language": "ru", "configured": False} in [
        {k: e[k] for k in ("event", "language", "configured") if k in e} for e in logs
    ]


async def test_a_missing_voice_file_falls_back_to_the_default_voice(
    tts: PiperTextToSpeech, tmp_path: Path
) -> None:
    default = tts.voice_path("en")
    with_broken_ru = PiperTextToSpeech(
        voices={"ru": tmp_path / "ru_RU-missing.onnx"}, default_voice=default
    )
    try:
        assert with_broken_ru.voice_path("ru") == tmp_path / "ru_RU-missing.onnx"

        speeches = await speak(with_broken_ru, "Привет!")

        assert speeches and speeches[0].pcm
    finally:
        await with_broken_ru.aclose()


async def test_explicit_language_wins_over_the_script(tts: PiperTextToSpeech) -> None:
    with capture_logs() as logs:
        await speak(tts, "Да.", language="en")
        await speak(tts, "Да.")

    started = [e["language"] for e in logs if e["event"] == "speech_started"]
    assert started == ["en", "ru"]


async def test_length_scale_from_settings_slows_speech(tts: PiperTextToSpeech) -> None:
    slow = PiperTextToSpeech(default_voice=tts.voice_path("en"), length_scale=1.6)
    try:
        normal_speech, slow_speech = await asyncio.gather(
            speak(tts, "Speak this sentence at two speeds."),
            speak(slow, "Speak this sentence at two speeds."),
        )
    finally:
        await slow.aclose()

    assert seconds(slow_speech) > 1.3 * seconds(normal_speech)


async def test_closed_synthesizer_refuses_work(tmp_path: Path) -> None:
    closed = PiperTextToSpeech(default_voice=tmp_path / "unused.onnx")
    await closed.aclose()

    with pytest.raises(SpeechError, match="shutting down"):
        await speak(closed, "Hello.")


def test_script_decides_the_language() -> None:
    assert detect_language("Привет, как дела?") == "ru"
    assert detect_language("Hello, how are you?") == "en"
    assert detect_language("Bonjour", default="fr") == "fr"
    assert detect_language("Say «привет» to everyone in the room") == "en"
    assert detect_language("12345 !!!") == "en"


def test_sentences_split_on_ends_and_lines_but_not_abbreviations() -> None:
    text = 'He said "hi." Then he left!  Dr. Smith stayed.\n- one\n- two 3.5 kg'

    assert split_sentences(text) == [
        'He said "hi."',
        "Then he left!",
        "Dr. Smith stayed.",
        "- one",
        "- two 3.5 kg",
    ]


def test_very_long_sentences_are_cut_into_speakable_pieces() -> None:
    sentence = ", ".join(["a clause that keeps going"] * 40) + "."

    pieces = split_sentences(sentence)

    assert len(pieces) > 1
    assert all(len(piece) <= 250 for piece in pieces)
    assert " ".join(pieces) == sentence


async def test_voice_memory_is_released_when_idle_and_speech_still_works(
    tts: PiperTextToSpeech,
) -> None:
    idle = PiperTextToSpeech(default_voice=tts.voice_path("en"), release_memory_after=0.0)
    try:
        await speak(idle, "A first answer to be spoken.")
        with capture_logs() as logs:
            for _ in range(50):  # the release runs in the worker pool right after
                await asyncio.sleep(0.01)
            speeches = await speak(idle, "And a second one afterwards.")
    finally:
        await idle.aclose()

    assert speeches and speeches[0].pcm
    events = [e["event"] for e in logs]
    assert "speech_memory_released" in events
    assert "speech_memory_release_failed" not in events

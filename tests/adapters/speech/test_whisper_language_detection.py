"""Language detection without a second encoder pass gives what faster-whisper gives."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim
from structlog.testing import capture_logs

from adapters.speech_piper import PiperTextToSpeech, to_wav_bytes
from adapters.speech_whisper import FasterWhisperSpeechToText, decode_audio
from adapters.speech_whisper.single_encode import SingleEncodeWhisperModel
from domain.models import Audio, Speech

from .conftest import speak

pytestmark = pytest.mark.slow

TALK = (
    "Welcome back to the workshop. This morning we will look at how the bot learns from "
    "the corrections that members send. Every correction is stored with the question and "
    "the better answer, and the trainers review them once a week. When enough of them are "
    "ready, a new training job starts, and the evaluation compares the new model with the "
    "one that is active today. If the scores improve, the new version becomes active. If "
    "they do not, nothing changes, and we look at the failing cases together. After the "
    "break we will try it on a small dataset, so please keep your laptops ready. Before "
    "we start, a few words about voice messages: the bot listens to them, writes down "
    "what it heard, and answers in the same channel. Long recordings take a little "
    "longer, so please be patient with it, and tell us when it gets a word wrong."
)
OPTIONS: dict[str, Any] = {"device": "cpu", "compute_type": "int8", "cpu_threads": 2}


@pytest.fixture(scope="module")
def models(whisper_dir: Path) -> tuple[WhisperModel, WhisperModel]:
    ours = SingleEncodeWhisperModel(str(whisper_dir), local_files_only=True, **OPTIONS)
    theirs = WhisperModel(str(whisper_dir), local_files_only=True, **OPTIONS)
    return ours, theirs


@pytest.fixture(scope="module")
def talk_speech(tts: PiperTextToSpeech) -> list[Speech]:
    return asyncio.run(speak(tts, TALK))


def samples(speeches: list[Speech], seconds: float | None = None) -> npt.NDArray[np.float32]:
    decoded = decode_audio(to_wav_bytes(speeches), max_seconds=300).samples
    return decoded if seconds is None else decoded[: int(seconds * 16_000)]


@pytest.fixture
def encoder_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts real encoder runs of every model (the subclass's go through the base class)."""
    passes: list[int] = []
    encode = WhisperModel.encode

    def counting(self: WhisperModel, features: np.ndarray) -> Any:
        passes.append(features.shape[-1])
        return encode(self, features)

    monkeypatch.setattr(WhisperModel, "encode", counting)
    return passes


def run(model: WhisperModel, audio: npt.NDArray[np.float32]) -> tuple[Any, list[tuple[Any, ...]]]:
    segments, info = model.transcribe(audio, language=None, vad_filter=True, beam_size=5)
    return info, [(s.start, s.end, s.text, s.tokens) for s in segments]


@pytest.mark.parametrize(
    ("clip", "seconds"),
    [("fox", None), ("talk", 12.0), ("talk", 40.0)],
    ids=["3s", "12s", "40s-two-windows"],
)
def test_same_language_and_segments_as_faster_whisper_with_one_encoder_pass_less(
    models: tuple[WhisperModel, WhisperModel],
    fox_speech: list[Speech],
    talk_speech: list[Speech],
    encoder_passes: list[int],
    clip: str,
    seconds: float | None,
) -> None:
    ours, theirs = models
    audio = samples(fox_speech if clip == "fox" else talk_speech, seconds)
    assert seconds is None or len(audio) == seconds * 16_000

    their_info, their_segments = run(theirs, audio)
    their_passes = len(encoder_passes)
    our_info, our_segments = run(ours, audio)
    our_passes = len(encoder_passes) - their_passes

    assert our_info.language == their_info.language == "en"
    assert our_segments == their_segments
    assert our_passes == their_passes - 1
    if seconds is not None and seconds >= 30:
        assert their_info.duration_after_vad > 30.1  # the VAD left more than a window
        # The first window is faster-whisper's own detection window: the same numbers.
        assert our_info.language_probability == their_info.language_probability
        assert our_info.all_language_probs == their_info.all_language_probs
    else:
        # Shorter audio: faster-whisper's detection window has one more 10 ms frame,
        # which moves the probabilities in the third decimal (and may swap two
        # languages far below 1 %).
        ours_by_code = dict(our_info.all_language_probs)
        theirs_by_code = dict(their_info.all_language_probs)
        assert ours_by_code.keys() == theirs_by_code.keys()
        assert max(abs(p - theirs_by_code[code]) for code, p in ours_by_code.items()) < 0.01
        assert our_info.language_probability == ours_by_code["en"]


def test_a_set_language_is_not_detected(
    models: tuple[WhisperModel, WhisperModel], fox_speech: list[Speech], encoder_passes: list[int]
) -> None:
    ours, theirs = models
    audio = samples(fox_speech)

    their_segments, _ = theirs.transcribe(audio, language="en", beam_size=5)
    their_texts = [s.text for s in their_segments]
    our_segments, _ = ours.transcribe(audio, language="en", beam_size=5)

    assert [s.text for s in our_segments] == their_texts
    assert len(encoder_passes) == 2  # one window each


def test_the_kept_output_serves_only_the_detected_window_and_only_once(
    models: tuple[WhisperModel, WhisperModel], fox_speech: list[Speech], encoder_passes: list[int]
) -> None:
    ours, _ = models
    features = ours.feature_extractor(samples(fox_speech))
    first_window = pad_or_trim(features[:, : features.shape[-1] - 1])

    ours.detect_language(features=features)
    ours.encode(np.zeros_like(first_window))  # another window: encoded anew
    ours.encode(first_window)  # the kept output was dropped by the call before

    assert len(encoder_passes) == 3


async def test_the_adapter_detects_without_a_second_encoder_pass(
    stt: FasterWhisperSpeechToText, fox_speech: list[Speech], encoder_passes: list[int]
) -> None:
    with capture_logs() as logs:
        transcript = await stt.transcribe(Audio(to_wav_bytes(fox_speech), "fox.wav"))

    assert transcript.language == "en"
    assert len(encoder_passes) == 1
    finished = next(e for e in logs if e["event"] == "transcription_finished")
    assert finished["language"] == "en"
    assert 0.5 < finished["language_probability"] <= 1

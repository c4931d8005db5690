"""The pieces of voice playback: framing, sentence cutting, the PCM source, the tap."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import numpy as np
import pytest

from adapters.discord.bot import tap_stream
from adapters.discord.voice import (
    FRAME_BYTES,
    FrameCutter,
    FrameSource,
    SentenceCutter,
    speakable,
)
from domain.errors import ModelUnavailable
from domain.models import Actor, Ending, Place, Prediction, Usage, new_id, utcnow
from domain.services.chat import AnswerStream


def tone(hz: float, seconds: float, rate: int) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * hz * t) * 12_000).astype("<i2").tobytes()


def dominant_hz(frames: list[bytes]) -> float:
    stereo = np.frombuffer(b"".join(frames), dtype="<i2").reshape(-1, 2)
    left = stereo[:, 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(left))
    return float(np.fft.rfftfreq(left.size, 1 / 48_000)[spectrum.argmax()])


# ------------------------------------------------------------------- frames


def test_piper_audio_becomes_20_ms_stereo_48_khz_frames_of_the_same_length() -> None:
    cutter = FrameCutter()
    frames = cutter.feed(tone(440, 1.0, 22_050), 22_050) + cutter.finish()

    assert all(len(f) == FRAME_BYTES == 3_840 for f in frames)
    assert 50 <= len(frames) <= 51  # one second
    stereo = np.frombuffer(b"".join(frames), dtype="<i2").reshape(-1, 2)
    assert np.array_equal(stereo[:, 0], stereo[:, 1])


def test_resampling_keeps_the_pitch() -> None:
    cutter = FrameCutter()
    frames = cutter.feed(tone(1_000, 0.5, 22_050), 22_050) + cutter.finish()

    assert dominant_hz(frames) == pytest.approx(1_000, abs=5)


def test_pieces_fed_one_by_one_join_like_one_signal() -> None:
    whole = tone(300, 0.6, 22_050)
    together = FrameCutter()
    expected = together.feed(whole, 22_050) + together.finish()
    in_pieces = FrameCutter()
    got: list[bytes] = []
    for start in range(0, len(whole), 1_001):  # odd sizes split samples in half
        got += in_pieces.feed(whole[start : start + 1_001], 22_050)
    got += in_pieces.finish()

    assert len(got) == len(expected)
    joined = np.frombuffer(b"".join(got), dtype="<i2").astype(np.int32)
    reference = np.frombuffer(b"".join(expected), dtype="<i2").astype(np.int32)
    assert np.abs(joined - reference).max() <= 2  # rounding only: no clicks, no lost samples


def test_48_khz_audio_passes_through_and_the_tail_is_padded_with_silence() -> None:
    pcm = tone(200, 0.03, 48_000)  # 1.5 frames
    cutter = FrameCutter()
    frames = cutter.feed(pcm, 48_000) + cutter.finish()

    assert len(frames) == 2
    left = np.frombuffer(b"".join(frames), dtype="<i2")[::2]
    assert left[:1_440].tobytes() == pcm and not left[1_440:].any()


def test_a_bad_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="sample rate"):
        FrameCutter().feed(b"\x00\x00", 0)


# ------------------------------------------------------------------- sentences


def test_a_sentence_is_released_as_soon_as_the_next_word_starts() -> None:
    cutter = SentenceCutter()

    assert cutter.feed("The capital of France") == []
    assert cutter.feed(" is Paris.") == []  # could still be "Paris.com"
    assert cutter.feed(" It lies") == ["The capital of France is Paris."]
    assert cutter.feed(" on the Seine.") == []
    assert cutter.flush() == ["It lies on the Seine."]


def test_abbreviations_decimals_and_initials_do_not_end_a_sentence() -> None:
    cutter = SentenceCutter()

    got = cutter.feed("Use e.g. Python 3.11 with Dr. J. Smith. Then rest. ")

    assert got == ["Use e.g. Python 3.11 with Dr. J. Smith.", "Then rest."]


def test_a_short_word_before_the_full_stop_still_ends_the_sentence() -> None:
    assert SentenceCutter().feed("The answer is no. I checked.") == ["The answer is no."]


def test_a_long_first_sentence_starts_at_its_first_long_enough_clause() -> None:
    cutter = SentenceCutter(first_clause=30)
    text = "Yes, here is a summary of what changed this week, and why it matters, in short. "

    assert cutter.feed(text + "More, later, then.") == [
        "Yes, here is a summary of what changed this week,",
        "and why it matters, in short.",
    ]
    assert cutter.flush() == ["More, later, then."]  # only the first piece is cut early


def test_line_breaks_end_a_piece_and_markdown_is_not_read_aloud() -> None:
    cutter = SentenceCutter()

    got = (
        cutter.feed("## Steps\n* **Open** the [docs](http://x.y/z)\n---\n```py\n") + cutter.flush()
    )

    assert got == ["Steps", "Open the docs"]  # the fence and its language are not read
    assert speakable("--- *** ...") == ""


def test_text_without_an_end_is_cut_at_a_comma_before_it_grows_too_long() -> None:
    cutter = SentenceCutter(soft_limit=40, hard_limit=60)

    got = cutter.feed("one two three four five six seven eight nine ten, eleven twelve thirteen")

    assert got == ["one two three four five six seven eight nine ten,"]
    assert cutter.flush() == ["eleven twelve thirteen"]


# ------------------------------------------------------------------- source


def test_the_source_fills_gaps_with_silence_until_it_is_finished() -> None:
    source = FrameSource()
    frame = b"\x01" * FRAME_BYTES
    source.push([frame])

    assert source.read() == frame
    assert source.read() == bytes(FRAME_BYTES)  # waiting for the next sentence
    source.push([frame])
    source.finish()
    assert source.read() == frame
    assert source.read() == b""
    assert (source.played, source.underruns) == (2, 1)
    assert source.is_opus() is False


def test_stopping_the_source_ends_it_at_once() -> None:
    source = FrameSource()
    source.push([b"\x01" * FRAME_BYTES] * 50)

    source.stop()

    assert source.read() == b"" and source.pending == 0


def test_a_frame_of_the_wrong_size_is_refused() -> None:
    with pytest.raises(ValueError, match="3840"):
        FrameSource().push([b"\x00" * 100])


# ------------------------------------------------------------------- the answer tap


class Sink:
    def __init__(self) -> None:
        self.pieces: list[str] = []
        self.closed: bool | None = None

    def feed(self, piece: str) -> None:
        self.pieces.append(piece)

    def close(self, *, complete: bool) -> None:
        self.closed = complete


def answer(
    pieces: list[str], *, fail: bool = False, stored: Prediction | None = None
) -> AnswerStream:
    async def generate(stream: AnswerStream) -> AsyncGenerator[str, None]:
        for piece in pieces:
            yield piece
        if fail:
            raise ModelUnavailable("down")
        stream.prediction = stored or "stored"  # type: ignore[assignment]

    return AnswerStream(generate)


def cut_prediction(text: str) -> Prediction:
    return Prediction(
        id=new_id(),
        conversation_id="c",
        prompt="q",
        context=(),
        answer=text,
        model_version="base",
        latency_ms=1.0,
        usage=Usage(),
        author=Actor("u", "u"),
        place=Place("c"),
        created_at=utcnow(),
        ending=Ending.CUT,
    )


async def test_an_answer_stored_as_cut_off_is_spoken_with_the_note() -> None:
    sink = Sink()
    stored = cut_prediction("Hello there, my fri")
    tapped = tap_stream(
        answer(["Hello there, ", "my fri"], stored=stored), lambda: sink, cut_note="Cut off."
    )

    async with tapped:
        got = [piece async for piece in tapped]

    assert got == ["Hello there, ", "my fri"]  # the text itself carries no note
    assert sink.pieces == ["Hello there, ", "my fri", "… Cut off."]
    assert sink.closed is True and tapped.prediction is stored


async def test_the_tap_sees_every_piece_and_keeps_the_prediction() -> None:
    sink = Sink()
    tapped = tap_stream(answer(["Hello ", "there."]), lambda: sink)

    async with tapped:
        got = [piece async for piece in tapped]

    assert got == sink.pieces == ["Hello ", "there."]
    assert tapped.prediction == "stored" and sink.closed is True


async def test_an_interrupted_answer_closes_the_sink_as_incomplete() -> None:
    sink = Sink()
    tapped = tap_stream(answer(["Hello "], fail=True), lambda: sink)

    with pytest.raises(ModelUnavailable):
        async with tapped:
            async for _ in tapped:
                pass

    assert sink.pieces == ["Hello "] and sink.closed is False


async def test_no_sink_is_opened_for_an_answer_never_read() -> None:
    opened: list[bool] = []

    tap_stream(answer(["x"]), lambda: opened.append(True) or None)

    assert opened == []

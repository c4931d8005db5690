"""faster-whisper adapter against real speech made by the real Piper voice."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import numpy as np
import pytest
from structlog.testing import capture_logs

from adapters.speech_whisper import FasterWhisperSpeechToText
from domain.errors import SpeechError
from domain.models import Audio, Speech

from .conftest import FOX, encode, similarity

pytestmark = pytest.mark.slow


async def test_piper_speech_transcribes_back_to_the_same_words(
    stt: FasterWhisperSpeechToText, fox_wav: bytes
) -> None:
    transcript = await stt.transcribe(Audio(fox_wav, "fox.wav", "audio/wav"), language="en")

    assert similarity(transcript.text, FOX) >= 0.8, transcript.text
    assert transcript.language == "en"
    assert transcript.segments
    assert transcript.segments[-1].end <= transcript.duration + 0.5


async def test_language_is_detected_as_english_with_the_clip_duration(
    stt: FasterWhisperSpeechToText, fox_ogg: bytes, fox_speech: list[Speech]
) -> None:
    spoken = sum(len(s.pcm) / 2 / s.sample_rate for s in fox_speech)

    transcript = await stt.transcribe(Audio(fox_ogg, "voice-message.ogg", "audio/ogg"))

    assert transcript.language == "en"
    assert similarity(transcript.text, FOX) >= 0.8, transcript.text
    assert transcript.duration == pytest.approx(spoken, abs=0.1)


@pytest.mark.parametrize(
    ("fmt", "codec", "rate"),
    [
        ("flac", "flac", 22_050),
        ("mp3", "libmp3lame", 22_050),
        ("webm", "libopus", 48_000),
        ("ipod", "aac", 22_050),  # .m4a
    ],
)
async def test_common_audio_files_transcribe(
    stt: FasterWhisperSpeechToText, fox_speech: list[Speech], fmt: str, codec: str, rate: int
) -> None:
    data = encode(fox_speech, fmt=fmt, codec=codec, rate=rate)

    transcript = await stt.transcribe(Audio(data, f"fox.{fmt}"), language="en")

    assert similarity(transcript.text, FOX) >= 0.8, (fmt, transcript.text)


async def test_transcription_runs_off_the_event_loop_and_logs_its_queue(
    stt: FasterWhisperSpeechToText, fox_ogg: bytes
) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticking = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    with capture_logs() as logs:
        started = time.perf_counter()
        first, second = await asyncio.gather(
            stt.transcribe(Audio(fox_ogg), language="en"),
            stt.transcribe(Audio(fox_ogg), language="en"),
        )
        elapsed = time.perf_counter() - started
    ticking.cancel()

    assert similarity(first.text, FOX) >= 0.8
    assert first.text == second.text
    queued = [e["queue_length"] for e in logs if e["event"] == "transcription_queued"]
    assert queued == [1, 2]  # one worker: the second waits behind the first
    # A blocked loop would tick at most once or twice; a free one ticks ~100 times a second.
    assert elapsed > 0.5
    assert ticks >= 10, (ticks, elapsed)


async def test_digital_silence_is_no_speech(stt: FasterWhisperSpeechToText) -> None:
    silence = encode(
        [Speech(pcm=bytes(2 * 16_000 * 3), sample_rate=16_000, text="")],
        fmt="wav",
        codec="pcm_s16le",
        rate=16_000,
    )

    with pytest.raises(SpeechError, match="no speech"):
        await stt.transcribe(Audio(silence, "silence.wav"))


async def test_quiet_hum_without_words_is_no_speech(stt: FasterWhisperSpeechToText) -> None:
    rng = np.random.default_rng(7)
    noise = (rng.standard_normal(16_000 * 2) * 60).astype("<i2")
    hum = encode(
        [Speech(pcm=noise.tobytes(), sample_rate=16_000, text="")],
        fmt="wav",
        codec="pcm_s16le",
        rate=16_000,
    )

    with pytest.raises(SpeechError, match="no speech"):
        await stt.transcribe(Audio(hum, "hum.wav"), language="en")


async def test_empty_bytes_are_refused(stt: FasterWhisperSpeechToText) -> None:
    with pytest.raises(SpeechError, match="empty"):
        await stt.transcribe(Audio(b""))


@pytest.mark.parametrize(
    "data",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
        b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
        b"\x00\x00\x00IEND\xaeB`\x82",
        b"Dear bot, this is a text file and not a recording at all.\n" * 20,
        bytes(range(256)) * 40,
    ],
    ids=["png", "text", "garbage"],
)
async def test_non_audio_is_refused_with_a_clear_message(
    stt: FasterWhisperSpeechToText, data: bytes
) -> None:
    with pytest.raises(SpeechError) as caught:
        await stt.transcribe(Audio(data, "upload.bin"))

    assert "not a sound file" in caught.value.user_message


async def test_truncated_voice_message_is_refused(
    stt: FasterWhisperSpeechToText, fox_ogg: bytes
) -> None:
    with pytest.raises(SpeechError, match="damaged"):
        await stt.transcribe(Audio(fox_ogg[:120], "voice-message.ogg"))


async def test_too_long_audio_is_refused_before_the_model_loads(
    fox_ogg: bytes, fox_wav: bytes, tmp_path: Path
) -> None:
    # A model directory that does not exist: loading it would fail differently.
    short = FasterWhisperSpeechToText(
        cache_dir=tmp_path, model_dir=tmp_path / "absent", max_seconds=1
    )
    try:
        for data in (fox_wav, fox_ogg):
            with pytest.raises(SpeechError, match="too long: the limit is 1 second"):
                await short.transcribe(Audio(data))
    finally:
        await short.aclose()


async def test_too_big_file_is_refused(tmp_path: Path, fox_wav: bytes) -> None:
    small = FasterWhisperSpeechToText(cache_dir=tmp_path, max_bytes=1024)
    try:
        with pytest.raises(SpeechError, match="too big"):
            await small.transcribe(Audio(fox_wav))
    finally:
        await small.aclose()


async def test_missing_model_directory_is_a_clear_error(tmp_path: Path, fox_wav: bytes) -> None:
    broken = FasterWhisperSpeechToText(cache_dir=tmp_path, model_dir=tmp_path / "absent")
    try:
        with pytest.raises(SpeechError, match="could not be loaded"):
            await broken.transcribe(Audio(fox_wav))
    finally:
        await broken.aclose()


async def test_closed_adapter_refuses_work(tmp_path: Path, fox_wav: bytes) -> None:
    closed = FasterWhisperSpeechToText(cache_dir=tmp_path)
    await closed.aclose()

    with pytest.raises(SpeechError, match="shutting down"):
        await closed.transcribe(Audio(fox_wav))


async def test_idle_trigger_fires_once_after_the_last_job_and_not_while_busy() -> None:
    from adapters.speech_whisper.memory import IdleTrigger

    fired: list[int] = []
    trigger = IdleTrigger(0.01, lambda: fired.append(1))

    trigger.idle()
    trigger.busy()  # work started again before the delay ran out
    await asyncio.sleep(0.05)
    assert fired == []

    trigger.idle()
    await asyncio.sleep(0.05)
    assert fired == [1]


async def test_idle_trigger_can_be_switched_off() -> None:
    from adapters.speech_whisper.memory import IdleTrigger

    fired: list[int] = []
    trigger = IdleTrigger(None, lambda: fired.append(1))

    trigger.idle()
    await asyncio.sleep(0.02)

    assert fired == []

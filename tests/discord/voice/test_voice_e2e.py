"""End to end: the bot joins a voice channel through the emulator and speaks answers;
the audio captured at the emulator's UDP side is transcribed back with Whisper."""

from __future__ import annotations

from typing import Any

from adapters.speech_whisper import FasterWhisperSpeechToText
from tests.discord.voice.conftest import VoiceHarness, heard_fraction, transcribe
from tests.discord_emulator.voice_udp import cadence

ANSWER = "The capital of France is Paris. It lies on the river Seine."


async def test_an_answer_to_a_member_in_the_voice_channel_is_written_and_spoken(
    start_voice: Any, stt: FasterWhisperSpeechToText
) -> None:
    v: VoiceHarness = await start_voice()
    v.h.llm.reply = lambda messages: ANSWER
    await v.join()

    reply = await v.h.reply(v.h.command("ask", {"prompt": "What is the capital of France?"}))
    assert reply.content.startswith("The capital of France is Paris.")
    await v.server.wait_for(lambda: any(p.silence_marker for p in v.server.packets), timeout=20)

    runs = v.server.utterances()
    assert len(runs) == 1
    heard = await transcribe(stt, runs[0])
    assert heard_fraction(heard, ANSWER) >= 0.7, heard
    assert v.bot_voice_channel() == v.voice.id  # still connected after the answer


async def test_packets_inside_an_utterance_come_every_20_ms_without_gaps(
    start_voice: Any,
) -> None:
    v: VoiceHarness = await start_voice()
    v.h.llm.reply = lambda messages: ANSWER + " Paris has about two million people."
    await v.join()

    await v.h.reply(v.h.command("ask", {"prompt": "Tell me about Paris"}))
    await v.server.wait_for(lambda: any(p.silence_marker for p in v.server.packets), timeout=20)

    [run] = v.server.utterances()
    shape = cadence(run)
    assert shape.packets > 150  # several seconds of speech
    assert shape.sequence_ok and shape.timestamps_ok
    assert 0.015 <= shape.median_gap <= 0.025
    # discord.py paces against an absolute schedule: a late packet is followed by a
    # quicker one, so the whole utterance keeps 20 ms per packet. A hole (playback
    # waiting for speech) would show as a long gap and a longer span.
    assert shape.max_gap < 0.25, shape
    assert abs(shape.span - shape.expected_span) < 0.25, shape


async def test_say_speaks_in_the_voice_channel(
    start_voice: Any, stt: FasterWhisperSpeechToText
) -> None:
    v: VoiceHarness = await start_voice()
    await v.join()

    handle = v.h.command("say", {"text": "Good morning, everybody."})
    reply = await v.h.reply(handle)
    assert v.voice.name in reply.content and reply.ephemeral
    await v.server.wait_for(lambda: any(p.silence_marker for p in v.server.packets), timeout=20)

    heard = await transcribe(stt, v.server.utterances()[0])
    assert heard_fraction(heard, "Good morning, everybody.") >= 0.5, heard

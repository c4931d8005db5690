"""The event loop stays responsive while Whisper transcribes and the bot speaks."""

from __future__ import annotations

import asyncio
from typing import Any

from adapters.speech_piper import PiperTextToSpeech, to_wav_bytes
from adapters.speech_whisper import FasterWhisperSpeechToText
from domain.models import Audio
from tests.discord.voice.conftest import VoiceHarness

STORY = " ".join(f"Part {n} of the story goes on for a little while longer." for n in range(8))


async def test_interactions_are_acknowledged_in_time_while_transcribing_and_speaking(
    start_voice: Any, stt: FasterWhisperSpeechToText, tts: PiperTextToSpeech
) -> None:
    v: VoiceHarness = await start_voice()
    v.h.llm.reply = lambda messages: "Fine, thanks."
    clip = to_wav_bytes(
        [s async for s in tts.synthesize("Testing one two three, can you hear me?")]
    )
    await v.join()
    await v.h.reply(v.h.command("say", {"text": STORY}))
    await v.server.wait_for(lambda: len(v.server.audio_packets()) >= 10, timeout=15)

    transcriptions = [
        asyncio.create_task(stt.transcribe(Audio(clip, f"clip{n}.wav", "audio/wav")))
        for n in range(3)
    ]
    handles = []
    for n in range(6):
        handles.append(v.h.command("ask", {"prompt": f"how are you {n}?"}, user=v.h.member))
        handles.append(v.h.command("hi", user=v.h.member))
        await asyncio.sleep(0.3)
    for handle in handles:
        await handle.acknowledged(timeout=10)
    heard = await asyncio.gather(*transcriptions)

    latencies = [handle.ack_latency for handle in handles]
    assert all(latency is not None and latency < 3.0 for latency in latencies), latencies
    assert all("hear" in t.text.lower() for t in heard), [t.text for t in heard]
    assert len(v.server.audio_packets()) > 100  # the bot kept speaking meanwhile

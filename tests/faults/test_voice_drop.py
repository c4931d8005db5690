"""The voice connection lost while the bot speaks an answer, through the emulator.

The bot is disconnected from the channel while it speaks (Discord closes the voice
websocket with 4014 and the bot's voice state goes to None: an admin disconnected it,
or the channel was deleted): playback ends, the written answer stands exactly once,
nothing waits forever, and the bot speaks again once it is called back. A session the
voice server drops (close 4006): the written answer is whole and once, nothing waits;
the spoken rest is lost (docs/reliability.md says why).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.discord.voice.conftest import VoiceHarness, start_voice, tts, voice_server
from tests.discord_emulator.voice import VoiceConnection
from tests.discord_emulator.voice_udp import utterances

__all__ = ["start_voice", "tts", "voice_server"]

pytestmark = pytest.mark.faults

ANSWER = " ".join(f"Part {n} of the answer goes on for a little while." for n in range(8))
QUESTION = "Tell me a long story"


def answers_posted(v: VoiceHarness) -> int:
    """Messages in the text channel that hold the answer (a placeholder edited in place
    counts once)."""
    return sum("Part 0 of the answer" in m.content for m in v.h.emulator.messages_in(v.h.general))


async def speaking(v: VoiceHarness) -> VoiceConnection:
    """Waits until the answer's audio flows, then returns the live connection."""
    await v.h.reply(v.h.command("ask", {"prompt": QUESTION}))
    await v.server.wait_for(lambda: len(v.server.audio_packets()) >= 25, timeout=20)
    [connection] = v.server.live(v.h.guild.id)
    return connection


async def test_being_disconnected_mid_answer_ends_the_playback_and_the_bot_can_speak_again(
    start_voice: Any,
) -> None:
    v: VoiceHarness = await start_voice()
    v.h.llm.reply = lambda messages: ANSWER
    await v.join()
    connection = await speaking(v)

    await v.server.drop(connection, code=4014)

    await v.h.settled(v.left, timeout=10)
    await v.h.settled(lambda: not v.cog.speakers, timeout=10)
    assert answers_posted(v) == 1  # the written answer stands, once

    # a trainer calls the bot back: it joins and speaks, nothing of the old answer queued
    await v.join()
    [fresh] = v.server.live(v.h.guild.id)
    await v.h.reply(v.h.command("say", {"text": "I am back."}))
    await v.server.wait_for(
        lambda: any(p.silence_marker for p in v.server.packets_for(fresh)), timeout=15
    )
    [run] = utterances(v.server.packets_for(fresh))  # only "I am back.", nothing of the old answer
    assert len(run) > 20


async def test_a_voice_session_dropped_mid_answer_leaves_the_written_answer_whole_and_once(
    start_voice: Any,
) -> None:
    """The voice server drops the session (4006). discord.py reconnects in the background
    (see docs/reliability.md: not within the connect timeout yet); what the issue asks
    holds: the written answer arrives once, whole, with its buttons, and nothing is left
    waiting — the guild's speaker is closed, not stuck on the lost connection."""
    v: VoiceHarness = await start_voice()
    v.h.llm.reply = lambda messages: ANSWER
    await v.join()
    handle = v.h.command("ask", {"prompt": QUESTION})
    await v.server.wait_for(lambda: len(v.server.audio_packets()) >= 25, timeout=20)
    [connection] = v.server.live(v.h.guild.id)

    await v.server.drop(connection, code=4006)

    answer = await v.h.reply(handle, timeout=15)
    assert answer.content.startswith("Part 0 of the answer")
    assert "Part 7 of the answer" in answer.content and answer.custom_ids()
    assert answers_posted(v) == 1
    await v.h.settled(lambda: not v.cog.speakers, timeout=10)

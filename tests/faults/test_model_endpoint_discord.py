"""The Discord bot against a misbehaving model endpoint: ``/ask`` and a voice message.

The real bot logged in to the emulator, answering with the real ``OpenAIChatModel``
pointed at the misbehaving stand-in. Each fault: the one line the user needs, in
the place the answer would have been; no traceback, no "thinking…" left, the key
nowhere (messages, logs, stored rows), nothing half-stored, a bounded wait, and the
next question answered.
"""

from __future__ import annotations

import logging
import time

import pytest
from structlog.testing import capture_logs

from tests.discord.conftest import Harness
from tests.discord_emulator import Channel, UploadFile
from tests.faults.conftest import (
    CAP,
    DEADLINE,
    FAULT_PARAMS,
    NEXT,
    SECRET,
    SLACK,
    TRIGGER,
    Fault,
    Start,
    leaks,
    shown,
)

pytestmark = pytest.mark.faults

OGG = b"OggS" + bytes(2000)  # a voice message, as the bot sees it


def said_in(h: Harness, channel: Channel) -> str:
    return "\n".join(m.content for m in h.emulator.bot_messages(channel))


def assert_told_once(fault: Fault, text: str) -> None:
    assert text.count(fault.says) == 1, text
    assert "Something went wrong" not in text and "Traceback" not in text, text
    assert SECRET not in text


def assert_stored(h: Harness, fault: Fault, prompt: str) -> None:
    """The faulty turn: stored and marked when it was cut off, else not at all."""
    faulty = [p for p in h.predictions() if p.prompt == prompt]
    if fault.stored is None or fault.behaviour is None:
        assert faulty == []
        return
    [prediction] = faulty
    assert prediction.ending is fault.stored
    assert 0 < len(prediction.answer) <= CAP


@pytest.mark.parametrize("fault", FAULT_PARAMS)
async def test_ask_answers_with_one_clear_line_whatever_the_endpoint_does(
    fault: Fault, faulty_bot: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        h = await faulty_bot(fault)
        prompt = f"{TRIGGER} what is the meaning of it all"
        started = time.monotonic()
        handle = h.command("ask", {"prompt": prompt}, user=h.member)
        await h.settled(lambda: fault.says in shown(handle), timeout=DEADLINE + SLACK)
        if fault.stored is not None:  # the cut-off answer keeps its buttons
            await h.settled(lambda: any(p.message_id for p in h.predictions()))
        elapsed = time.monotonic() - started
        again = None
        if fault.behaviour is not None:
            again = await h.reply(h.command("ask", {"prompt": NEXT}, user=h.member))

    assert elapsed < DEADLINE + SLACK
    text = shown(handle)
    assert_told_once(fault, text)
    original = handle.record.original
    assert original is not None and not original.loading  # no "thinking…" left
    assert_stored(h, fault, prompt)
    if fault.stored is not None:
        [prediction] = [p for p in h.predictions() if p.prompt == prompt]
        assert prediction.answer in text.replace("\n", "")  # shown, then marked
    if again is not None:
        assert again.content == f"echo: {NEXT}"
    assert leaks(SECRET, caplog.text, logs, h.db.committed) == []


@pytest.mark.parametrize("fault", FAULT_PARAMS)
async def test_a_voice_message_is_answered_with_one_clear_line_whatever_the_endpoint_does(
    fault: Fault, faulty_bot: Start, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with capture_logs() as logs:
        h = await faulty_bot(fault)
        prompt = f"{TRIGGER} said out loud"
        h.speech.text = prompt
        dm = h.emulator.dm_channel(h.member)
        voice = UploadFile("voice-message.ogg", OGG, "audio/ogg", duration_secs=2.0)
        started = time.monotonic()
        h.emulator.post_message(dm, h.member, attachments=[voice], voice_message=True)
        await h.settled(lambda: fault.says in said_in(h, dm), timeout=DEADLINE + SLACK)
        elapsed = time.monotonic() - started

    assert elapsed < DEADLINE + SLACK
    text = said_in(h, dm)
    assert_told_once(fault, text)
    assert f"> {prompt}" in text  # what was heard is quoted above
    assert "\n\n\n" not in text  # no empty answer between the quote and the line
    assert_stored(h, fault, prompt)
    assert leaks(SECRET, caplog.text, logs, h.db.committed) == []

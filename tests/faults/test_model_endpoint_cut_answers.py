"""A cut-off answer from the endpoint, through feedback: rated and corrected, never learned.

The stand-in ends its stream cleanly after two pieces, with no ``finish_reason`` and no
``[DONE]`` (before the fix such an answer was stored, rated, corrected and exported as
whole). 👍 is kept as feedback and the user is told the answer is never used to teach;
a correction becomes an example whose answer is the correction, without the cut-off
text as its rejected side, so it is in no DPO pair.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from domain.models import Ending, Rating
from tests.discord_emulator.records import CALLBACK_MODAL
from tests.faults.conftest import FAULTS, TRIGGER, Start, chat, endpoint_for, shown
from tests.standins.openai_server import OpenAIStandin

pytestmark = pytest.mark.faults

CUT = next(fault for fault in FAULTS if fault.stored is Ending.CUT)
CUT_TEXT = "echo: FAULTY "  # the two pieces before the stream ended


async def test_in_the_terminal_a_cut_answer_is_rated_and_corrected_but_never_learned(
    standin: OpenAIStandin, tmp_path: Path
) -> None:
    script = "\n".join(
        [
            f"{TRIGGER} what is the meaning of it all",
            "/good",
            "/correct The whole answer, at last.",
            "/dataset export corrections --format dpo",
            "/dataset export corrections --format sft",
        ]
    )
    code, text, _ = await chat(tmp_path, endpoint_for(CUT, standin), script + "\n")

    assert code == 0, text
    assert "answer cut off: the model's stream broke off before the end" in text
    assert "That answer was cut off, so it is never used to teach the bot." in text
    assert "not kept as the rejected answer" in text
    assert "no preference pairs" in text  # DPO: the cut answer is in no pair
    with sqlite3.connect(tmp_path / "trainerbot.db") as db:
        (rating,) = db.execute("SELECT rating FROM feedback").fetchone()
        examples = db.execute("SELECT answer, rejected FROM examples").fetchall()
    assert rating == int(Rating.UP)
    assert examples == [("The whole answer, at last.", None)]
    [sft] = (tmp_path / "artifacts").rglob("*sft*.jsonl")
    exported = sft.read_text(encoding="utf-8")
    assert "The whole answer, at last." in exported and CUT_TEXT not in exported


async def test_on_discord_a_cut_answer_keeps_its_buttons_and_says_what_they_do(
    faulty_bot: Start,
) -> None:
    h = await faulty_bot(CUT)
    handle = h.command("ask", {"prompt": f"{TRIGGER} tell me all"}, user=h.member)
    prediction = await h.settled(lambda: next((p for p in h.predictions() if p.message_id), None))
    answer = await h.reply(handle)
    assert prediction.ending is Ending.CUT
    assert "the answer was cut off" in shown(handle)
    assert answer.custom_ids()[0] == f"tb:rate:up:{prediction.id}"

    thanks = await h.reply(
        h.emulator.invoke_component(answer, f"tb:rate:up:{prediction.id}", user=h.member)
    )
    click = h.emulator.invoke_component(answer, f"tb:correct:{prediction.id}", user=h.trainer)
    assert await click.acknowledged() == CALLBACK_MODAL
    corrected = await h.reply(h.emulator.submit_modal(click, {"tb:fix:answer": "All of it."}))

    assert thanks.ephemeral and "never used to teach the bot" in thanks.content
    assert corrected.ephemeral and "not kept as the rejected answer" in corrected.content
    [example] = h.db.committed.examples["corrections"]
    assert (example.answer, example.rejected) == ("All of it.", None)

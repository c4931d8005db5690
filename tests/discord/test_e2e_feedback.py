"""Feedback and corrections, always tied to the prediction of that exact message."""

from __future__ import annotations

from domain.models import ExampleSource, Rating
from tests.discord.conftest import Harness
from tests.discord_emulator import StoredMessage
from tests.discord_emulator.records import CALLBACK_MODAL


async def asked(h: Harness, prompt: str = "What is 2+2?") -> StoredMessage:
    h.llm.reply = lambda messages: "It is 5."
    return await h.reply(h.command("ask", {"prompt": prompt}, user=h.member))


def corrections(h: Harness) -> list[object]:
    return list(h.db.committed.examples.get("corrections", []))


def proposed(h: Harness) -> list[str | None]:
    """The answers members proposed, waiting for review."""
    return [p.proposed_answer for p in h.db.committed.proposals.values()]


async def test_thumbs_up_is_stored_for_the_prediction_of_that_message(h: Harness) -> None:
    answer = await asked(h)
    [prediction] = h.predictions()
    click = h.emulator.invoke_component(answer, f"tb:rate:up:{prediction.id}", user=h.trainer)
    thanks = await h.reply(click)
    assert thanks.ephemeral and "Thanks" in thanks.content
    [feedback] = h.db.committed.feedback
    assert (feedback.prediction_id, feedback.rating) == (prediction.id, Rating.UP)
    assert feedback.author.id == f"discord:{h.trainer.id}"


async def test_a_members_correction_through_the_context_menu_waits_for_review(
    h: Harness,
) -> None:
    answer = await asked(h)
    menu = h.emulator.invoke_message_command("Correct this answer", answer, user=h.member)
    assert await menu.acknowledged() == CALLBACK_MODAL
    modal = await menu.modal()
    assert "It is 5." in str(modal)  # prefilled with the original answer
    done = await h.reply(h.emulator.submit_modal(menu, {"tb:fix:answer": "It is 4."}))
    assert done.ephemeral and "waits for a trainer's review" in done.content
    assert corrections(h) == [] and proposed(h) == ["It is 4."]


async def test_a_trainers_correction_through_the_context_menu_lands_in_the_dataset(
    h: Harness,
) -> None:
    answer = await asked(h)
    menu = h.emulator.invoke_message_command("Correct this answer", answer, user=h.trainer)
    assert await menu.acknowledged() == CALLBACK_MODAL
    done = await h.reply(h.emulator.submit_modal(menu, {"tb:fix:answer": "It is 4."}))
    assert done.ephemeral and "`corrections`" in done.content
    [example] = corrections(h)
    assert example.prompt == "What is 2+2?"
    assert (example.answer, example.rejected) == ("It is 4.", "It is 5.")
    assert example.source is ExampleSource.CORRECTION
    [correction] = h.db.committed.corrections
    assert correction.prediction_id == h.predictions()[0].id


async def test_the_correct_button_opens_the_same_modal(h: Harness) -> None:
    answer = await asked(h)
    [prediction] = h.predictions()
    click = h.emulator.invoke_component(answer, f"tb:correct:{prediction.id}", user=h.member)
    assert await click.acknowledged() == CALLBACK_MODAL
    await h.reply(h.emulator.submit_modal(click, {"tb:fix:answer": "Four."}))
    assert proposed(h) == ["Four."] and corrections(h) == []


async def test_correct_command_accepts_a_message_link(h: Harness) -> None:
    answer = await asked(h)
    link = f"https://discord.com/channels/{h.guild.id}/{h.general.id}/{answer.id}"
    done = await h.reply(
        h.command("correct", {"message": link, "correction": "Four, of course."}, user=h.member)
    )
    assert done.ephemeral
    assert proposed(h) == ["Four, of course."]


async def test_only_the_asker_or_a_trainer_may_correct(h: Harness) -> None:
    answer = await asked(h)
    stranger = h.emulator.add_member(h.guild, "stranger")
    refused = await h.reply(
        h.command("correct", {"message": str(answer.id), "correction": "Nope"}, user=stranger)
    )
    assert refused.ephemeral and "Only the person who asked" in refused.content
    assert corrections(h) == [] and proposed(h) == []
    await h.reply(
        h.command("correct", {"message": str(answer.id), "correction": "4"}, user=h.trainer)
    )
    assert [e.answer for e in corrections(h)] == ["4"]


async def test_a_stranger_is_refused_before_the_modal_opens(h: Harness) -> None:
    answer = await asked(h)
    [prediction] = h.predictions()
    stranger = h.emulator.add_member(h.guild, "stranger")
    menu = h.emulator.invoke_message_command("Correct this answer", answer, user=stranger)
    refused = await h.reply(menu)
    assert refused.ephemeral and "Only the person who asked" in refused.content
    assert menu.record.modal is None
    click = h.emulator.invoke_component(answer, f"tb:correct:{prediction.id}", user=stranger)
    assert "Only the person who asked" in (await h.reply(click)).content
    assert click.record.modal is None


async def test_correcting_an_unknown_message_says_so(h: Harness) -> None:
    refused = await h.reply(h.command("correct", {"message": "12345", "correction": "x"}))
    assert refused.ephemeral and "can't find that answer" in refused.content


async def test_feedback_command_stores_a_comment(h: Harness) -> None:
    answer = await asked(h)
    done = await h.reply(
        h.command("feedback", {"text": "Too terse", "message": str(answer.id)}, user=h.member)
    )
    assert done.ephemeral
    [feedback] = h.db.committed.feedback
    assert feedback.text == "Too terse" and feedback.prediction_id == h.predictions()[0].id


async def test_buttons_keep_working_after_a_restart(h: Harness) -> None:
    answer = await asked(h)
    [prediction] = h.predictions()
    await h.restart()
    click = h.emulator.invoke_component(answer, f"tb:rate:down:{prediction.id}", user=h.member)
    assert "Thanks" in (await h.reply(click)).content
    assert [f.rating for f in h.db.committed.feedback] == [Rating.DOWN]

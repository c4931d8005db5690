"""The review queue on Discord: members propose, trainers decide with buttons, and only
approved examples reach a training snapshot, an export or the bot's answers."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from domain.models import (
    ChatMessage,
    Example,
    JobStatus,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Role,
)
from tests.discord.conftest import BotFactory, Harness
from tests.discord_emulator import Member, StoredMessage
from tests.discord_emulator.records import CALLBACK_DEFERRED_UPDATE, CALLBACK_MODAL
from tests.fakes.llm import taught_entries

ANSWERS = "answers_the_users_question"


def text_of(message: StoredMessage) -> str:
    """Everything a reader sees in a message: its content and its embeds."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        for field in embed.get("fields", []):
            parts += [field["name"], field["value"]]
        parts.append(embed.get("footer", {}).get("text", ""))
    return "\n".join(p for p in parts if p)


def proposals(h: Harness) -> list[Proposal]:
    return sorted(h.db.committed.proposals.values(), key=lambda p: p.created_at)


def corrections(h: Harness) -> list[Example]:
    return list(h.db.committed.examples.get("corrections", []))


async def ask(h: Harness, prompt: str, wrong: str, *, user: Member | None = None) -> StoredMessage:
    h.llm.reply = lambda messages: wrong
    return await h.reply(h.command("ask", {"prompt": prompt}, user=user or h.member))


async def propose(
    h: Harness,
    prompt: str = "When is the raid?",
    wrong: str = "On Mondays.",
    right: str = "On Fridays.",
) -> Proposal:
    """A member asks, gets a wrong answer and proposes the right one."""
    answer = await ask(h, prompt, wrong)
    done = await h.reply(
        h.command("correct", {"message": str(answer.id), "correction": right}, user=h.member)
    )
    assert "waits for a trainer's review" in done.content
    return proposals(h)[-1]


async def open_queue(h: Harness) -> StoredMessage:
    queue = await h.reply(h.command("review queue"))
    assert queue.ephemeral
    return queue


def click(
    h: Harness, queue: StoredMessage, action: str, proposal: Proposal, user: Member | None = None
) -> Any:
    return h.emulator.invoke_component(
        queue, f"tb:review:{action}:{proposal.id}", user=user or h.trainer
    )


async def told(h: Harness, handle: Any) -> StoredMessage:
    """What the clicker was told: the reply, or the follow-up after a deferred update."""
    if await handle.acknowledged() == CALLBACK_DEFERRED_UPDATE:
        [message] = await handle.wait_followups(1)
        return message
    return await h.reply(handle)


def status_of(h: Harness, proposal: Proposal) -> ProposalStatus:
    return h.db.committed.proposals[proposal.id].status


async def train(h: Harness, dataset: str = "corrections") -> list[Example]:
    """``/train start`` on ``dataset``; the examples of the job's frozen snapshot."""
    handle = h.command("train start", {"dataset": dataset})
    await h.reply(handle)
    await handle.wait_followups(1)
    [job] = [j for j in h.db.committed.jobs.values() if j.dataset == dataset][-1:]
    assert job.status is JobStatus.SUCCEEDED
    return list(h.db.committed.snapshots[job.id])


def dms(h: Harness, member: Member) -> list[str]:
    return [m.content for m in h.emulator.bot_messages(h.emulator.dm_channel(member))]


# ----------------------------------------------------------------------------- the flow


async def test_an_approved_proposal_is_learned_with_provenance_and_trained_on(h: Harness) -> None:
    proposal = await propose(h)
    queue = await open_queue(h)
    shown = text_of(queue)
    for expected in ("When is the raid?", "On Mondays.", "On Fridays.", "Mo", "1 proposal waiting"):
        assert expected in shown
    assert f"<@{h.member.id}>" in shown and "<t:" in shown  # who, and when as a Discord timestamp
    assert set(queue.custom_ids()) >= {
        f"tb:review:{a}:{proposal.id}" for a in ("approve", "edit", "reject", "skip")
    }
    await click(h, queue, "approve", proposal).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    assert "Approved" in queue.content and queue.embeds == [] and queue.components == []
    [example] = corrections(h)
    assert (example.prompt, example.answer, example.rejected) == (
        "When is the raid?",
        "On Fridays.",
        "On Mondays.",
    )
    p = example.provenance
    assert p is not None and p.proposal_id == proposal.id
    assert p.proposed_by and p.proposed_by.id == f"discord:{h.member.id}"
    assert p.approved_by and p.approved_by.id == f"discord:{h.trainer.id}"
    assert status_of(h, proposal) is ProposalStatus.APPROVED
    await h.settled(lambda: dms(h, h.member))
    [told] = dms(h, h.member)
    assert "approved" in told and "next training" in told and "When is the raid?" in told
    snapshot = await train(h)
    assert [e.id for e in snapshot] == [example.id]


async def test_a_rejected_proposal_never_reaches_a_snapshot_or_export_and_its_reason_is_told(
    h: Harness,
) -> None:
    kept = await propose(h, "Where do we meet?", "In the park.", "At the tavern.")
    refused = await propose(h, "When is the raid?", "On Mondays.", "Never, raids are cancelled.")
    queue = await open_queue(h)
    assert "Where do we meet?" in text_of(queue)
    await click(h, queue, "approve", kept).acknowledged()
    await h.settled(lambda: "When is the raid?" in text_of(queue))
    opened = click(h, queue, "reject", refused)
    assert await opened.acknowledged() == CALLBACK_MODAL
    submitted = h.emulator.submit_modal(opened, {"tb:refuse:reason": "The raid is on Fridays."})
    await submitted.acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    assert "Rejected" in queue.content
    assert h.db.committed.proposals[refused.id].reason == "The raid is on Fridays."
    await h.settled(lambda: len(dms(h, h.member)) == 2)
    told = dms(h, h.member)[-1]
    assert "not accepted" in told and "The raid is on Fridays." in told
    everything = json.dumps([e.answer for e in await train(h)])
    exported = await h.reply(h.command("dataset export", {"name": "corrections", "format": "sft"}))
    preferences = await h.reply(
        h.command("dataset export", {"name": "corrections", "format": "dpo"})
    )
    for text in (
        everything,
        exported.attachments[0].data.decode(),
        preferences.attachments[0].data.decode(),
    ):
        assert "At the tavern." in text and "raids are cancelled" not in text


async def test_a_proposer_who_refuses_dms_is_not_told_and_the_decision_stands(h: Harness) -> None:
    h.member.user.accepts_dms = False
    proposal = await propose(h)
    queue = await open_queue(h)
    opened = click(h, queue, "reject", proposal)
    await opened.acknowledged()
    await h.emulator.submit_modal(opened, {"tb:refuse:reason": "Wrong day."}).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    assert status_of(h, proposal) is ProposalStatus.REJECTED
    await h.settled(
        lambda: any(r.path.endswith("/messages") and r.status == 403 for r in h.emulator.requests)
    )
    assert dms(h, h.member) == []
    assert not [m for m in h.emulator.messages_in(h.general) if "went wrong" in m.content]


async def test_edit_and_approve_stores_the_edited_answer(h: Harness) -> None:
    proposal = await propose(h, right="On Friday")
    queue = await open_queue(h)
    opened = click(h, queue, "edit", proposal)
    assert await opened.acknowledged() == CALLBACK_MODAL
    assert "On Friday" in str(await opened.modal())  # prefilled with the proposal
    await h.emulator.submit_modal(
        opened, {"tb:revise:answer": "On Fridays at 20:00 server time."}
    ).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    [example] = corrections(h)
    assert example.answer == "On Fridays at 20:00 server time."
    await h.settled(lambda: dms(h, h.member))
    assert "with changes" in dms(h, h.member)[0]


async def test_a_thumbs_down_is_in_the_queue_and_answered_with_edit_and_approve(
    h: Harness,
) -> None:
    answer = await ask(h, "Who leads the guild?", "Nobody knows.")
    [prediction] = h.predictions()
    await h.reply(
        h.emulator.invoke_component(answer, f"tb:rate:down:{prediction.id}", user=h.member)
    )
    [proposal] = proposals(h)
    assert proposal.kind is ProposalKind.DOWNVOTE
    queue = await open_queue(h)
    assert "none — write it" in text_of(queue)
    refused = click(h, queue, "approve", proposal)
    assert "Nobody proposed an answer" in (await told(h, refused)).content
    assert status_of(h, proposal) is ProposalStatus.PENDING
    opened = click(h, queue, "edit", proposal)
    assert "Nobody knows." in str(await opened.modal())  # prefilled with my answer
    await h.emulator.submit_modal(opened, {"tb:revise:answer": "Ann leads it."}).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    assert [e.answer for e in corrections(h)] == ["Ann leads it."]
    await h.settled(lambda: dms(h, h.member))
    assert "rated 👎" in dms(h, h.member)[0]


async def test_skip_shows_the_next_and_the_buttons_work_after_a_restart(h: Harness) -> None:
    first = await propose(h, "Where do we meet?", "In the park.", "At the tavern.")
    second = await propose(h, "When is the raid?", "On Mondays.", "On Fridays.")
    queue = await open_queue(h)
    assert "Where do we meet?" in text_of(queue) and "2 proposals waiting" in text_of(queue)
    await click(h, queue, "skip", first).acknowledged()
    await h.settled(lambda: "When is the raid?" in text_of(queue))
    assert "Skipped" in queue.content
    await h.restart()
    await click(h, queue, "approve", second).acknowledged()
    await h.settled(lambda: "Where do we meet?" in text_of(queue))  # round to the skipped one
    assert status_of(h, second) is ProposalStatus.APPROVED
    assert status_of(h, first) is ProposalStatus.PENDING
    assert "1 proposal waiting" in text_of(queue)
    await click(h, queue, "skip", first).acknowledged()
    await h.settled(lambda: "only proposal waiting" in queue.content)


async def test_a_decided_proposals_button_says_who_decided_it(h: Harness) -> None:
    proposal = await propose(h)
    stale = await open_queue(h)
    queue = await open_queue(h)
    await click(h, queue, "approve", proposal).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    again = await told(h, click(h, stale, "approve", proposal))
    assert again.ephemeral and "already approved by tina" in again.content.lower()
    edit = await told(h, click(h, stale, "edit", proposal))
    assert "already approved by tina" in edit.content.lower()
    assert len(corrections(h)) == 1


# ----------------------------------------------------------------------------- who may do what


async def test_a_member_can_neither_open_the_queue_nor_press_its_buttons(h: Harness) -> None:
    proposal = await propose(h)
    with pytest.raises(PermissionError):  # Discord hides the command from members
        h.command("review queue", user=h.member)
    refused = await h.reply(h.command("review queue", user=h.member, bypass_permissions=True))
    assert refused.ephemeral and "Only trainers" in refused.content
    queue = await open_queue(h)
    for action in ("approve", "reject", "edit", "skip"):
        pressed = await told(h, click(h, queue, action, proposal, user=h.member))
        assert pressed.ephemeral and "Only trainers" in pressed.content
    assert status_of(h, proposal) is ProposalStatus.PENDING and corrections(h) == []
    assert "When is the raid?" in text_of(queue)  # the trainer's message is unchanged


async def test_proposals_shows_only_ones_own_with_status_and_reason(h: Harness) -> None:
    proposal = await propose(h)
    queue = await open_queue(h)
    opened = click(h, queue, "reject", proposal)
    await opened.acknowledged()
    await h.emulator.submit_modal(opened, {"tb:refuse:reason": "Wrong day."}).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    mine = await h.reply(h.command("proposals", user=h.member))
    assert mine.ephemeral and proposal.id[:8] in mine.content
    assert "rejected" in mine.content and "Wrong day." in mine.content
    stranger = h.emulator.add_member(h.guild, "stranger")
    theirs = await h.reply(h.command("proposals", user=stranger))
    assert proposal.id[:8] not in theirs.content and "no proposals yet" in theirs.content


async def test_a_member_past_the_daily_limit_is_told_so(start_bot: BotFactory) -> None:
    h = await start_bot(app_settings={"review": {"proposals_per_day": 2}})
    for n in range(2):
        await propose(h, f"Question {n}?", "Wrong.", f"Right {n}.")
    answer = await ask(h, "Question 3?", "Wrong.")
    refused = await h.reply(
        h.command("correct", {"message": str(answer.id), "correction": "Right 3."}, user=h.member)
    )
    assert refused.ephemeral and "You have made 2 proposals today" in refused.content
    assert len(proposals(h)) == 2


async def test_in_trainers_only_mode_a_members_correction_is_refused(h: Harness) -> None:
    shown = await h.reply(h.command("review mode"))
    assert "**review**" in shown.content
    chosen = await h.reply(h.command("review mode", {"mode": "trainers-only"}))
    assert chosen.ephemeral and "**trainers-only**" in chosen.content
    answer = await ask(h, "When is the raid?", "On Mondays.")
    refused = await h.reply(
        h.command(
            "correct", {"message": str(answer.id), "correction": "On Fridays."}, user=h.member
        )
    )
    assert refused.ephemeral and "only trainers teach the bot" in refused.content
    assert proposals(h) == [] and corrections(h) == []
    helped = await h.reply(h.command("help", user=h.member))
    assert "trainers-only" in text_of(helped)


# ----------------------------------------------------------------------------- datasets


async def test_dataset_show_has_ids_and_provenance_and_remove_offers_the_retrain(
    h: Harness,
) -> None:
    await propose(h)
    queue = await open_queue(h)
    await click(h, queue, "approve", proposals(h)[0]).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    [example] = corrections(h)
    await train(h)
    shown = await h.reply(h.command("dataset show", {"name": "corrections"}))
    assert example.id[:8] in shown.content
    assert "by mo" in shown.content.lower() and "approved by tina" in shown.content.lower()
    removed = await h.reply(h.command("dataset remove", {"example": example.id[:8]}))
    assert removed.ephemeral and "kept as removed" in removed.content
    assert "was trained on it" in removed.content and "/train start" in removed.content
    assert corrections(h)[0].removed is not None  # kept, marked removed
    with pytest.raises(PermissionError):
        h.command("dataset remove", {"example": example.id[:8]}, user=h.member)


# ----------------------------------------------------------------------------- the teach loop


def follows_taught_entries(messages: Sequence[ChatMessage]) -> str:
    """A model that answers from the taught entry marked as answering the question."""
    for entry in taught_entries(messages):
        if entry.get(ANSWERS):
            return str(entry["answer"])
    return "The raid is on Mondays."


async def test_the_taught_answer_wins_in_the_same_conversation(h: Harness) -> None:
    question = "When is the guild raid?"
    h.llm.reply = follows_taught_entries
    wrong = await h.reply(h.command("ask", {"prompt": question}, user=h.member))
    assert "Mondays" in wrong.content
    done = await h.reply(
        h.command(
            "correct",
            {"message": str(wrong.id), "correction": "The raid is on Fridays at 20:00."},
            user=h.member,
        )
    )
    assert "waits for a trainer's review" in done.content
    queue = await open_queue(h)
    await click(h, queue, "approve", proposals(h)[0]).acknowledged()
    await h.settled(lambda: "queue is empty" in queue.content)
    await train(h)
    again = await h.reply(h.command("ask", {"prompt": question}, user=h.member))
    assert again.content.startswith("The raid is on Fridays at 20:00.")
    prompt = h.llm.last_messages
    assert [m.content for m in prompt if m.role is Role.ASSISTANT] == []  # the wrong exchange left
    assert prompt[-1] == ChatMessage(Role.USER, question)

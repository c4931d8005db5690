"""/train: one status message follows the job; its starter is mentioned at the end."""

from __future__ import annotations

import asyncio

from domain.models import JobStatus
from tests.discord.conftest import BASE_MODEL, Harness
from tests.discord_emulator import StoredMessage


async def with_dataset(h: Harness, name: str = "faq", select: bool = True) -> None:
    await h.reply(h.command("dataset create", {"name": name}))
    await h.reply(h.command("dataset add", {"name": name, "prompt": "Hi?", "answer": "Hello!"}))
    if select:
        await h.reply(h.command("dataset select", {"name": name}))


def announces(message: StoredMessage, job_id: str) -> bool:
    """A message mentioning someone about the job (not its status message)."""
    return job_id[:8] in message.content and "<@" in message.content


async def no_reports(h: Harness) -> None:
    """Wait until no job's status message is remembered any more."""
    async with asyncio.timeout(5):
        while await h.services.training.reports():  # noqa: ASYNC110  # storage, not an event
            await asyncio.sleep(0.01)


def step(gate: asyncio.Event) -> None:
    """Let the fake backend take exactly one step."""
    gate.set()
    gate.clear()


async def test_a_job_reports_progress_in_one_message_and_mentions_its_starter(h: Harness) -> None:
    await with_dataset(h)
    gate = h.backend.gate = asyncio.Event()
    handle = h.command("train start")
    status = await h.reply(handle)
    assert not status.ephemeral and "`faq`" in status.content
    await h.settled(lambda: "running" in status.content and "0%" in status.content)
    step(gate)
    await h.settled(lambda: "25%" in status.content)
    gate.set()
    [done] = await handle.wait_followups(1)
    assert "✅" in status.content and "100%" in status.content
    [job] = h.db.committed.jobs.values()
    assert job.status is JobStatus.SUCCEEDED and job.model_version in status.content
    assert f"<@{h.trainer.id}>" in done.content and h.trainer.user in done.notified
    assert handle.followups == [done]  # progress never made a second message
    assert len(status.history) >= 4  # queued/running, 25 %, …, succeeded
    active = await h.services.models.active()
    assert active.name == job.model_version != BASE_MODEL


async def test_cancelling_a_running_job_ends_it_and_mentions_the_starter(h: Harness) -> None:
    await with_dataset(h)
    h.backend.gate = asyncio.Event()
    handle = h.command("train start")
    status = await h.reply(handle)
    await h.settled(lambda: "running" in status.content)
    [job] = h.db.committed.jobs.values()
    cancelled = await h.reply(h.command("train cancel", {"job": job.id}))
    assert cancelled.ephemeral and "cancelled" in cancelled.content
    [ended] = await handle.wait_followups(1)
    assert "cancelled" in ended.content and h.trainer.user in ended.notified
    await h.settled(lambda: "🛑" in status.content)


async def test_a_failing_job_says_why(h: Harness) -> None:
    await with_dataset(h)
    h.backend.fail_with = "The examples could not be indexed."
    handle = h.command("train start", {"dataset": "faq", "activate": False})
    status = await h.reply(handle)
    [ended] = await handle.wait_followups(1)
    assert "failed" in ended.content
    await h.settled(lambda: "could not be indexed" in status.content)
    assert (await h.services.models.active()).name == BASE_MODEL


async def test_status_list_and_job_autocomplete(h: Harness) -> None:
    await with_dataset(h)
    handle = h.command("train start")
    await handle.wait_followups(1)
    [job] = h.db.committed.jobs.values()
    status = await h.reply(h.command("train status"))
    assert status.ephemeral and job.id[:8] in status.content and "succeeded" in status.content
    listed = await h.reply(h.command("train list", locale="ru"))
    assert job.id[:8] in listed.content and "готово" in listed.content
    choices = await h.emulator.autocomplete(
        "train status", {"job": job.id[:4]}, focused="job", user=h.trainer, channel=h.general
    ).choices()
    assert [c["value"] for c in choices] == [job.id]


async def test_training_without_a_selected_dataset_is_refused_clearly(h: Harness) -> None:
    refused = await h.reply(h.command("train start"))
    assert refused.ephemeral and "No dataset is selected" in refused.content
    assert h.db.committed.jobs == {}


async def test_after_a_restart_the_status_message_goes_on_and_the_end_is_announced(
    h: Harness,
) -> None:
    await with_dataset(h)
    gate = h.backend.gate = asyncio.Event()
    status = await h.reply(h.command("train start"))
    await h.settled(lambda: "running" in status.content)
    [job] = h.db.committed.jobs.values()

    await h.restart()  # the job goes on in the service; the new bot must find the message
    step(gate)
    await h.settled(lambda: "25%" in status.content)
    gate.set()
    await h.settled(lambda: "✅" in status.content)
    [ended] = await h.settled(
        lambda: [m for m in h.emulator.bot_messages(h.general) if announces(m, job.id)]
    )
    assert f"<@{h.trainer.id}>" in ended.content and h.trainer.user in ended.notified
    await no_reports(h)  # announced once, then forgotten


async def test_an_end_missed_while_the_bot_was_down_is_announced_when_it_is_back(
    h: Harness,
) -> None:
    await with_dataset(h)
    gate = h.backend.gate = asyncio.Event()
    status = await h.reply(h.command("train start", locale="ru"))
    await h.settled(lambda: "running" in status.content or "идёт" in status.content)
    [job] = h.db.committed.jobs.values()
    await h.bot.close()
    gate.set()
    finished = await h.services.training.wait(job.id)
    assert finished.status is JobStatus.SUCCEEDED
    assert "✅" not in status.content  # nobody was there to show it

    h.bot = await h.relaunch()
    await h.settled(lambda: "✅" in status.content)
    [ended] = await h.settled(
        lambda: [m for m in h.emulator.bot_messages(h.general) if announces(m, job.id)]
    )
    assert h.trainer.user in ended.notified
    await no_reports(h)
    await h.restart()  # and never again
    await h.bot.wait_until_ready()  # its start-up pass (the one that announced) has begun
    # a round trip through the new bot after that pass: it found nothing left to announce
    later = await h.reply(h.command("train status", {"job": job.id}))
    assert job.id[:8] in later.content
    announced = [m for m in h.emulator.bot_messages(h.general) if announces(m, job.id)]
    assert [m.id for m in announced] == [ended.id]

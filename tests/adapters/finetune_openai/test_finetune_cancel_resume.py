"""Cancelling, shutting down and resuming: the provider's job follows the training job."""

from __future__ import annotations

import asyncio
import contextlib

import openai

from domain.models import JobStatus, ModelVersion
from tests.adapters.finetune_openai.conftest import (
    API_KEY,
    BASE_MODEL,
    FAQ,
    T0,
    TRAINER,
    MakeBackend,
    MakeTraining,
    Reporter,
    running_job,
)
from tests.standins.finetune_server import FineTuneStandin
from tests.standins.openai_server import Behaviour, ErrorReply

BASE = ModelVersion(name=BASE_MODEL, llm_model=BASE_MODEL, created_at=T0)


def cancels(standin: FineTuneStandin) -> int:
    return sum(1 for r in standin.requests if r.path.endswith("/cancel"))


async def test_cancelling_a_running_job_cancels_the_provider_job(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.hold_at = "running"
    training = make_training(make_backend())
    job = await training.start(TRAINER, dataset="faq")
    remote = await standin.reached("running")

    cancelled = await training.cancel(job.id, TRAINER)

    assert cancelled.status is JobStatus.CANCELLED and cancelled.cancel_requested
    assert cancelled.external_id == remote.id
    assert remote.status == "cancelled" and cancels(standin) == 1
    assert cancelled.model_version is None


async def test_after_a_restart_recover_polls_the_same_provider_job_without_uploading_again(
    standin: FineTuneStandin,
    make_backend: MakeBackend,
    make_training: MakeTraining,
) -> None:
    standin.hold_at = "running"
    before = make_training(make_backend())
    assert await before.recover() == []  # the bot, at its start
    job = await before.start(TRAINER, dataset="faq")
    remote = await standin.reached("running")
    await before.aclose()  # the bot stops while the provider trains

    stored = await before.get(job.id)
    assert stored.status is JobStatus.RUNNING and stored.external_id == remote.id
    assert remote.status == "running" and cancels(standin) == 0  # left running

    standin.release()
    after = make_training(make_backend())
    recovered = await after.recover()
    done = await after.wait(job.id)

    assert [j.id for j in recovered] == [job.id]
    assert done.status is JobStatus.SUCCEEDED, done.error
    assert done.model_version == remote.fine_tuned_model
    assert (standin.uploads(), standin.created_jobs()) == (1, 1)


async def test_resuming_a_job_whose_provider_id_was_not_stored_finds_it_by_its_tag(
    standin: FineTuneStandin, make_backend: MakeBackend
) -> None:
    backend = make_backend()
    first = Reporter()
    standin.hold_at = "queued"
    job = running_job("job-7")
    task = asyncio.create_task(backend.train(job, FAQ, base=BASE, report=first))
    remote = await standin.reached("queued")
    task.cancel()  # a shutdown (cancel_requested is False) before the id was stored
    with contextlib.suppress(asyncio.CancelledError):
        await task
    standin.release()

    again = Reporter()
    outcome = await backend.resume(job, FAQ, base=BASE, report=again)

    assert again.external_ids == [remote.id]
    assert outcome.llm_model == remote.fine_tuned_model
    assert (standin.uploads(), standin.created_jobs()) == (1, 1)


async def test_a_job_cancelled_at_the_provider_ends_cancelled(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.hold_at = "running"
    training = make_training(make_backend())
    job = await training.start(TRAINER, dataset="faq")
    remote = await standin.reached("running")

    async with openai.AsyncOpenAI(base_url=standin.base_url, api_key=API_KEY) as client:
        await client.fine_tuning.jobs.cancel(remote.id)
    done = await training.wait(job.id)

    assert done.status is JobStatus.CANCELLED and not done.cancel_requested
    assert done.message == "The fine-tuning job was cancelled at the provider."
    assert cancels(standin) == 1  # ours above, none from the backend


async def test_resuming_without_a_provider_id_on_a_provider_that_cannot_search_starts_over(
    standin: FineTuneStandin, make_backend: MakeBackend
) -> None:
    standin.script(Behaviour(error=ErrorReply(404)))  # the metadata lookup
    reporter = Reporter()

    outcome = await make_backend().resume(running_job("job-8"), FAQ, base=BASE, report=reporter)

    (remote,) = standin.jobs.values()
    assert reporter.external_ids == [remote.id]
    assert outcome.llm_model == remote.fine_tuned_model
    assert standin.requests[0].path == "/v1/fine_tuning/jobs" and standin.uploads() == 1

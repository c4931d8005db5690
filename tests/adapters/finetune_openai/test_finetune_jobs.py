"""Fine-tuning jobs from upload to a new active model version, over real HTTP."""

from __future__ import annotations

import asyncio
import json

import openai

from domain.models import JobStatus, TrainingJob
from domain.services.models import ModelService
from tests.adapters.finetune_openai.conftest import (
    API_KEY,
    BASE_MODEL,
    FAQ,
    PAIRS,
    TRAINER,
    MakeBackend,
    MakeTraining,
)
from tests.standins.finetune_server import FineTuneStandin, JobPlan


async def test_an_sft_job_goes_from_upload_to_a_new_active_model_version(
    standin: FineTuneStandin,
    make_backend: MakeBackend,
    make_training: MakeTraining,
    models: ModelService,
) -> None:
    training = make_training(make_backend())

    job = await training.start(TRAINER, dataset="faq")
    done = await training.wait(job.id)

    assert done.status is JobStatus.SUCCEEDED, done.error
    (remote,) = standin.jobs.values()
    assert remote.status == "succeeded" and remote.method == "supervised"
    assert remote.model == BASE_MODEL
    assert done.external_id == remote.id
    assert done.model_version == remote.fine_tuned_model
    active = await models.active()
    assert (active.name, active.llm_model, active.memory) == (
        remote.fine_tuned_model,
        remote.fine_tuned_model,
        None,
    )
    assert active.job_id == job.id and remote.id in active.notes
    (upload,) = standin.files.values()
    assert (upload.kind, upload.lines) == ("sft", len(FAQ))
    first = json.loads(upload.data.decode().splitlines()[0])
    assert first["messages"][-1] == {"role": "assistant", "content": FAQ[0].answer}
    assert remote.metadata == {"trainerbot_job_id": job.id}


async def test_the_fine_tuned_model_is_served_by_the_provider_afterwards(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    training = make_training(make_backend())
    done = await training.wait((await training.start(TRAINER, dataset="faq")).id)

    async with openai.AsyncOpenAI(base_url=standin.base_url, api_key=API_KEY) as client:
        listed = [m.id async for m in client.models.list()]
    assert done.model_version in listed


async def test_a_dpo_job_uploads_preference_pairs_and_trains_with_the_dpo_method(
    standin: FineTuneStandin,
    make_backend: MakeBackend,
    make_training: MakeTraining,
    models: ModelService,
) -> None:
    training = make_training(make_backend())
    options = {"method": "DPO", "n_epochs": "2", "suffix": "faq-v1", "activate": "false"}

    job = await training.start(TRAINER, dataset="faq", options=options)
    done = await training.wait(job.id)

    assert done.status is JobStatus.SUCCEEDED, done.error
    (remote,) = standin.jobs.values()
    (upload,) = standin.files.values()
    assert (upload.kind, upload.lines) == ("dpo", PAIRS)
    pair = json.loads(upload.data.decode().splitlines()[0])
    assert pair["preferred_output"] == [{"role": "assistant", "content": FAQ[0].answer}]
    assert pair["non_preferred_output"] == [{"role": "assistant", "content": FAQ[0].rejected}]
    assert remote.method == "dpo" and remote.hyperparameters == {"n_epochs": 2}
    assert remote.suffix == "faq-v1" and ":faq-v1:" in (done.model_version or "")
    assert (await models.get(done.model_version or "")).llm_model == done.model_version
    assert (await models.active()).name == BASE_MODEL  # activate=false


async def test_provider_events_are_relayed_as_progress_that_never_goes_back(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.default_plan = JobPlan(steps=4)
    training = make_training(make_backend())
    seen: list[TrainingJob] = []

    async def listener(job: TrainingJob) -> None:
        seen.append(job)

    training.watch(listener)
    done = await training.wait((await training.start(TRAINER, dataset="faq")).id)

    assert done.status is JobStatus.SUCCEEDED, done.error
    messages = [j.message for j in seen]
    for expected in (
        "Files validated, moving job to queued state",
        "Fine-tuning job started",
        "Step 1/4: training loss=1.0",
        "Step 4/4: training loss=0.25",
        "The job has successfully completed",
    ):
        assert expected in messages
    progress = [j.progress for j in seen]
    assert progress == sorted(progress)
    steps = [j.progress for j in seen if j.message.startswith("Step ")]
    assert len(set(steps)) == 4 and all(0.15 < p <= 0.95 for p in steps)
    assert progress[-1] == 1.0


async def test_polls_back_off_while_nothing_changes_and_speed_up_after_a_change(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.hold_at = "queued"
    delays: list[float] = []

    async def sleep(seconds: float) -> None:
        delays.append(seconds)
        if len(delays) == 8:
            standin.release()
        await asyncio.sleep(0)

    training = make_training(make_backend(poll_interval=0.01, max_poll_interval=0.05, sleep=sleep))
    done = await training.wait((await training.start(TRAINER, dataset="faq")).id)

    assert done.status is JobStatus.SUCCEEDED, done.error
    held = delays[1:8]  # the first poll saw a change (queued); then nothing changed
    assert held == [0.02, 0.04, 0.05, 0.05, 0.05, 0.05, 0.05]
    assert delays[8] == 0.01  # running: a change again
    assert max(delays) == 0.05

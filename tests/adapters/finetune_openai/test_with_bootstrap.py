"""The whole bot, as the composition root builds it: SQLite, the stand-in as provider."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.bootstrap import Container, bootstrap
from app.settings import Settings
from domain.models import Actor, JobStatus, Place
from domain.services.chat import Question
from tests.adapters.finetune_openai.conftest import API_KEY, BASE_MODEL, TRAINER
from tests.standins.finetune_server import FineTuneStandin


def settings(standin: FineTuneStandin, data_dir: Path, **finetune: Any) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        llm={"base_url": standin.base_url, "api_key": API_KEY, "model": BASE_MODEL},
        finetune={"enabled": True, "poll_interval": 0.005, "max_poll_interval": 0.04} | finetune,
    )


async def teach(container: Container) -> None:
    await container.datasets.create("faq", TRAINER)
    await container.datasets.add_example(
        "faq", TRAINER, prompt="How do I start training?", answer="Use /train start."
    )
    await container.datasets.select("faq", TRAINER)


async def test_an_enabled_openai_backend_trains_the_model_the_bot_then_answers_with(
    standin: FineTuneStandin, tmp_path: Path
) -> None:
    standin.reject_unknown_models = True
    container = await bootstrap(settings(standin, tmp_path))
    try:
        assert container.backends.keys() == {"local", "openai"}
        await teach(container)

        job = await container.training.start(TRAINER, backend="openai")
        done = await container.training.wait(job.id)
        answer = await container.chat.answer(
            Question("What does /help do?", Actor("m1", "Member"), Place("c1"))
        )
    finally:
        await container.aclose()

    assert done.status is JobStatus.SUCCEEDED, done.error
    (remote,) = standin.jobs.values()
    assert done.external_id == remote.id and done.model_version == remote.fine_tuned_model
    assert answer.model_version == remote.fine_tuned_model
    assert standin.chat_requests[-1].json["model"] == remote.fine_tuned_model


async def test_a_restarted_bot_finishes_the_provider_job_it_left_running(
    standin: FineTuneStandin, tmp_path: Path
) -> None:
    standin.hold_at = "running"
    first = await bootstrap(settings(standin, tmp_path))
    try:
        await teach(first)
        job = await first.training.start(TRAINER, backend="openai")
        remote = await standin.reached("running")
    finally:
        await first.aclose()
    standin.release()

    second = await bootstrap(settings(standin, tmp_path))  # recovers the job
    try:
        done = await second.training.wait(job.id)
        active = await second.models.active()
    finally:
        await second.aclose()

    assert done.status is JobStatus.SUCCEEDED, done.error
    assert active.name == remote.fine_tuned_model
    assert (standin.uploads(), standin.created_jobs()) == (1, 1)


async def test_without_the_setting_there_is_no_openai_backend(
    standin: FineTuneStandin, tmp_path: Path
) -> None:
    container = await bootstrap(settings(standin, tmp_path, enabled=False))
    try:
        assert list(container.backends) == ["local"]
    finally:
        await container.aclose()

"""Provider failures reach the trainer as clear messages, never as keys or tracebacks."""

from __future__ import annotations

import pytest

from adapters.finetune_openai import OpenAIFineTuningBackend
from domain.models import JobStatus, TrainingJob
from tests.adapters.finetune_openai.conftest import (
    TRAINER,
    MakeBackend,
    MakeTraining,
)
from tests.standins.finetune_server import FineTuneStandin, JobPlan
from tests.standins.openai_server import Behaviour, ErrorReply


async def run(
    make_training: MakeTraining,
    backend: OpenAIFineTuningBackend,
    *,
    dataset: str = "faq",
    options: dict[str, str] | None = None,
) -> TrainingJob:
    """Start a job through the real training service and wait for its end."""
    training = make_training(backend)
    job = await training.start(TRAINER, dataset=dataset, options=options)
    return await training.wait(job.id)


async def test_a_training_file_the_provider_rejects_fails_with_its_reason(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    reason = "Invalid file format for Fine-Tuning API. Line 3:   message content is empty."
    standin.script(Behaviour(error=ErrorReply(400, reason, "invalid_file_format")))

    done = await run(make_training, make_backend())

    assert done.status is JobStatus.FAILED
    assert done.error == (
        "The fine-tuning provider rejected the training file: Invalid file format for "
        "Fine-Tuning API. Line 3: message content is empty."
    )
    assert standin.created_jobs() == 0


async def test_a_provider_job_that_fails_validation_fails_with_its_message_made_safe(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.plan(
        JobPlan(
            fail_at="validating_files",
            error_message="Example 2 has no assistant message.\nSeen with key sk-live-abcdef123456."
            + " more" * 100,
        )
    )

    done = await run(make_training, make_backend())

    assert done.status is JobStatus.FAILED and done.error is not None
    assert done.error.startswith(
        "The fine-tuning job failed at the provider: Example 2 has no assistant message. "
        "Seen with key [redacted]."
    )
    assert "sk-live" not in done.error and "\n" not in done.error
    assert len(done.error) < 300 and done.error.endswith("…")


async def test_a_provider_job_that_fails_while_running_fails_the_training_job(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    standin.plan(
        JobPlan(fail_at="running", error_code="server_error", error_message="Out of GPUs.")
    )

    done = await run(make_training, make_backend())

    assert done.status is JobStatus.FAILED
    assert done.error == "The fine-tuning job failed at the provider: Out of GPUs."
    assert done.model_version is None


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (
            ErrorReply(429, code="rate_limit_exceeded", retry_after=0),
            "The fine-tuning provider is busy (too many requests); start the job again in a "
            "few minutes.",
        ),
        (
            ErrorReply(429, "You exceeded your current quota.", "insufficient_quota"),
            "The fine-tuning provider's quota is used up; an operator needs to check the "
            "account's billing and limits, then start the job again.",
        ),
        (
            ErrorReply(500),
            "The fine-tuning provider failed (server error 500); try again later.",
        ),
    ],
)
async def test_quota_rate_limits_and_server_errors_are_explained(
    standin: FineTuneStandin,
    make_backend: MakeBackend,
    make_training: MakeTraining,
    reply: ErrorReply,
    message: str,
) -> None:
    standin.script(Behaviour(error=reply))

    done = await run(make_training, make_backend())

    assert (done.status, done.error) == (JobStatus.FAILED, message)


async def test_a_wrong_api_key_is_reported_without_repeating_it(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    wrong = "sk-wrong-0123456789abcdef"

    done = await run(make_training, make_backend(api_key=wrong))

    assert done.status is JobStatus.FAILED
    assert done.error == (
        "The fine-tuning provider refused our API key; an operator needs to check "
        "TRAINERBOT_FINETUNE__API_KEY."
    )
    assert standin.requests[-1].bearer == wrong and wrong[3:] not in done.error


async def test_an_unsupported_base_model_is_named_with_what_to_change(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    done = await run(make_training, make_backend(), options={"base_model": "gpt-unknown"})

    assert done.status is JobStatus.FAILED
    assert done.error == (
        "The base model “gpt-unknown” cannot be fine-tuned at this provider: Model "
        "gpt-unknown is not available for fine-tuning or does not exist. Choose another "
        "with the job option base_model (or TRAINERBOT_FINETUNE__BASE_MODEL)."
    )
    assert standin.uploads() == 1 and standin.created_jobs() == 1 and not standin.jobs


async def test_an_unreachable_provider_fails_the_job_clearly(
    make_backend: MakeBackend, make_training: MakeTraining, closed_port_url: str
) -> None:
    done = await run(make_training, make_backend(base_url=closed_port_url))

    assert done.status is JobStatus.FAILED
    assert done.error == (
        "The fine-tuning provider cannot be reached right now; start the job again later."
    )


async def test_transient_failures_while_polling_are_retried(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    ok = Behaviour()
    standin.script(ok, ok, Behaviour(error=ErrorReply(503)), Behaviour(error=ErrorReply(429)))

    done = await run(make_training, make_backend())

    assert done.status is JobStatus.SUCCEEDED, done.error
    assert [r.behaviour.error.status for r in standin.requests if r.behaviour.error] == [503, 429]


async def test_polling_gives_up_after_too_many_failures_in_a_row(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    ok = Behaviour()
    standin.script(ok, ok, *[Behaviour(error=ErrorReply(502))] * 4)

    done = await run(make_training, make_backend(max_poll_failures=3))

    assert done.status is JobStatus.FAILED
    assert done.error == "The fine-tuning provider failed (server error 502); try again later."
    (remote,) = standin.jobs.values()
    assert remote.status != "cancelled"  # a failure to poll does not stop the provider's job


async def test_dpo_without_preference_pairs_fails_before_anything_is_uploaded(
    standin: FineTuneStandin, make_backend: MakeBackend, make_training: MakeTraining
) -> None:
    done = await run(make_training, make_backend(), dataset="plain", options={"method": "dpo"})

    assert done.status is JobStatus.FAILED and done.error is not None
    assert done.error.startswith("DPO needs preference pairs")
    assert standin.uploads() == 0


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_epochs": "many"}, "The option n_epochs must be a whole number from 1 to 50."),
        ({"n_epochs": "0"}, "The option n_epochs must be a whole number from 1 to 50."),
        (
            {"suffix": "no spaces please"},
            "The option suffix takes up to 64 letters, digits, - or _.",
        ),
    ],
)
async def test_option_values_the_provider_would_refuse_fail_before_uploading(
    standin: FineTuneStandin,
    make_backend: MakeBackend,
    make_training: MakeTraining,
    options: dict[str, str],
    message: str,
) -> None:
    done = await run(make_training, make_backend(), options=options)

    assert (done.status, done.error) == (JobStatus.FAILED, message)
    assert standin.uploads() == 0

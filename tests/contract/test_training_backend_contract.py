"""The TrainingBackend contract: the fake and the real backends train alike.

Each test runs against ``FakeTrainingBackend``, the ``local`` backend (a real
example memory with vectors, in a temporary folder) and the ``openai`` backend
talking real HTTP to the fine-tuning stand-in. Snapshots are a handful of examples.

``produced()`` is what a backend has made that a model version could use: the
fake's and the local backend's memories, the provider's jobs that are not
cancelled or failed. A backend that does not support resuming fails the resume
tests here on purpose: the contract would need a look first.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from adapters.example_memory import LocalTrainingBackend
from adapters.example_memory.embedding import E5Embedder
from adapters.example_memory.layout import memory_names
from adapters.finetune_openai import OpenAIFineTuningBackend
from domain.errors import TrainingFailed
from domain.models import Example, ModelVersion, TrainingJob, TrainingOption, TrainingOutcome
from domain.ports import TrainingBackend
from tests.adapters.example_memory.faq import FAQ, T0, make_job
from tests.adapters.finetune_openai.conftest import Reporter
from tests.fakes.memory import FakeExampleMemory
from tests.fakes.training import FakeTrainingBackend
from tests.standins.finetune_server import FineTuneStandin

BASE_MODEL = "standin-model"  # the stand-in fine-tunes this one
BASE = ModelVersion(name=BASE_MODEL, llm_model=BASE_MODEL, created_at=T0)
EXAMPLES: tuple[Example, ...] = (FAQ[0], FAQ[1], FAQ[6], FAQ[12])
WITHIN = 30.0  # seconds any wait here may take at most
FINISHED_AT_PROVIDER = ("cancelled", "failed")


@dataclass
class Subject:
    backend: TrainingBackend
    produced: Callable[[], list[str]]


@dataclass
class HoldingReporter(Reporter):
    """A ``JobReporter`` that can hold the backend at its first report past a fraction."""

    hold_past: float | None = None
    holding: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(self, fraction: float, message: str) -> None:
        await super().__call__(fraction, message)
        if self.hold_past is not None and fraction > self.hold_past and not self.holding.is_set():
            self.holding.set()
            await asyncio.Event().wait()  # until cancelled

    @property
    def fractions(self) -> list[float]:
        return [f for f, _ in self.calls]


@pytest.fixture(scope="module")
def embedder() -> E5Embedder:
    """The real embedding model, loaded once for the module."""
    return E5Embedder(threads=1)  # OpenMP on a shared machine stalls: see embedding.py


@pytest.fixture(params=["fake", "local", "openai"])
async def subject(
    request: pytest.FixtureRequest, tmp_path: Path, embedder: E5Embedder
) -> AsyncIterator[Subject]:
    if request.param == "fake":
        memory = FakeExampleMemory()
        yield Subject(FakeTrainingBackend(memory=memory), lambda: sorted(memory.memories))
        return
    if request.param == "local":
        root = tmp_path / "memories"
        local = LocalTrainingBackend(root=root, chunk_size=2, embedder=embedder)
        yield Subject(local, lambda: memory_names(root))
        await local.aclose()
        return
    async with FineTuneStandin(fine_tunable=(BASE_MODEL,), api_key="sk-contract") as standin:
        remote = OpenAIFineTuningBackend(
            base_url=standin.base_url,
            api_key="sk-contract",
            poll_interval=0.005,
            max_poll_interval=0.04,
            timeout=5.0,
            max_retries=0,
        )

        def live_jobs() -> list[str]:
            return [j.id for j in standin.jobs.values() if j.status not in FINISHED_AT_PROVIDER]

        yield Subject(remote, live_jobs)
        await remote.aclose()


def check_progress(reporter: HoldingReporter, *, done: bool) -> None:
    fractions = reporter.fractions
    assert fractions, "no progress was reported"
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions), "progress went backwards"
    assert all(isinstance(m, str) and m.strip() for _, m in reporter.calls)
    if done:
        assert fractions[-1] == 1.0
    else:
        assert fractions[-1] < 1.0


def check_outcome(outcome: TrainingOutcome) -> None:
    assert isinstance(outcome, TrainingOutcome)
    assert outcome.llm_model.strip()
    assert outcome.memory is None or outcome.memory.strip()


def stored(job: TrainingJob, reporter: Reporter) -> TrainingJob:
    """``job`` as the training service keeps it: with the provider's id it was told."""
    if not reporter.external_ids:
        return job
    return dataclasses.replace(job, external_id=reporter.external_ids[-1])


async def held_then_cancelled(
    subject: Subject, job: TrainingJob, examples: Sequence[Example], *, by_trainer: bool
) -> HoldingReporter:
    """Train until the first report past half way, then cancel (a trainer or a shutdown)."""
    reporter = HoldingReporter(hold_past=0.5, cancel_requested=by_trainer)
    task = asyncio.create_task(subject.backend.train(job, examples, base=BASE, report=reporter))
    async with asyncio.timeout(WITHIN):
        await reporter.holding.wait()
    task.cancel()
    async with asyncio.timeout(WITHIN):
        with pytest.raises(asyncio.CancelledError):
            await task
    return reporter


# --------------------------------------------------------------------------- training


def test_a_backend_names_itself_and_the_options_it_takes(subject: Subject) -> None:
    backend = subject.backend
    assert isinstance(backend.name, str) and backend.name.strip()
    assert isinstance(backend.supports_resume, bool)
    names = [option.name for option in backend.options]
    assert all(isinstance(option, TrainingOption) for option in backend.options)
    assert len(set(names)) == len(names)
    assert "activate" not in names  # a common option, not the backend's


async def test_training_reports_progress_and_returns_what_it_made(subject: Subject) -> None:
    reporter = HoldingReporter()

    outcome = await subject.backend.train(make_job(), EXAMPLES, base=BASE, report=reporter)

    check_outcome(outcome)
    check_progress(reporter, done=True)
    assert len(subject.produced()) == 1


async def test_two_jobs_make_two_different_outcomes(subject: Subject) -> None:
    first = await subject.backend.train(
        make_job("job-1"), EXAMPLES, base=BASE, report=HoldingReporter()
    )
    second = await subject.backend.train(
        make_job("job-2"), EXAMPLES[:2], base=BASE, report=HoldingReporter()
    )

    assert (first.llm_model, first.memory) != (second.llm_model, second.memory)
    assert len(subject.produced()) == 2


async def test_an_empty_snapshot_fails_with_a_message_and_makes_nothing(
    subject: Subject,
) -> None:
    with pytest.raises(TrainingFailed) as failed:
        await subject.backend.train(make_job(), (), base=BASE, report=HoldingReporter())

    assert "no examples" in failed.value.user_message
    assert subject.produced() == []


# --------------------------------------------------------------------------- cancelling


async def test_a_trainer_cancelling_stops_the_job_and_leaves_nothing_to_use(
    subject: Subject,
) -> None:
    reporter = await held_then_cancelled(subject, make_job(), EXAMPLES, by_trainer=True)

    check_progress(reporter, done=False)
    assert subject.produced() == []
    again = await subject.backend.train(
        make_job("job-2"), EXAMPLES, base=BASE, report=HoldingReporter()
    )
    check_outcome(again)  # the backend still trains after a cancel
    assert len(subject.produced()) == 1


# --------------------------------------------------------------------------- resuming


async def test_a_job_stopped_by_a_shutdown_is_carried_on_by_resume(subject: Subject) -> None:
    assert subject.backend.supports_resume
    job = make_job()
    before = await held_then_cancelled(subject, job, EXAMPLES, by_trainer=False)
    after = HoldingReporter()

    outcome = await subject.backend.resume(stored(job, before), EXAMPLES, base=BASE, report=after)

    check_outcome(outcome)
    check_progress(after, done=True)
    assert len(subject.produced()) == 1


async def test_resuming_a_finished_job_gives_the_same_outcome_and_nothing_more(
    subject: Subject,
) -> None:
    assert subject.backend.supports_resume
    job = make_job()
    first = HoldingReporter()
    trained = await subject.backend.train(job, EXAMPLES, base=BASE, report=first)
    again = HoldingReporter()

    resumed = await subject.backend.resume(stored(job, first), EXAMPLES, base=BASE, report=again)

    assert (resumed.llm_model, resumed.memory) == (trained.llm_model, trained.memory)
    check_progress(again, done=True)
    assert len(subject.produced()) == 1


async def test_resuming_a_job_that_never_started_trains_it(subject: Subject) -> None:
    assert subject.backend.supports_resume
    reporter = HoldingReporter()

    outcome = await subject.backend.resume(make_job(), EXAMPLES, base=BASE, report=reporter)

    check_outcome(outcome)
    check_progress(reporter, done=True)
    assert len(subject.produced()) == 1

"""Fixtures: the fine-tuning stand-in, backends on it, and a training service over them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.finetune_openai import OpenAIFineTuningBackend
from domain.models import (
    Actor,
    ChatMessage,
    Dataset,
    Example,
    ExampleSource,
    JobStatus,
    Role,
    TrainingJob,
)
from domain.services.models import ModelService
from domain.services.training import TrainingService
from tests.fakes import FakeDatabase
from tests.standins.finetune_server import FineTuneStandin

API_KEY = "sk-test-9b2e7d41c0a3f856"
BASE_MODEL = "standin-model"
T0 = datetime(2025, 6, 1, 9, 0, tzinfo=UTC)
TRAINER = Actor("t1", "Ada", is_trainer=True)

MakeBackend = Callable[..., OpenAIFineTuningBackend]
MakeTraining = Callable[..., TrainingService]


def example(
    n: int, prompt: str, answer: str, rejected: str | None = None, *, dataset: str = "faq"
) -> Example:
    return Example(
        id=f"ex-{n}",
        dataset=dataset,
        messages=(ChatMessage(Role.USER, prompt),),
        answer=answer,
        source=ExampleSource.CORRECTION if rejected else ExampleSource.MANUAL,
        created_at=T0 + timedelta(minutes=n),
        rejected=rejected,
    )


FAQ = (
    example(1, "How do I start a training job?", "Use /train start.", "Type !train."),
    example(2, "Как выбрать датасет?", "Команда /dataset select.", "Никак."),
    example(3, "Which command tests a model?", "/test with a JSON or JSONL file."),
    example(4, "How do I roll back a model?", "/model rollback."),
)
PAIRS = sum(1 for e in FAQ if e.rejected)


@pytest.fixture
async def standin() -> AsyncIterator[FineTuneStandin]:
    async with FineTuneStandin(fine_tunable=(BASE_MODEL,), api_key=API_KEY) as server:
        yield server


@pytest.fixture
async def make_backend(standin: FineTuneStandin) -> AsyncIterator[MakeBackend]:
    """Backends on the stand-in: fast polls, no retries inside a request."""
    made: list[OpenAIFineTuningBackend] = []

    def make(**overrides: Any) -> OpenAIFineTuningBackend:
        settings: dict[str, Any] = {
            "base_url": standin.base_url,
            "api_key": API_KEY,
            "poll_interval": 0.005,
            "max_poll_interval": 0.04,
            "timeout": 5.0,
            "max_retries": 0,
            "max_poll_failures": 3,
        }
        backend = OpenAIFineTuningBackend(**(settings | overrides))
        made.append(backend)
        return backend

    yield make
    for backend in made:
        await backend.aclose()


@pytest.fixture
async def db() -> FakeDatabase:
    database = FakeDatabase()
    async with database.unit_of_work() as uow:
        await uow.datasets.add(Dataset(name="faq", created_at=T0))
        await uow.datasets.add_examples(FAQ)
        await uow.datasets.add(Dataset(name="plain", created_at=T0))
        await uow.datasets.add_examples(
            [example(10, "What does /hi do?", "It greets.", dataset="plain")]
        )
        await uow.commit()
    return database


@pytest.fixture
async def models(db: FakeDatabase) -> ModelService:
    service = ModelService(uow=db.unit_of_work)
    await service.ensure_base(BASE_MODEL)
    return service


@pytest.fixture
async def make_training(db: FakeDatabase, models: ModelService) -> AsyncIterator[MakeTraining]:
    made: list[TrainingService] = []

    def make(backend: OpenAIFineTuningBackend) -> TrainingService:
        service = TrainingService(
            uow=db.unit_of_work,
            backends={backend.name: backend},
            models=models,
            default_backend=backend.name,
            progress_interval=0,
        )
        made.append(service)
        return service

    yield make
    for service in made:
        await service.aclose()


@dataclass
class Reporter:
    """A ``JobReporter`` for calling the backend directly."""

    calls: list[tuple[float, str]] = field(default_factory=list)
    external_ids: list[str] = field(default_factory=list)
    cancel_requested: bool = False

    async def __call__(self, fraction: float, message: str) -> None:
        self.calls.append((fraction, message))

    async def record_external_id(self, external_id: str) -> None:
        self.external_ids.append(external_id)


def running_job(job_id: str = "job-1", *, external_id: str | None = None) -> TrainingJob:
    return TrainingJob(
        id=job_id,
        dataset="faq",
        backend="openai",
        status=JobStatus.RUNNING,
        created_by=TRAINER,
        created_at=T0,
        example_count=len(FAQ),
        external_id=external_id,
    )

"""TrainingService: lifecycle, snapshots, queueing, cancel, failures, recovery, listeners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import replace

import pytest
import structlog

import domain.services.training as training_module
from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.models import (
    Actor,
    ChatMessage,
    Dataset,
    Example,
    ExampleSource,
    JobStatus,
    ModelVersion,
    Role,
    TrainingJob,
    TrainingOption,
    TrainingOutcome,
)
from domain.ports import ProgressReporter
from domain.services.models import ModelService
from domain.services.training import (
    BACKEND_GONE,
    NOT_RESUMABLE,
    SELECTED_DATASET,
    UNEXPECTED_FAILURE,
    TrainingService,
)
from tests.fakes import FakeDatabase, FakeExampleMemory, FakeTrainingBackend
from tests.unit.conftest import FixedClock

BASE = "base-llm"


class TrackingBackend(FakeTrainingBackend):
    """A fake backend that also records how many jobs train at once, and cancellations."""

    def __init__(
        self,
        name: str = "fake",
        *,
        memory: FakeExampleMemory | None = None,
        supports_resume: bool = True,
    ) -> None:
        super().__init__(name, memory=memory, supports_resume=supports_resume)
        self.active = 0
        self.peak = 0
        self.order: list[str] = []
        self.saw_cancel: list[str] = []
        self.context: list[dict[str, object]] = []

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        self.active += 1
        self.peak = max(self.peak, self.active)
        self.order.append(job.id)
        self.context.append(structlog.contextvars.get_contextvars())
        try:
            return await super().train(job, examples, base=base, report=report)
        except asyncio.CancelledError:
            self.saw_cancel.append(job.id)
            raise
        finally:
            self.active -= 1


class CrashingBackend(FakeTrainingBackend):
    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        await report(0.5, "half way")
        raise RuntimeError("disk full at /srv/secret-path token=abc123")


async def finished(service: TrainingService, job_id: str) -> TrainingJob:
    """``service.wait`` with a generous guard, so that a bug fails instead of hanging."""
    async with asyncio.timeout(30):
        return await service.wait(job_id)


async def eventually(condition: Callable[[], object], *, spins: int = 1000) -> None:
    """Let the event loop run until ``condition()`` holds (no sleeps, no timing)."""
    for _ in range(spins):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never became true")


async def seed(db: FakeDatabase, name: str = "faq", count: int = 3, *, select: bool = True) -> None:
    uow = db.unit_of_work()
    async with uow:
        if await uow.datasets.get(name) is None:
            await uow.datasets.add(Dataset(name=name, created_at=FixedClock()()))
        offset = len(await uow.datasets.examples(name))
        await uow.datasets.add_examples(
            [
                Example(
                    id=f"{name}-{offset + i}",
                    dataset=name,
                    messages=(ChatMessage(Role.USER, f"question {offset + i}"),),
                    answer=f"answer {offset + i}",
                    source=ExampleSource.MANUAL,
                    created_at=FixedClock()(),
                )
                for i in range(count)
            ]
        )
        if select:
            await uow.state.set(SELECTED_DATASET, name)
        await uow.commit()


async def build_models(db: FakeDatabase, clock: FixedClock) -> ModelService:
    models = ModelService(uow=db.unit_of_work, clock=clock)
    await models.ensure_base(BASE)
    return models


@pytest.fixture
def backend(example_memory: FakeExampleMemory) -> TrackingBackend:
    return TrackingBackend("fake", memory=example_memory)


@pytest.fixture
async def models(db: FakeDatabase, clock: FixedClock) -> ModelService:
    return await build_models(db, clock)


@pytest.fixture
async def training(
    db: FakeDatabase, models: ModelService, backend: TrackingBackend, clock: FixedClock
) -> AsyncIterator[TrainingService]:
    await seed(db)
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": backend},
        models=models,
        default_backend="fake",
        progress_interval=0,
        clock=clock,
    )
    yield service
    await service.aclose()


def closed_gate(backend: FakeTrainingBackend) -> asyncio.Event:
    backend.gate = asyncio.Event()
    return backend.gate


async def test_a_job_goes_queued_running_succeeded_and_its_version_becomes_active(
    training: TrainingService, trainer: Actor, db: FakeDatabase, clock: FixedClock
) -> None:
    seen: list[TrainingJob] = []

    async def record(job: TrainingJob) -> None:
        seen.append(job)

    training.watch(record)
    job = await training.start(trainer)
    assert (job.status, job.dataset, job.example_count) == (JobStatus.QUEUED, "faq", 3)
    assert job.base_model_version == BASE

    done = await finished(training, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.model_version == f"{BASE}@mem-0001"
    assert done.progress == 1.0 and done.error is None
    assert done.started_at is not None and done.finished_at is not None
    assert done.started_at < done.finished_at

    statuses = [j.status for j in seen]
    assert statuses[0] is JobStatus.QUEUED and statuses[-1] is JobStatus.SUCCEEDED
    assert set(statuses[1:-1]) == {JobStatus.RUNNING}
    progress = [j.progress for j in seen]
    assert progress == sorted(progress)
    assert [j.message for j in seen if j.message.startswith("step")] == [
        "step 1 of 3",
        "step 2 of 3",
        "step 3 of 3",
    ]

    version = db.committed.versions[f"{BASE}@mem-0001"]
    assert (version.llm_model, version.memory, version.job_id) == (BASE, "mem-0001", job.id)
    fresh = ModelService(uow=db.unit_of_work, clock=clock)  # what another process reads
    assert (await fresh.active()).name == f"{BASE}@mem-0001"


async def test_activate_false_registers_the_version_without_activating_it(
    training: TrainingService, trainer: Actor, models: ModelService, db: FakeDatabase
) -> None:
    job = await training.start(trainer, options={"Activate": "FALSE"})
    assert job.options == {"activate": "false"}
    done = await finished(training, job.id)
    assert done.status is JobStatus.SUCCEEDED
    assert done.model_version in db.committed.versions
    assert (await models.active()).name == BASE


async def test_progress_writes_are_throttled_but_the_final_state_is_stored(
    db: FakeDatabase, models: ModelService, trainer: Actor, clock: FixedClock
) -> None:
    await seed(db)
    backend = FakeTrainingBackend("fake", steps=50)
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": backend},
        models=models,
        default_backend="fake",
        progress_interval=0.5,
        clock=clock,
        monotonic=lambda: 100.0,  # the clock stands still: every report is "too soon"
    )
    writes: list[TrainingJob] = []

    async def record(job: TrainingJob) -> None:
        writes.append(job)

    service.watch(record)
    job = await service.start(trainer)
    done = await finished(service, job.id)
    progress_writes = [j for j in writes if j.message.startswith("step")]
    assert [j.message for j in progress_writes] == ["step 1 of 50", "step 50 of 50"]
    assert done.status is JobStatus.SUCCEEDED and done.progress == 1.0


class WobblyBackend(FakeTrainingBackend):
    """Reports progress out of order and out of range."""

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        for fraction in (0.5, 0.2, -1.0, 0.7, 1.7):
            await report(fraction, f"at {fraction}")
        return TrainingOutcome(llm_model=base.llm_model, memory="wobbly")


async def test_stored_progress_never_goes_backwards_or_out_of_range(
    db: FakeDatabase, models: ModelService, trainer: Actor
) -> None:
    await seed(db)
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": WobblyBackend("fake")},
        models=models,
        default_backend="fake",
        progress_interval=0,
    )
    stored: list[float] = []

    async def record(job: TrainingJob) -> None:
        if job.message.startswith("at "):
            stored.append(job.progress)

    service.watch(record)
    job = await service.start(trainer)
    assert (await finished(service, job.id)).model_version == f"{BASE}@wobbly"
    assert stored == [0.5, 0.5, 0.5, 0.7, 1.0]


async def test_the_job_trains_on_the_snapshot_taken_when_it_started(
    training: TrainingService, backend: TrackingBackend, trainer: Actor, db: FakeDatabase
) -> None:
    gate = closed_gate(backend)
    job = await training.start(trainer)
    await backend.started.wait()
    await seed(db, count=2)  # added while the job runs
    gate.set()
    done = await finished(training, job.id)
    assert done.status is JobStatus.SUCCEEDED
    trained_on = backend.trained[0][1]
    assert [e.id for e in trained_on] == ["faq-0", "faq-1", "faq-2"]
    assert len(db.committed.examples["faq"]) == 5


async def test_jobs_on_one_backend_run_one_at_a_time_first_come_first_served(
    training: TrainingService, backend: TrackingBackend, trainer: Actor
) -> None:
    gate = closed_gate(backend)
    jobs = [await training.start(trainer) for _ in range(3)]
    await backend.started.wait()
    assert [(await training.get(j.id)).status for j in jobs] == [
        JobStatus.RUNNING,
        JobStatus.QUEUED,
        JobStatus.QUEUED,
    ]
    gate.set()
    done = [await finished(training, j.id) for j in jobs]
    assert [j.status for j in done] == [JobStatus.SUCCEEDED] * 3
    assert backend.order == [j.id for j in jobs]
    assert backend.peak == 1
    assert [j.model_version for j in done] == [f"{BASE}@mem-000{i}" for i in (1, 2, 3)]


async def test_max_concurrent_jobs_lets_that_many_run_per_backend(
    db: FakeDatabase, models: ModelService, trainer: Actor, clock: FixedClock
) -> None:
    await seed(db)
    backend = TrackingBackend("fake")
    other = TrackingBackend("other")
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": backend, "other": other},
        models=models,
        default_backend="fake",
        max_concurrent_jobs=2,
        clock=clock,
    )
    gate = closed_gate(backend)
    other.gate = gate
    jobs = [await service.start(trainer) for _ in range(3)]
    elsewhere = await service.start(trainer, backend="other")
    await eventually(lambda: backend.active == 2 and other.active == 1)
    assert (await service.get(jobs[2].id)).status is JobStatus.QUEUED
    gate.set()
    for job in [*jobs, elsewhere]:
        assert (await finished(service, job.id)).status is JobStatus.SUCCEEDED
    assert backend.peak == 2 and backend.order == [j.id for j in jobs]
    await service.aclose()


async def test_cancelling_a_queued_job_means_it_never_trains(
    training: TrainingService, backend: TrackingBackend, trainer: Actor
) -> None:
    gate = closed_gate(backend)
    first = await training.start(trainer)
    second = await training.start(trainer)
    await backend.started.wait()
    cancelled = await training.cancel(second.id, trainer)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.cancel_requested
    assert cancelled.message == "cancelled by Trainer" and cancelled.finished_at is not None
    third = await training.start(trainer)  # queued behind where the second one was
    gate.set()
    assert (await finished(training, third.id)).status is JobStatus.SUCCEEDED
    assert (await training.get(second.id)).status is JobStatus.CANCELLED
    assert backend.order == [first.id, third.id]


async def test_cancelling_a_running_job_cancels_the_backend_and_the_next_job_starts(
    training: TrainingService,
    backend: TrackingBackend,
    trainer: Actor,
    models: ModelService,
    db: FakeDatabase,
) -> None:
    gate = closed_gate(backend)
    first = await training.start(trainer)
    second = await training.start(trainer)
    await backend.started.wait()
    cancelled = await training.cancel(first.id, trainer)
    assert cancelled.status is JobStatus.CANCELLED and cancelled.model_version is None
    assert (await training.get(first.id)).status is JobStatus.CANCELLED
    assert backend.saw_cancel == [first.id]
    gate.set()
    assert (await finished(training, second.id)).status is JobStatus.SUCCEEDED
    assert backend.order == [first.id, second.id]
    assert (await models.active()).job_id == second.id
    assert [v.job_id for v in db.committed.versions.values() if v.job_id] == [second.id]


async def test_a_job_cancelled_right_after_it_was_queued_never_trains(
    training: TrainingService, backend: TrackingBackend, trainer: Actor
) -> None:
    job = await training.start(trainer)  # its task exists but has not begun
    cancelled = await training.cancel(job.id, trainer)
    assert cancelled.status is JobStatus.CANCELLED
    assert (await finished(training, job.id)).status is JobStatus.CANCELLED
    later = await training.start(trainer)
    assert (await finished(training, later.id)).status is JobStatus.SUCCEEDED
    assert backend.order == [later.id]


class HeldModels(ModelService):
    """Holds ``register`` until ``gate`` opens: the job is finishing, not training."""

    def __init__(self, db: FakeDatabase) -> None:
        super().__init__(uow=db.unit_of_work)
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def register(self, version: ModelVersion) -> ModelVersion:
        self.entered.set()
        await self.gate.wait()
        return await super().register(version)


async def test_a_job_that_is_already_finishing_cannot_be_cancelled(
    db: FakeDatabase, models: ModelService, trainer: Actor
) -> None:
    await seed(db)
    held = HeldModels(db)
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": FakeTrainingBackend("fake")},
        models=held,
        default_backend="fake",
    )
    job = await service.start(trainer)
    await held.entered.wait()
    cancelling = asyncio.create_task(service.cancel(job.id, trainer))
    for _ in range(10):
        await asyncio.sleep(0)  # the cancel request arrives while the version is registered
    assert not cancelling.done()
    held.gate.set()
    with pytest.raises(Conflict) as caught:
        await cancelling
    assert "already finished (succeeded)" in caught.value.user_message
    done = await finished(service, job.id)
    assert done.status is JobStatus.SUCCEEDED and (await held.active()).name == done.model_version
    await service.aclose()


async def test_cancelling_a_finished_job_is_a_conflict(
    training: TrainingService, trainer: Actor
) -> None:
    job = await training.start(trainer)
    await finished(training, job.id)
    with pytest.raises(Conflict) as caught:
        await training.cancel(job.id, trainer)
    assert "already finished (succeeded)" in caught.value.user_message


async def test_a_backend_domain_error_fails_the_job_with_its_message(
    db: FakeDatabase, models: ModelService, trainer: Actor, clock: FixedClock
) -> None:
    await seed(db)
    backend = FakeTrainingBackend("fake", fail_with="The dataset needs at least 10 examples.")
    service = TrainingService(
        uow=db.unit_of_work, backends={"fake": backend}, models=models, default_backend="fake"
    )
    job = await service.start(trainer)
    done = await finished(service, job.id)
    assert done.status is JobStatus.FAILED
    assert done.error == "The dataset needs at least 10 examples."
    assert done.model_version is None
    assert (await models.active()).name == BASE


async def test_an_unexpected_backend_error_fails_the_job_without_leaking_its_text(
    db: FakeDatabase, models: ModelService, trainer: Actor
) -> None:
    await seed(db)
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": CrashingBackend("fake")},
        models=models,
        default_backend="fake",
    )
    with structlog.testing.capture_logs() as logs:
        job = await service.start(trainer)
        done = await finished(service, job.id)
    assert done.status is JobStatus.FAILED
    assert done.error == UNEXPECTED_FAILURE
    assert done.progress == 0.5  # the last progress is kept
    assert "secret" not in f"{done.error} {done.message}"
    crash = [e for e in logs if e["event"] == "training_job_crashed"]
    assert len(crash) == 1 and crash[0]["log_level"] == "error" and crash[0]["exc_info"]


async def test_the_job_id_is_bound_to_the_log_context_inside_the_job(
    training: TrainingService, backend: TrackingBackend, trainer: Actor
) -> None:
    job = await training.start(trainer)
    await finished(training, job.id)
    assert backend.context == [{"job_id": job.id}]
    assert "job_id" not in structlog.contextvars.get_contextvars()


async def test_unknown_backends_and_options_are_refused_with_what_is_available(
    training: TrainingService, trainer: Actor, db: FakeDatabase
) -> None:
    with pytest.raises(InvalidInput) as caught:
        await training.start(trainer, backend="gpu-cluster")
    assert caught.value.user_message == (
        "There is no training backend named 'gpu-cluster'; available: fake."
    )
    with pytest.raises(InvalidInput) as caught:
        await training.start(trainer, options={"epochs": "3"})
    assert "no option 'epochs'" in caught.value.user_message
    assert "activate" in caught.value.user_message
    with pytest.raises(InvalidInput) as caught:
        await training.start(trainer, options={"activate": "maybe"})
    assert caught.value.user_message == "The option 'activate' must be one of: true, false."
    assert db.committed.jobs == {}


async def test_a_backend_can_declare_its_own_options(
    db: FakeDatabase, models: ModelService, trainer: Actor
) -> None:
    await seed(db)
    backend = FakeTrainingBackend("fake")
    backend.options = (TrainingOption("method", "what to train", ("sft", "dpo")),)
    service = TrainingService(
        uow=db.unit_of_work, backends={"fake": backend}, models=models, default_backend="fake"
    )
    job = await service.start(trainer, options={"method": "DPO", "activate": "true"})
    assert job.options == {"method": "dpo", "activate": "true"}
    assert [o.name for o in service.options("fake")] == ["activate", "method"]
    await finished(service, job.id)


async def test_members_cannot_start_or_cancel_jobs(
    training: TrainingService, trainer: Actor, member: Actor, db: FakeDatabase
) -> None:
    with pytest.raises(PermissionDenied):
        await training.start(member)
    assert db.committed.jobs == {}
    job = await training.start(trainer)
    with pytest.raises(PermissionDenied):
        await training.cancel(job.id, member)
    assert (await finished(training, job.id)).status is JobStatus.SUCCEEDED


async def test_the_dataset_must_be_selected_known_and_not_empty(
    db: FakeDatabase, models: ModelService, trainer: Actor
) -> None:
    service = TrainingService(
        uow=db.unit_of_work,
        backends={"fake": FakeTrainingBackend("fake")},
        models=models,
        default_backend="fake",
    )
    with pytest.raises(InvalidInput) as caught:
        await service.start(trainer)
    assert "No dataset is selected" in caught.value.user_message
    with pytest.raises(NotFound):
        await service.start(trainer, dataset="nope")
    await seed(db, "empty", count=0, select=False)
    with pytest.raises(InvalidInput) as caught:
        await service.start(trainer, dataset="Empty")
    assert caught.value.user_message == (
        "The dataset 'empty' has no examples yet; add or import some first."
    )
    await seed(db, "other", count=2, select=False)
    job = await service.start(trainer, dataset=" Other ")
    assert (job.dataset, job.example_count) == ("other", 2)
    await finished(service, job.id)


async def test_listeners_are_called_and_a_failing_one_does_not_break_the_job(
    training: TrainingService, trainer: Actor, monkeypatch: pytest.MonkeyPatch
) -> None:
    # app.logging caches loggers on first use: one cached while an earlier in-process
    # test had logging configured would bypass capture_logs. Log through a fresh one.
    monkeypatch.setattr(training_module, "log", structlog.get_logger())
    calls: list[JobStatus] = []
    later: list[JobStatus] = []

    async def broken(job: TrainingJob) -> None:
        raise RuntimeError("listener bug")

    async def record(job: TrainingJob) -> None:
        calls.append(job.status)

    async def unsubscribed(job: TrainingJob) -> None:
        later.append(job.status)

    training.watch(broken)
    training.watch(record)
    unsubscribe = training.watch(unsubscribed)
    unsubscribe()
    with structlog.testing.capture_logs() as logs:
        job = await training.start(trainer)
        assert (await finished(training, job.id)).status is JobStatus.SUCCEEDED
    assert calls[0] is JobStatus.QUEUED and calls[-1] is JobStatus.SUCCEEDED
    assert calls == [JobStatus.QUEUED] + [JobStatus.RUNNING] * 4 + [JobStatus.SUCCEEDED]
    assert later == []
    failures = [e for e in logs if e["event"] == "training_listener_failed"]
    assert len(failures) == len(calls)


async def restart(
    db: FakeDatabase, clock: FixedClock, backend: FakeTrainingBackend | None
) -> TrainingService:
    """A new process over the same storage."""
    return TrainingService(
        uow=db.unit_of_work,
        backends={} if backend is None else {backend.name: backend},
        models=await build_models(db, clock),
        default_backend="fake",
        clock=clock,
    )


async def stop_with_two_unfinished_jobs(
    training: TrainingService, backend: TrackingBackend, trainer: Actor
) -> tuple[TrainingJob, TrainingJob]:
    """The bot (it recovers at its start) stops cleanly with a job running, one queued."""
    assert await training.recover() == []
    closed_gate(backend)
    running = await training.start(trainer)
    queued = await training.start(trainer)
    await backend.started.wait()
    await training.aclose()  # the bot stops: its jobs are handed back, not cancelled
    for job, status in ((running, JobStatus.RUNNING), (queued, JobStatus.QUEUED)):
        stored = await training.get(job.id)
        assert stored.status is status and stored.owner is None
    return running, queued


async def test_after_a_restart_a_resumable_backend_resumes_and_the_queue_goes_on(
    training: TrainingService,
    backend: TrackingBackend,
    trainer: Actor,
    db: FakeDatabase,
    clock: FixedClock,
) -> None:
    running, queued = await stop_with_two_unfinished_jobs(training, backend, trainer)
    fresh_backend = TrackingBackend("fake", supports_resume=True)
    service = await restart(db, clock, fresh_backend)
    recovered = await service.recover()
    assert [j.id for j in recovered] == [running.id, queued.id]
    assert (await finished(service, running.id)).status is JobStatus.SUCCEEDED
    assert (await finished(service, queued.id)).status is JobStatus.SUCCEEDED
    assert fresh_backend.resumed == [running.id]
    assert fresh_backend.order == [running.id, queued.id]
    await service.aclose()


async def test_after_a_restart_a_running_job_on_a_non_resumable_backend_fails_clearly(
    training: TrainingService,
    backend: TrackingBackend,
    trainer: Actor,
    db: FakeDatabase,
    clock: FixedClock,
) -> None:
    running, queued = await stop_with_two_unfinished_jobs(training, backend, trainer)
    fresh_backend = TrackingBackend("fake", supports_resume=False)
    service = await restart(db, clock, fresh_backend)
    await service.recover()
    failed = await service.get(running.id)
    assert failed.status is JobStatus.FAILED and failed.error == NOT_RESUMABLE
    assert failed.finished_at is not None
    assert (await finished(service, queued.id)).status is JobStatus.SUCCEEDED  # never started: runs
    assert fresh_backend.resumed == [] and fresh_backend.order == [queued.id]
    await service.aclose()


async def test_after_a_restart_without_the_backend_no_job_is_left_unfinished(
    training: TrainingService,
    backend: TrackingBackend,
    trainer: Actor,
    db: FakeDatabase,
    clock: FixedClock,
) -> None:
    running, queued = await stop_with_two_unfinished_jobs(training, backend, trainer)
    service = await restart(db, clock, None)
    recovered = await service.recover()
    assert {j.id: j.error for j in recovered} == {
        running.id: NOT_RESUMABLE,
        queued.id: BACKEND_GONE,
    }
    async with db.unit_of_work() as uow:
        assert await uow.jobs.unfinished() == []
    await service.aclose()


async def test_a_remembered_report_lasts_until_it_is_forgotten(
    training: TrainingService, db: FakeDatabase, trainer: Actor
) -> None:
    first = await training.start(trainer)
    second = await training.start(trainer)
    await training.remember_report(first.id, {"channel_id": "1", "message_id": "2"})
    await training.remember_report(second.id, {"channel_id": "3", "message_id": "4"})
    await finished(training, second.id)

    reports = await training.reports()
    assert [(job.id, where) for job, where in reports] == [
        (first.id, {"channel_id": "1", "message_id": "2"}),  # oldest first
        (second.id, {"channel_id": "3", "message_id": "4"}),
    ]
    assert reports[1][0].status is JobStatus.SUCCEEDED  # an end still to announce
    await training.forget_report(first.id)
    assert [job.id for job, _ in await training.reports()] == [second.id]


async def test_an_unreadable_report_is_skipped(
    training: TrainingService, db: FakeDatabase, trainer: Actor
) -> None:
    job = await training.start(trainer)
    uow = db.unit_of_work()
    async with uow:
        await uow.state.set(f"job_report:{job.id}", "not json")
        await uow.commit()
    assert await training.reports() == []


async def test_a_job_is_found_by_the_start_of_its_id(
    training: TrainingService, trainer: Actor, backend: TrackingBackend
) -> None:
    closed_gate(backend)
    job = await training.start(trainer)
    assert (await training.get(job.id[:8])).id == job.id
    assert (await training.get(f"  {job.id[:8].upper()} ")).id == job.id
    with pytest.raises(NotFound):
        await training.get(job.id[:3])  # too short to stand for an id
    cancelled = await training.cancel(job.id[:6], trainer)
    assert cancelled.id == job.id and cancelled.status is JobStatus.CANCELLED


async def test_an_ambiguous_start_of_an_id_asks_for_more(
    training: TrainingService, trainer: Actor, db: FakeDatabase
) -> None:
    job = await training.start(trainer)
    for twin in ("f00d0001", "f00d0002"):
        db.committed.jobs[twin] = replace(job, id=twin)
    with pytest.raises(InvalidInput, match="give more of the id"):
        await training.get("f00d")
    assert (await training.get("f00d0002")).id == "f00d0002"

"""Who holds a training job: heartbeats, orphans failed or taken over, handing back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from domain.models import Actor, JobOwner, JobStatus, TrainingJob
from domain.services.models import ModelService
from domain.services.training import INTERRUPTED_QUEUED, INTERRUPTED_RUNNING, TrainingService
from tests.fakes import FakeDatabase, FakeProcessProbe
from tests.unit.conftest import FixedClock
from tests.unit.test_training_service import (
    TrackingBackend,
    build_models,
    closed_gate,
    finished,
    seed,
)

HOST = "here"


class Processes:
    """Training services over one database, as separate processes would be."""

    def __init__(self, db: FakeDatabase, clock: FixedClock) -> None:
        self.db = db
        self.clock = clock
        self.probe = FakeProcessProbe(HOST)
        self.started: list[TrainingService] = []

    async def start(
        self, pid: int, *, host: str = HOST, interval: float = 60.0, ticks: Ticks | None = None
    ) -> tuple[TrainingService, TrackingBackend]:
        """A process with a training service; its backend holds every job until opened."""
        backend = TrackingBackend("fake")
        closed_gate(backend)
        models: ModelService = await build_models(self.db, self.clock)
        service = TrainingService(
            uow=self.db.unit_of_work,
            backends={"fake": backend},
            models=models,
            default_backend="fake",
            progress_interval=0,
            owner=JobOwner(host=host, pid=pid, token=f"token-{pid}"),
            processes=self.probe,
            heartbeat_interval=interval,
            clock=self.clock,
            sleep=ticks or Ticks(),
        )
        self.probe.running.add(pid)
        self.started.append(service)
        return service, backend

    def kill(self, pid: int) -> None:
        """``kill -9``: the process is gone, nothing of it runs any more."""
        self.probe.running.discard(pid)

    async def stored(self, job_id: str) -> TrainingJob:
        async with self.db.unit_of_work() as uow:
            job = await uow.jobs.get(job_id)
        assert job is not None
        return job


@pytest.fixture
async def processes(db: FakeDatabase, clock: FixedClock) -> AsyncIterator[Processes]:
    await seed(db)
    found = Processes(db, clock)
    yield found
    for service in found.started:
        await service.aclose()


async def two_jobs(service: TrainingService, backend: TrackingBackend, trainer: Actor) -> tuple[
    TrainingJob, TrainingJob
]:  # fmt: skip
    running = await service.start(trainer)
    queued = await service.start(trainer)
    await backend.started.wait()
    return running, queued


class Ticks:
    """The wait between two heartbeats, advanced by hand: ``await tick()`` returns once
    the service has done one round (its heartbeat, its look for orphans)."""

    def __init__(self) -> None:
        self._go: asyncio.Queue[None] = asyncio.Queue()
        self._waiting = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self._waiting.set()
        await self._go.get()

    async def tick(self) -> None:
        async with asyncio.timeout(10):
            await self._waiting.wait()  # between two rounds
            self._waiting.clear()
            self._go.put_nowait(None)
            await self._waiting.wait()  # done with this one


async def test_a_job_names_the_process_that_holds_it(processes: Processes, trainer: Actor) -> None:
    cli, backend = await processes.start(101)
    running, queued = await two_jobs(cli, backend, trainer)
    for job in (running, queued):
        stored = await processes.stored(job.id)
        assert stored.owner == JobOwner(HOST, 101, "token-101") == cli.owner
        assert stored.heartbeat_at is not None


async def test_a_command_that_stops_fails_its_unfinished_jobs_as_interrupted(
    processes: Processes, trainer: Actor
) -> None:
    cli, backend = await processes.start(101)
    running, queued = await two_jobs(cli, backend, trainer)
    await cli.aclose()
    failed = {job.id: await processes.stored(job.id) for job in (running, queued)}
    assert [j.status for j in failed.values()] == [JobStatus.FAILED] * 2
    assert failed[running.id].error == INTERRUPTED_RUNNING
    assert failed[queued.id].error == INTERRUPTED_QUEUED
    assert all(j.finished_at is not None for j in failed.values())


async def test_jobs_of_a_killed_process_are_failed_when_another_lists_them(
    processes: Processes, trainer: Actor
) -> None:
    first, backend = await processes.start(101)
    running, queued = await two_jobs(first, backend, trainer)
    other, _ = await processes.start(102)

    listed = {j.id: j for j in await other.all()}
    assert listed[running.id].status is JobStatus.RUNNING  # its process still runs
    assert listed[queued.id].status is JobStatus.QUEUED

    processes.kill(101)
    listed = {j.id: j for j in await other.all()}
    assert listed[running.id].status is JobStatus.FAILED
    assert listed[running.id].error == INTERRUPTED_RUNNING
    assert listed[queued.id].error == INTERRUPTED_QUEUED
    assert (await other.get(running.id)).status is JobStatus.FAILED


async def test_a_job_whose_heartbeat_went_stale_is_failed_whatever_its_host(
    processes: Processes, trainer: Actor, clock: FixedClock
) -> None:
    elsewhere, backend = await processes.start(101, host="elsewhere", interval=60)
    job = await elsewhere.start(trainer)
    await backend.started.wait()
    here, _ = await processes.start(102, interval=60)

    assert (await here.get(job.id)).status is JobStatus.RUNNING  # the probe cannot tell
    clock.advance(timedelta(seconds=3 * 60 + 1))  # three heartbeats missed
    failed = await here.get(job.id)
    assert failed.status is JobStatus.FAILED and failed.error == INTERRUPTED_RUNNING


async def test_starting_a_job_first_fails_the_orphans(processes: Processes, trainer: Actor) -> None:
    first, backend = await processes.start(101)
    orphan = await first.start(trainer)
    await backend.started.wait()
    processes.kill(101)
    other, other_backend = await processes.start(102)
    other_backend.gate = None
    mine = await other.start(trainer)
    assert (await processes.stored(orphan.id)).error == INTERRUPTED_RUNNING
    assert (await finished(other, mine.id)).status is JobStatus.SUCCEEDED


async def test_the_bot_takes_over_the_jobs_of_a_killed_process_and_runs_them(
    processes: Processes, trainer: Actor
) -> None:
    cli, backend = await processes.start(101)
    running, queued = await two_jobs(cli, backend, trainer)
    processes.kill(101)
    bot, bot_backend = await processes.start(102)
    bot_backend.gate = None

    recovered = await bot.recover()
    assert [j.id for j in recovered] == [running.id, queued.id]
    assert all(j.owner == bot.owner for j in recovered)
    assert (await finished(bot, running.id)).status is JobStatus.SUCCEEDED
    assert (await finished(bot, queued.id)).status is JobStatus.SUCCEEDED
    assert bot_backend.resumed == [running.id] and bot_backend.order == [running.id, queued.id]


async def test_jobs_the_bot_handed_back_wait_for_its_next_start(
    processes: Processes, trainer: Actor
) -> None:
    bot, backend = await processes.start(101)
    assert await bot.recover() == []
    running, queued = await two_jobs(bot, backend, trainer)
    await bot.aclose()  # a clean stop: handed back
    processes.kill(101)

    cli, _ = await processes.start(102)
    listed = {j.id: j for j in await cli.all()}
    assert listed[running.id].status is JobStatus.RUNNING and listed[running.id].owner is None
    assert listed[queued.id].status is JobStatus.QUEUED and listed[queued.id].owner is None

    again, again_backend = await processes.start(103)
    again_backend.gate = None
    assert [j.id for j in await again.recover()] == [running.id, queued.id]
    assert (await finished(again, queued.id)).status is JobStatus.SUCCEEDED


async def test_a_process_holding_jobs_refreshes_their_heartbeat(
    processes: Processes, trainer: Actor
) -> None:
    ticks = Ticks()
    cli, backend = await processes.start(101, ticks=ticks)
    job = await cli.start(trainer)
    await backend.started.wait()
    first = (await processes.stored(job.id)).heartbeat_at
    assert first is not None
    await ticks.tick()
    second = (await processes.stored(job.id)).heartbeat_at
    assert second is not None and second > first
    await ticks.tick()
    third = await processes.stored(job.id)
    assert third.heartbeat_at is not None and third.heartbeat_at > second
    assert third.status is JobStatus.RUNNING


async def test_the_running_bot_takes_over_jobs_orphaned_after_its_start(
    processes: Processes, trainer: Actor
) -> None:
    ticks = Ticks()
    bot, bot_backend = await processes.start(102, ticks=ticks)
    bot_backend.gate = None
    assert await bot.recover() == []
    cli, backend = await processes.start(101)
    job = await cli.start(trainer)
    await backend.started.wait()
    await ticks.tick()
    assert (await processes.stored(job.id)).owner == cli.owner  # its process runs
    processes.kill(101)
    await ticks.tick()  # nobody asked: the bot's next round finds it
    assert (await processes.stored(job.id)).owner == bot.owner
    assert (await finished(bot, job.id)).status is JobStatus.SUCCEEDED
    assert bot_backend.resumed == [job.id]

"""A working training backend: reports progress, can be held, failed or cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

from domain.errors import TrainingFailed
from domain.models import (
    Example,
    JobOwner,
    ModelVersion,
    TrainingJob,
    TrainingOption,
    TrainingOutcome,
)
from domain.ports import ProgressReporter
from tests.fakes.memory import FakeExampleMemory

T = TypeVar("T")


class FakeTrainingBackend:
    """Trains in ``steps`` steps; each step waits for ``gate`` when one is set.

    The memory it produces is put into ``memory`` (a ``FakeExampleMemory``) so the
    chat service can retrieve from it, as with the real local backend. Like the real
    backends, it refuses an empty snapshot, and resuming a job it already finished
    gives the same outcome again instead of a second memory.
    """

    def __init__(
        self,
        name: str = "fake",
        *,
        memory: FakeExampleMemory | None = None,
        steps: int = 3,
        supports_resume: bool = True,
        fail_with: str | None = None,
        options: tuple[TrainingOption, ...] = (),
    ) -> None:
        self.options = options
        self.name = name
        self.memory = memory
        self.steps = steps
        self.supports_resume = supports_resume
        self.fail_with = fail_with
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.trained: list[tuple[str, list[Example]]] = []
        self.resumed: list[str] = []
        self._count = 0
        self._outcomes: dict[str, TrainingOutcome] = {}  # by job id

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        self.started.set()
        if not examples:
            raise TrainingFailed(
                "The training snapshot has no examples: add examples to the dataset, "
                "then start training again."
            )
        for step in range(self.steps):
            if self.gate is not None:
                await self.gate.wait()
            await report((step + 1) / self.steps, f"step {step + 1} of {self.steps}")
        if self.fail_with is not None:
            raise TrainingFailed(self.fail_with)
        self._count += 1
        memory = f"mem-{self._count:04d}"
        if self.memory is not None:
            self.memory.put(memory, examples)
        self.trained.append((job.id, list(examples)))
        outcome = TrainingOutcome(llm_model=base.llm_model, memory=memory)
        self._outcomes[job.id] = outcome
        return outcome

    async def resume(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        self.resumed.append(job.id)
        finished = self._outcomes.get(job.id)
        if finished is not None:
            await report(1.0, f"already trained: {finished.memory}")
            return finished
        return await self.train(job, examples, base=base, report=report)


async def inline_offload(fn: Callable[[], T]) -> T:
    """An ``Offload`` that runs the function in place (tests only)."""
    return fn()


class FakeProcessProbe:
    """A ``ProcessProbe`` over pretend processes on ``host``: pids in ``running`` run,
    any other pid there has stopped; owners on other hosts cannot be told."""

    def __init__(self, host: str = "here", running: Iterable[int] = ()) -> None:
        self.host = host
        self.running = set(running)

    def alive(self, owner: JobOwner) -> bool | None:
        if owner.host != self.host:
            return None
        return owner.pid in self.running

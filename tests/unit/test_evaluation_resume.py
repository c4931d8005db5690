"""Evaluation runs stored as they go: interrupted when stopped or killed, then resumed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import replace

import pytest

from domain.errors import Conflict, ModelUnavailable, NotFound
from domain.models import (
    Actor,
    ChatMessage,
    Completion,
    EvalRun,
    EvalStatus,
    GenerationOptions,
    JobOwner,
    TestCase,
)
from domain.scoring import score_case, summarise
from domain.services.chat import ChatPolicy, ChatService
from domain.services.evaluation import EvaluationService
from domain.services.models import ModelService
from tests.fakes import (
    FakeArtifactStore,
    FakeChatModel,
    FakeDatabase,
    FakeExampleMemory,
    FakeProcessProbe,
)
from tests.unit.conftest import FixedClock
from tests.unit.test_evaluation_service import BASE, last_question
from tests.unit.test_training_owners import HOST, Ticks

HOLD = "Wait for it?"
CASES = [TestCase(input=f"question {n}?", expected=f"answer {n}") for n in range(3)]
LATER = [TestCase(input=HOLD, expected="held"), TestCase(input="question 9?", expected="answer 9")]


class HeldChatModel(FakeChatModel):
    """Answers "answer N" to "question N?"; holds ``HOLD`` until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(lambda m: last_question(m).replace("question", "answer").rstrip("?"))
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        self.asked: list[str] = []

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        question = last_question(messages)
        self.asked.append(question)
        if question == HOLD:
            self.holding.set()
            await self.release.wait()
            return Completion(text="held", model=model)
        return await super().complete(messages, model=model, options=options)


class Process:
    """One process's evaluation service over the shared database."""

    def __init__(
        self, db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, pid: int
    ) -> None:
        self.llm = HeldChatModel()
        self.ticks = Ticks()
        models = ModelService(uow=db.unit_of_work, clock=clock)
        chat = ChatService(
            uow=db.unit_of_work,
            llm=self.llm,
            models=models,
            policy=ChatPolicy(system_prompt="Be brief."),
            memory=FakeExampleMemory(),
            clock=clock,
        )
        self.models = models
        self.evaluation = EvaluationService(
            uow=db.unit_of_work,
            chat=chat,
            models=models,
            artifacts=FakeArtifactStore(clock=clock),
            concurrency=1,
            owner=JobOwner(host=HOST, pid=pid, token=f"token-{pid}"),
            processes=probe,
            save_interval=0,
            clock=clock,
            sleep=self.ticks,
        )
        probe.running.add(pid)


@pytest.fixture
def probe() -> FakeProcessProbe:
    return FakeProcessProbe(HOST)


async def process(
    db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, pid: int
) -> Process:
    found = Process(db, clock, probe, pid)
    await found.models.ensure_base(BASE)
    return found


async def stored(db: FakeDatabase, run_id: str) -> EvalRun:
    async with db.unit_of_work() as uow:
        run = await uow.evals.get(run_id)
    assert run is not None
    return run


async def only_run(db: FakeDatabase) -> EvalRun:
    async with db.unit_of_work() as uow:
        (run,) = await uow.evals.all()
    return run


async def test_results_are_stored_as_they_come_and_a_stopped_run_is_kept_interrupted(
    db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, trainer: Actor
) -> None:
    p = await process(db, clock, probe, 101)
    task = asyncio.create_task(p.evaluation.run([*CASES, *LATER], trainer))
    await p.llm.holding.wait()
    going = await only_run(db)
    assert going.status is EvalStatus.RUNNING and going.owner == p.evaluation.owner
    assert [r.case for r in going.results] == CASES and going.pending == tuple(LATER)
    assert going.scores.cases == 3 and going.scores.passed == 3

    await p.ticks.tick()  # a heartbeat while the held case waits
    beat = (await stored(db, going.id)).heartbeat_at
    assert beat is not None and going.heartbeat_at is not None and beat > going.heartbeat_at

    task.cancel()  # SIGTERM, Ctrl-C
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped = await stored(db, going.id)
    assert stopped.status is EvalStatus.INTERRUPTED
    assert [r.case for r in stopped.results] == CASES and stopped.pending == tuple(LATER)


async def test_a_run_whose_process_was_killed_is_listed_interrupted_and_resumed_to_the_end(
    db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, trainer: Actor
) -> None:
    done = tuple(score_case(c, c.expected or "") for c in CASES[:2])
    left = EvalRun(  # as a killed process left it
        id="0f" * 16, model_version=BASE, created_at=clock(), results=done,
        scores=summarise(list(done)), created_by=trainer, name="nightly",
        status=EvalStatus.RUNNING, pending=(CASES[2], *LATER),
        owner=JobOwner(host=HOST, pid=101, token="token-101"), heartbeat_at=clock(),
    )  # fmt: skip
    async with db.unit_of_work() as uow:
        await uow.evals.add(left)
        await uow.commit()
    p = await process(db, clock, probe, 102)
    probe.running.add(101)
    assert (await p.evaluation.get(left.id)).status is EvalStatus.RUNNING  # it still runs
    with pytest.raises(Conflict, match="still running in process 101"):
        await p.evaluation.resume(left.id, trainer)

    probe.running.discard(101)  # kill -9
    (listed,) = await p.evaluation.all()
    assert listed.status is EvalStatus.INTERRUPTED and listed.results == done

    p.llm.release.set()
    finished = await p.evaluation.resume(left.id[:8], trainer)
    assert finished.status is EvalStatus.COMPLETE and finished.pending == ()
    assert [r.case for r in finished.results] == [*CASES, *LATER]
    assert finished.scores.cases == 5 and finished.name == "nightly"
    assert p.llm.asked == [CASES[2].input, HOLD, LATER[1].input]  # only what was left
    assert await stored(db, left.id) == finished
    with pytest.raises(Conflict, match="is complete"):
        await p.evaluation.resume(left.id, trainer)


async def test_resuming_needs_a_run_that_exists(
    db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, trainer: Actor
) -> None:
    p = await process(db, clock, probe, 102)
    with pytest.raises(NotFound):
        await p.evaluation.resume("abcdef12", trainer)


async def test_a_run_the_model_never_answered_stores_nothing_and_a_resumed_one_stays_interrupted(
    db: FakeDatabase, clock: FixedClock, probe: FakeProcessProbe, trainer: Actor
) -> None:
    p = await process(db, clock, probe, 102)
    p.llm.unavailable = "The language model cannot be reached."
    with pytest.raises(ModelUnavailable):
        await p.evaluation.run(CASES, trainer)
    async with db.unit_of_work() as uow:
        assert await uow.evals.all() == []

    left = EvalRun(
        id="1e" * 16, model_version=BASE, created_at=clock(), results=(),
        scores=summarise([]), created_by=trainer, status=EvalStatus.INTERRUPTED,
        pending=tuple(CASES), owner=JobOwner(host=HOST, pid=101, token="token-101"),
    )  # fmt: skip
    async with db.unit_of_work() as uow:
        await uow.evals.add(left)
        await uow.commit()
    with pytest.raises(ModelUnavailable):
        await p.evaluation.resume(left.id, trainer)
    again = await stored(db, left.id)
    assert again.status is EvalStatus.INTERRUPTED and again.pending == tuple(CASES)
    assert replace(again, owner=None, heartbeat_at=None) == replace(left, owner=None)

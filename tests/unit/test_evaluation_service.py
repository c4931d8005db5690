"""EvaluationService: runs through the real ChatService, scoring, errors, compare, reports."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence

import pytest
import structlog

from domain.errors import InvalidInput, ModelTimeout, ModelUnavailable, NotFound, PermissionDenied
from domain.models import (
    Actor,
    CaseChange,
    ChatMessage,
    Completion,
    GenerationOptions,
    ModelVersion,
    Role,
    TestCase,
)
from domain.services.chat import ChatPolicy, ChatService
from domain.services.evaluation import UNEXPECTED_CASE_ERROR, EvaluationService
from domain.services.models import ModelService
from tests.fakes import FakeArtifactStore, FakeChatModel, FakeDatabase, FakeExampleMemory
from tests.unit.conftest import FixedClock

BASE = "base-llm"


def last_question(messages: Sequence[ChatMessage]) -> str:
    return next(m.content for m in reversed(messages) if m.role is Role.USER)


def answers(table: Mapping[str, str]) -> Callable[[Sequence[ChatMessage]], str]:
    """A reply function: the answer listed for the question, else "I don't know"."""

    def reply(messages: Sequence[ChatMessage]) -> str:
        question = last_question(messages)
        outcome = table.get(question, "I don't know")
        if outcome == "!timeout":
            raise ModelTimeout("The language model took too long to answer.")
        if outcome == "!crash":
            raise RuntimeError("KeyError 'secret_api_key' in /srv/app")
        return outcome

    return reply


class CountingChatModel(FakeChatModel):
    """Counts how many completions are in flight at once."""

    def __init__(
        self,
        reply: Callable[[Sequence[ChatMessage]], str],
        spins: Callable[[str], int] = lambda question: 3,
    ) -> None:
        super().__init__(reply)
        self.spins = spins  # loop turns a completion takes, by question
        self.in_flight = 0
        self.peak = 0
        self.attempts = 0

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion:
        self.attempts += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            for _ in range(self.spins(last_question(messages))):
                await asyncio.sleep(0)  # let every other case that may start, start
            return await super().complete(messages, model=model, options=options)
        finally:
            self.in_flight -= 1


class Setup:
    def __init__(
        self,
        db: FakeDatabase,
        clock: FixedClock,
        llm: FakeChatModel,
        *,
        concurrency: int = 4,
        give_up_after: int = 8,
    ) -> None:
        self.db = db
        self.clock = clock
        self.llm = llm
        self.artifacts = FakeArtifactStore(clock=clock)
        self.memory = FakeExampleMemory()
        self.models = ModelService(uow=db.unit_of_work, clock=clock)
        self.chat = ChatService(
            uow=db.unit_of_work,
            llm=llm,
            models=self.models,
            policy=ChatPolicy(system_prompt="Be brief."),
            memory=self.memory,
            clock=clock,
        )
        self.evaluation = EvaluationService(
            uow=db.unit_of_work,
            chat=self.chat,
            models=self.models,
            artifacts=self.artifacts,
            concurrency=concurrency,
            give_up_after=give_up_after,
            clock=clock,
        )


async def make(
    db: FakeDatabase, clock: FixedClock, table: Mapping[str, str] | None = None, **kwargs: int
) -> Setup:
    setup = Setup(db, clock, CountingChatModel(answers(table or {})), **kwargs)
    await setup.models.ensure_base(BASE)
    return setup


CASES = [
    TestCase(input="Capital of France?", expected="Paris", name="capital"),
    TestCase(input="2+2?", expected="4", name="sum"),
    TestCase(input="Столица России?", expected="Москва", name="capital-ru"),
    TestCase(input="I love this bot!", label="positive", name="sentiment"),
]


async def test_a_run_scores_every_case_with_the_active_version_and_is_stored(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(
        db,
        clock,
        {
            "Capital of France?": "Paris.",
            "2+2?": "It is 42.",
            "Столица России?": "Это МОСКВА!",
            "I love this bot!": "Positive",
        },
    )
    run = await setup.evaluation.run(CASES, trainer, name="smoke")
    assert run.model_version == BASE and run.name == "smoke"
    assert [(r.case.name, r.passed) for r in run.results] == [
        ("capital", True),
        ("sum", False),
        ("capital-ru", True),
        ("sentiment", True),
    ]
    assert (run.scores.cases, run.scores.passed, run.scores.errors) == (4, 3, 0)
    assert run.scores.exact == pytest.approx(1 / 3)
    assert run.scores.label_accuracy == 1.0
    assert db.committed.evals[run.id] == run
    assert await setup.evaluation.get(run.id) == run
    assert await setup.evaluation.get(run.id[:6]) == run  # as report file names show it
    with pytest.raises(NotFound):
        await setup.evaluation.get(run.id[:3])
    assert await setup.evaluation.all() == [run]
    assert {model for model, _ in setup.llm.calls} == {BASE}
    assert db.committed.predictions == {}  # evaluation answers are not conversation turns


async def test_a_named_version_answers_with_its_model_and_memory(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock)
    await setup.models.register(
        ModelVersion(name="other@mem-1", llm_model="other-llm", memory="mem-1", created_at=clock())
    )
    setup.memory.put("mem-1", [])
    run = await setup.evaluation.run(CASES[:1], trainer, version="other@mem-1")
    assert run.model_version == "other@mem-1"
    assert [model for model, _ in setup.llm.calls] == ["other-llm"]
    with pytest.raises(NotFound):
        await setup.evaluation.run(CASES[:1], trainer, version="missing")


async def test_at_most_concurrency_answers_are_in_flight(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, concurrency=3)
    assert isinstance(setup.llm, CountingChatModel)
    setup.llm.spins = lambda question: 20 - int(question.split()[1])  # later cases end sooner
    cases = [TestCase(input=f"question {i}", expected="x") for i in range(12)]
    run = await setup.evaluation.run(cases, trainer)
    assert setup.llm.peak == 3
    assert [r.case for r in run.results] == cases  # results keep the order of the cases


async def test_a_failing_case_is_recorded_and_the_run_goes_on(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(
        db,
        clock,
        {"Capital of France?": "Paris", "2+2?": "!timeout", "Столица России?": "!crash"},
    )
    with structlog.testing.capture_logs() as logs:
        run = await setup.evaluation.run(CASES[:3], trainer)
    errors = [r.error for r in run.results]
    assert errors == [None, "The language model took too long to answer.", UNEXPECTED_CASE_ERROR]
    assert run.scores.errors == 2 and run.scores.passed == 1
    assert "secret" not in json.dumps([r.error for r in run.results])
    assert [e["event"] for e in logs if e["log_level"] == "error"] == ["evaluation_case_crashed"]


async def test_a_model_unavailable_for_every_case_fails_the_run(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock)
    setup.llm.unavailable = "LLM endpoint not configured"
    with pytest.raises(ModelUnavailable) as caught:
        await setup.evaluation.run(CASES, trainer)
    assert caught.value.user_message == "The language model is not reachable right now."
    assert db.committed.evals == {}


async def test_a_long_run_gives_up_early_when_nothing_gets_an_answer(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, concurrency=1, give_up_after=3)
    setup.llm.unavailable = "down"
    cases = [TestCase(input=f"q{i}", expected="x") for i in range(50)]
    with pytest.raises(ModelUnavailable):
        await setup.evaluation.run(cases, trainer)
    assert isinstance(setup.llm, CountingChatModel)
    assert setup.llm.attempts == 3


async def test_progress_is_reported_per_case_and_a_failing_reporter_is_ignored(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, concurrency=2)
    seen: list[tuple[float, str]] = []

    async def report(fraction: float, message: str) -> None:
        seen.append((fraction, message))
        if len(seen) == 2:
            raise RuntimeError("the progress message was deleted")

    with structlog.testing.capture_logs():
        run = await setup.evaluation.run(CASES, trainer, report=report)
    assert run.scores.cases == 4
    assert seen == [(i / 4, f"{i} of 4 cases") for i in range(1, 5)]


async def test_only_trainers_run_evaluations_and_a_run_needs_cases(
    db: FakeDatabase, clock: FixedClock, trainer: Actor, member: Actor
) -> None:
    setup = await make(db, clock)
    with pytest.raises(PermissionDenied):
        await setup.evaluation.run(CASES, member)
    with pytest.raises(InvalidInput):
        await setup.evaluation.run([], trainer)
    assert setup.llm.calls == [] and db.committed.evals == {}


async def two_runs(setup: Setup, trainer: Actor) -> tuple[str, str]:
    before = await setup.evaluation.run(CASES, trainer)
    setup.llm.reply = answers(
        {
            "Capital of France?": "Paris",  # still passing
            "2+2?": "4",  # fixed
            "Столица России?": "Не знаю | pipe\nnew line " + "x" * 400,  # still failing
            "I love this bot!": "negative",  # broken
        }
    )
    await setup.models.register(
        ModelVersion(
            name=f"{BASE}@mem-0001", llm_model=BASE, memory="mem-0001", created_at=setup.clock()
        )
    )
    setup.memory.put("mem-0001", [])
    after = await setup.evaluation.run(
        [*CASES, TestCase(input="new?", expected="y")], trainer, version=f"{BASE}@mem-0001"
    )
    return before.id, after.id


async def test_compare_shows_each_case_change_and_the_pass_rate_delta(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, {"Capital of France?": "Paris", "I love this bot!": "positive"})
    before_id, after_id = await two_runs(setup, trainer)
    comparison = await setup.evaluation.compare(before_id, after_id)
    assert {p.after.case.name: p.change for p in comparison.cases} == {
        "capital": CaseChange.STILL_PASSING,
        "sum": CaseChange.FIXED,
        "capital-ru": CaseChange.STILL_FAILING,
        "sentiment": CaseChange.BROKEN,
    }
    assert comparison.unmatched == 1
    assert comparison.pass_rate_delta == pytest.approx(2 / 5 - 2 / 4)
    with pytest.raises(NotFound):
        await setup.evaluation.compare(before_id, "nope")


async def test_reports_are_markdown_and_json_artifacts(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, {"Capital of France?": "Paris", "I love this bot!": "positive"})
    before_id, after_id = await two_runs(setup, trainer)
    after = await setup.evaluation.get(after_id)

    run_files = await setup.evaluation.write_report(after)
    names = [a.name for a in run_files]
    assert names[0].startswith(f"eval-{BASE}-mem-0001-2026") and names[0].endswith(".md")
    assert names[1] == names[0].removesuffix(".md") + ".json"
    markdown = (await setup.artifacts.read(names[0])).decode()
    assert "| passed | 2 (40.0%) |" in markdown
    assert "Не знаю \\| pipe new line xxx" in markdown and "…" in markdown
    assert "\nnew line" not in markdown
    document = json.loads(await setup.artifacts.read(names[1]))
    assert document["run"]["id"] == after_id
    assert len(document["results"]) == 5
    assert document["results"][2]["answer"].endswith("x" * 400)  # JSON keeps the full text

    comparison = await setup.evaluation.compare(before_id, after_id)
    compare_files = await setup.evaluation.write_report(comparison)
    md_name, json_name = (a.name for a in compare_files)
    assert md_name.startswith(f"compare-{BASE}-vs-{BASE}-mem-0001-") and md_name.endswith(".md")
    compare_md = (await setup.artifacts.read(md_name)).decode()
    assert "Fixed 1, broken 1, still passing 1, still failing 1, unmatched 1." in compare_md
    compare_json = json.loads(await setup.artifacts.read(json_name))
    assert compare_json["changes"]["fixed"] == 1
    assert compare_json["pass_rate_delta"] == pytest.approx(-0.1)
    assert all(a.size > 0 for a in [*run_files, *compare_files])


async def test_cases_with_several_required_and_forbidden_phrases_are_scored_and_reported(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(
        db,
        clock,
        {
            "When is the meetup?": "Saturday at 18:00 in the library.",
            "Where is it?": "In the library, room 4.",
            "What is the weather?": "Sunny. The wifi password is hunter2.",
        },
    )
    cases = [
        TestCase(input="When is the meetup?", require=("Saturday", "18:00"), name="when"),
        TestCase(input="Where is it?", require=("library", "room 5"), forbid=("room 4",)),
        TestCase(input="What is the weather?", forbid=("hunter2",), name="control"),
    ]
    run = await setup.evaluation.run(cases, trainer)
    assert [(r.passed, r.missing, r.forbidden) for r in run.results] == [
        (True, (), ()),
        (False, ("room 5",), ("room 4",)),
        (False, (), ("hunter2",)),
    ]
    assert (run.scores.passed, run.scores.contains) == (1, 0.5)
    assert await setup.evaluation.get(run.id) == run
    markdown, document = await setup.evaluation.write_report(run)
    text = (await setup.artifacts.read(markdown.name)).decode()
    assert "fail (missing “room 5”; has forbidden “room 4”)" in text
    results = json.loads(await setup.artifacts.read(document.name))["results"]
    assert results[2]["forbidden"] == ["hunter2"] and results[2]["passed"] is False


async def test_base_names_the_base_version_for_a_run(
    db: FakeDatabase, clock: FixedClock, trainer: Actor
) -> None:
    setup = await make(db, clock, {"Capital of France?": "Paris"})
    await setup.models.register(
        ModelVersion(name=f"{BASE}@m1", llm_model=BASE, memory="m1", created_at=clock())
    )
    await setup.models.activate(f"{BASE}@m1", trainer)
    run = await setup.evaluation.run(CASES[:1], trainer, version="base")
    assert run.model_version == BASE

"""The storage contract: every UnitOfWork behaves alike.

One suite, run against the in-memory fake, the SQL adapter on a SQLite file and
(when ``TRAINERBOT_TEST_POSTGRES_URL`` is set) the SQL adapter on PostgreSQL.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from domain.errors import NotFound
from domain.models import (
    Actor,
    CaseResult,
    ChatMessage,
    Correction,
    Dataset,
    Ending,
    EvalRun,
    EvalScores,
    EvalStatus,
    Example,
    ExampleSource,
    Exchange,
    Feedback,
    JobOwner,
    JobStatus,
    ModelVersion,
    Place,
    Prediction,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Provenance,
    Rating,
    Removal,
    Role,
    TestCase,
    TrainingJob,
    Usage,
)
from domain.ports import UnitOfWork
from tests.contract.storage_support import migrated_storage
from tests.fakes.storage import FakeDatabase

Factory = Callable[[], UnitOfWork]

T0 = datetime(2026, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
ALICE = Actor(id="1001", name="Alice Ö'Brien")
TRAINER = Actor(id="1002", name="trainer", is_trainer=True)
MEMBER = Actor(id="1003", name="Ann")


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture(params=["fake", "sqlite", "postgres"])
async def uow(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Factory]:
    if request.param == "fake":
        yield FakeDatabase().unit_of_work
        return
    async with migrated_storage(request.param, tmp_path) as storage:
        yield storage.unit_of_work


# --------------------------------------------------------------------------- builders


def prediction(pid: str, conversation: str = "chan-1", *, seconds: float = 0) -> Prediction:
    return Prediction(
        id=pid,
        conversation_id=conversation,
        prompt=f"question {pid}?",
        context=(ChatMessage(Role.USER, f"question {pid}?"),),
        answer=f"answer {pid}",
        model_version="base",
        latency_ms=10.0,
        usage=Usage(),
        author=ALICE,
        place=Place(conversation),
        created_at=at(seconds),
    )


def full_prediction() -> Prediction:
    return Prediction(
        id="p-full",
        conversation_id="guild-7/thread-9",
        prompt="Wie importiere ich einen Datensatz? 🙂",
        context=(
            ChatMessage(Role.SYSTEM, "Be helpful.\nTwo lines."),
            ChatMessage(Role.USER, "earlier question"),
            ChatMessage(Role.ASSISTANT, 'earlier "answer"'),
            ChatMessage(Role.USER, "Wie importiere ich einen Datensatz? 🙂"),
        ),
        answer="Mit /dataset import.",
        model_version="qwen2.5@mem-3",
        latency_ms=812.0625,
        usage=Usage(prompt_tokens=120, completion_tokens=7),
        author=TRAINER,
        place=Place("guild-7/thread-9", guild_id="7", channel_id="8", thread_id="9"),
        created_at=datetime(2026, 3, 1, 23, 59, 59, 999999, tzinfo=UTC),
        message_id="msg-42",
        ending=Ending.TOO_LONG,
    )


def example(eid: str, dataset: str = "ds", *, full: bool = False) -> Example:
    return Example(
        id=eid,
        dataset=dataset,
        messages=(
            (ChatMessage(Role.SYSTEM, "sys"), ChatMessage(Role.USER, f"prompt {eid}"))
            if full
            else (ChatMessage(Role.USER, f"prompt {eid}"),)
        ),
        answer=f"answer {eid}",
        source=ExampleSource.CORRECTION if full else ExampleSource.MANUAL,
        created_at=at(1),
        rejected="worse" if full else None,
        label="positive" if full else None,
        name="row-1" if full else None,
        provenance=Provenance(
            origin=ExampleSource.CORRECTION,
            detail="proposal 9a8b7c6d by Ann",
            proposed_by=MEMBER,
            approved_by=TRAINER,
            approved_at=at(2.25),
            proposal_id="p-1",
            prediction_id="pred-1",
        )
        if full
        else None,
    )


def job(jid: str, *, seconds: float = 0, status: JobStatus = JobStatus.QUEUED) -> TrainingJob:
    return TrainingJob(
        id=jid,
        dataset="ds",
        backend="local",
        status=status,
        created_by=TRAINER,
        created_at=at(seconds),
        example_count=2,
    )


def eval_run(rid: str, version: str = "base", *, seconds: float = 0) -> EvalRun:
    results = (
        CaseResult(
            TestCase("2+2?", expected="4"), "4", exact=True, contains=True, label_correct=None
        ),
        CaseResult(
            TestCase("great film", label="positive", name="review-1"),
            "negative",
            exact=False,
            contains=False,
            label_correct=False,
        ),
        CaseResult(TestCase("boom"), "", False, False, None, error="model timed out"),
        CaseResult(
            TestCase("city?", expected="Paris", require=("Seine",), forbid=("Lyon", "Nice")),
            "Paris, not Lyon",
            exact=False,
            contains=False,
            label_correct=None,
            missing=("Seine",),
            forbidden=("Lyon",),
        ),
    )
    return EvalRun(
        id=rid,
        model_version=version,
        created_at=at(seconds),
        results=results,
        scores=EvalScores(
            cases=4, passed=1, exact=1 / 2, contains=1 / 2, label_accuracy=0.0, errors=1
        ),
        created_by=TRAINER,
        name=f"run {rid}",
    )


# --------------------------------------------------------------------------- predictions


async def test_prediction_round_trips_every_field(uow: Factory) -> None:
    full = full_prediction()
    minimal = prediction("p-min")
    async with uow() as u:
        await u.predictions.add(full)
        await u.predictions.add(minimal)
        await u.commit()
    async with uow() as u:
        assert await u.predictions.get("p-full") == full
        assert await u.predictions.get("p-min") == minimal
        assert await u.predictions.get("missing") is None
        assert (await u.predictions.by_message("msg-42")) == full


async def test_times_in_other_zones_come_back_as_the_same_instant(uow: Factory) -> None:
    plus_two = datetime(2026, 3, 1, 14, 0, 0, 1, tzinfo=timezone(timedelta(hours=2)))
    async with uow() as u:
        await u.predictions.add(replace(prediction("p1"), created_at=plus_two))
        await u.commit()
    async with uow() as u:
        stored = await u.predictions.get("p1")
    assert stored is not None
    assert stored.created_at == plus_two


async def test_prediction_is_found_by_the_message_attached_to_it(uow: Factory) -> None:
    async with uow() as u:
        await u.predictions.add(prediction("p1"))
        await u.predictions.attach_message("p1", "m-1")
        await u.predictions.attach_message("no-such-prediction", "m-2")
        await u.commit()
    async with uow() as u:
        found = await u.predictions.by_message("m-1")
        assert found == replace(prediction("p1"), message_id="m-1")
        assert await u.predictions.by_message("m-2") is None
        assert await u.predictions.get("no-such-prediction") is None


async def test_recent_gives_the_newest_of_one_conversation_oldest_first(uow: Factory) -> None:
    async with uow() as u:
        # added out of time order, with another conversation in between
        for n in (3, 0, 4, 1, 2):
            await u.predictions.add(prediction(f"a{n}", "chan-a", seconds=n))
            await u.predictions.add(prediction(f"b{n}", "chan-b", seconds=n))
        await u.commit()
    async with uow() as u:
        recent = await u.predictions.recent("chan-a", 3)
        assert [p.id for p in recent] == ["a2", "a3", "a4"]
        assert [p.id for p in await u.predictions.recent("chan-a", 50)] == [
            f"a{n}" for n in range(5)
        ]
        assert await u.predictions.recent("chan-a", 0) == []
        assert await u.predictions.recent("nowhere", 5) == []


async def test_history_gives_prompts_and_answers_like_recent(uow: Factory) -> None:
    async with uow() as u:
        for i in range(4):
            await u.predictions.add(prediction(f"h{i}", "chan-h", seconds=i))
        await u.commit()
    async with uow() as u:
        recent = await u.predictions.recent("chan-h", 3)
        history = await u.predictions.history("chan-h", 3)
        assert history == [Exchange(p.prompt, p.answer) for p in recent]
        assert len(history) == 3
        assert await u.predictions.history("chan-h", 0) == []
        await u.predictions.forget("chan-h")
        assert await u.predictions.history("chan-h", 3) == []


async def test_recent_orders_equal_times_by_insertion(uow: Factory) -> None:
    async with uow() as u:
        for pid in ("first", "second", "third"):
            await u.predictions.add(prediction(pid, seconds=7))
        await u.commit()
    async with uow() as u:
        assert [p.id for p in await u.predictions.recent("chan-1", 2)] == ["second", "third"]


async def test_forget_hides_history_but_keeps_predictions(uow: Factory) -> None:
    async with uow() as u:
        for n in range(3):
            await u.predictions.add(prediction(f"p{n}", seconds=n))
        await u.predictions.add(prediction("other", "chan-2"))
        await u.commit()
    async with uow() as u:
        assert await u.predictions.forget("chan-1") == 3
        await u.commit()
    async with uow() as u:
        assert await u.predictions.recent("chan-1", 10) == []
        assert await u.predictions.get("p1") == prediction("p1", seconds=1)
        assert [p.id for p in await u.predictions.recent("chan-2", 10)] == ["other"]
        assert await u.predictions.forget("chan-1") == 0
        await u.predictions.add(prediction("after", seconds=10))
        await u.commit()
    async with uow() as u:
        assert [p.id for p in await u.predictions.recent("chan-1", 10)] == ["after"]
        assert await u.predictions.forget("chan-1") == 1


async def test_adding_a_prediction_again_replaces_it(uow: Factory) -> None:
    async with uow() as u:
        await u.predictions.add(prediction("p1"))
        await u.commit()
    changed = replace(prediction("p1"), answer="better answer", latency_ms=3.5)
    async with uow() as u:
        await u.predictions.add(changed)
        await u.commit()
    async with uow() as u:
        assert await u.predictions.get("p1") == changed
        assert await u.predictions.recent("chan-1", 5) == [changed]


# --------------------------------------------------------------------------- feedback


async def test_feedback_and_corrections_come_back_per_prediction_in_order(uow: Factory) -> None:
    up = Feedback("f1", ALICE, at(1), prediction_id="p1", rating=Rating.UP)
    down = Feedback("f2", TRAINER, at(2), prediction_id="p1", rating=Rating.DOWN, text="wrong")
    comment = Feedback("f3", ALICE, at(3), text="love it")
    elsewhere = Feedback("f4", ALICE, at(0), prediction_id="p2", text="meh")
    fix1 = Correction("c1", "p1", TRAINER, "the right answer", "e1", "corrections", at(4))
    fix2 = Correction("c2", "p1", ALICE, "another answer", "e2", "corrections", at(3))
    other_fix = Correction("c3", "p2", TRAINER, "x", "e3", "corrections", at(5))
    async with uow() as u:
        for f in (up, down, comment, elsewhere):
            await u.feedback.add(f)
        for c in (fix1, fix2, other_fix):
            await u.feedback.add_correction(c)
        await u.commit()
    async with uow() as u:
        assert await u.feedback.for_prediction("p1") == [up, down]
        assert await u.feedback.for_prediction("p2") == [elsewhere]
        assert await u.feedback.for_prediction("none") == []
        assert await u.feedback.corrections_for("p1") == [fix1, fix2]
        assert await u.feedback.corrections_for("p2") == [other_fix]
        assert await u.feedback.corrections_for("none") == []


# --------------------------------------------------------------------------- datasets


async def test_datasets_are_listed_by_name_with_their_counts(uow: Factory) -> None:
    names = ["beta", "alpha", "a_z", "a-z", "a0", "zeta"]
    async with uow() as u:
        for n, name in enumerate(names):
            await u.datasets.add(Dataset(name, at(n), description=f"about {name}"))
        await u.datasets.add_examples([example("e1", "beta"), example("e2", "beta")])
        await u.commit()
    async with uow() as u:
        listed = await u.datasets.all()
        assert [d.name for d in listed] == sorted(names)
        assert {d.name: d.example_count for d in listed}["beta"] == 2
        assert await u.datasets.get("alpha") == Dataset("alpha", at(1), "about alpha", 0)
        assert await u.datasets.get("beta") == Dataset("beta", at(0), "about beta", 2)
        assert await u.datasets.get("missing") is None


async def test_new_dataset_starts_empty_whatever_count_it_is_given(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0, example_count=99))
        await u.commit()
    async with uow() as u:
        assert await u.datasets.get("ds") == Dataset("ds", T0, "", 0)
        assert await u.datasets.examples("ds") == []


async def test_examples_come_back_in_insertion_order_in_pages(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0))
        await u.datasets.add(Dataset("other", T0))
        await u.datasets.add_examples([example("e0", full=True), example("e1")])
        await u.datasets.add_examples([example("x0", "other")])
        await u.commit()
    async with uow() as u:
        await u.datasets.add_examples([example(f"e{n}") for n in range(2, 7)])
        await u.datasets.add_examples([])
        await u.commit()
    expected = [example("e0", full=True)] + [example(f"e{n}") for n in range(1, 7)]
    async with uow() as u:
        assert await u.datasets.examples("ds") == expected
        assert await u.datasets.examples("ds", offset=2, limit=3) == expected[2:5]
        assert await u.datasets.examples("ds", offset=5) == expected[5:]
        assert await u.datasets.examples("ds", limit=2) == expected[:2]
        assert await u.datasets.examples("ds", offset=10) == []
        assert await u.datasets.examples("ds", limit=0) == []
        assert await u.datasets.examples("other") == [example("x0", "other")]
        assert await u.datasets.examples("missing") == []
        ds = await u.datasets.get("ds")
        assert ds is not None and ds.example_count == 7


async def test_removed_examples_are_kept_but_left_out_unless_asked(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0))
        await u.datasets.add_examples([example("e0", full=True), example("e1"), example("e2")])
        await u.commit()
    gone = Removal(by=TRAINER, at=at(5.5))
    async with uow() as u:
        await u.datasets.remove_example("e1", gone)
        await u.datasets.remove_example("e1", Removal(by=MEMBER, at=at(9)))  # changes nothing
        await u.commit()
    async with uow() as u:
        assert [e.id for e in await u.datasets.examples("ds")] == ["e0", "e2"]
        assert [e.id for e in await u.datasets.examples("ds", offset=1, limit=1)] == ["e2"]
        every = await u.datasets.examples("ds", include_removed=True)
        assert [e.id for e in every] == ["e0", "e1", "e2"]
        assert every[1] == replace(example("e1"), removed=gone)
        assert await u.datasets.example("e1") == replace(example("e1"), removed=gone)
        assert await u.datasets.example("e0") == example("e0", full=True)
        assert await u.datasets.example("nope") is None
        ds = await u.datasets.get("ds")
        assert ds is not None and (ds.example_count, ds.removed_count) == (2, 1)
        [listed] = await u.datasets.all()
        assert (listed.example_count, listed.removed_count) == (2, 1)
        with pytest.raises(NotFound):
            await u.datasets.remove_example("nope", gone)
    async with uow() as u:  # new examples still get their own places
        await u.datasets.add_examples([example("e3")])
        await u.commit()
    async with uow() as u:
        assert [e.id for e in await u.datasets.examples("ds")] == ["e0", "e2", "e3"]


async def test_examples_are_found_by_the_start_of_their_id(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0))
        await u.datasets.add(Dataset("other", T0))
        await u.datasets.add_examples([example("abc1"), example("abc2"), example("abd", "other")])
        await u.commit()
    async with uow() as u:
        assert await u.datasets.example_ids_with_prefix("ab", limit=5) == ["abc1", "abc2", "abd"]
        assert await u.datasets.example_ids_with_prefix("abc", limit=1) == ["abc1"]
        assert await u.datasets.example_ids_with_prefix("abd") == ["abd"]
        assert await u.datasets.example_ids_with_prefix("a%") == []
        assert await u.datasets.example_ids_with_prefix("ff") == []


async def test_one_batch_can_fill_several_datasets(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("a", T0))
        await u.datasets.add(Dataset("b", T0))
        await u.datasets.add_examples([example("a1", "a"), example("b1", "b"), example("a2", "a")])
        await u.commit()
    async with uow() as u:
        assert [e.id for e in await u.datasets.examples("a")] == ["a1", "a2"]
        assert [e.id for e in await u.datasets.examples("b")] == ["b1"]


async def test_examples_for_a_missing_dataset_are_refused_and_none_stored(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0))
        await u.commit()
    async with uow() as u:
        with pytest.raises((KeyError, NotFound)):
            await u.datasets.add_examples([example("e1", "ds"), example("e2", "missing")])
        with pytest.raises((KeyError, NotFound)):
            await u.datasets.add_examples([example("e3", "missing")])
    async with uow() as u:
        assert await u.datasets.examples("ds") == []
        assert await u.datasets.get("missing") is None
        ds = await u.datasets.get("ds")
        assert ds is not None and ds.example_count == 0


async def test_adding_a_dataset_again_keeps_its_examples(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0, "old"))
        await u.datasets.add_examples([example("e1")])
        await u.commit()
    async with uow() as u:
        await u.datasets.add(Dataset("ds", at(5), "new"))
        await u.commit()
    async with uow() as u:
        assert await u.datasets.get("ds") == Dataset("ds", at(5), "new", 1)
        assert await u.datasets.examples("ds") == [example("e1")]


async def test_concurrent_writers_to_one_dataset_all_land_in_order(uow: Factory) -> None:
    async with uow() as u:
        await u.datasets.add(Dataset("ds", T0))
        await u.commit()

    async def writer(w: int) -> None:
        async with uow() as u:
            await u.datasets.add_examples([example(f"w{w}-{n}") for n in range(3)])
            await u.commit()

    await asyncio.gather(*(writer(w) for w in range(8)))
    async with uow() as u:
        ids = [e.id for e in await u.datasets.examples("ds")]
        ds = await u.datasets.get("ds")
    assert ds is not None and ds.example_count == len(ids) == 24
    for w in range(8):  # each batch stays together and in order
        start = ids.index(f"w{w}-0")
        assert ids[start : start + 3] == [f"w{w}-{n}" for n in range(3)]


# --------------------------------------------------------------------------- state


async def test_state_holds_small_named_values(uow: Factory) -> None:
    async with uow() as u:
        assert await u.state.get("selected_dataset") is None
        await u.state.set("selected_dataset", "ds")
        await u.state.set("active_model", "base")
        await u.state.set("active_model", "base@mem-1")
        await u.state.set("never_set", None)
        await u.commit()
    async with uow() as u:
        assert await u.state.get("selected_dataset") == "ds"
        assert await u.state.get("active_model") == "base@mem-1"
        assert await u.state.get("never_set") is None
        await u.state.set("selected_dataset", None)
        await u.commit()
    async with uow() as u:
        assert await u.state.get("selected_dataset") is None
        assert await u.state.get("active_model") == "base@mem-1"


# --------------------------------------------------------------------------- jobs


async def test_job_round_trips_with_its_frozen_snapshot(uow: Factory) -> None:
    full = TrainingJob(
        id="j-full",
        dataset="ds",
        backend="openai",
        status=JobStatus.SUCCEEDED,
        created_by=TRAINER,
        created_at=T0,
        example_count=2,
        options={"epochs": "3", "activate": "false", "note": "ünïcode"},
        progress=1.0,
        message="done",
        error=None,
        started_at=at(1),
        finished_at=at(90.5),
        model_version="base@mem-1",
        base_model_version="base",
        external_id="ftjob-abc",
        cancel_requested=True,
        owner=JobOwner(host="büro-host.example", pid=4_194_304, token="f" * 64),
        heartbeat_at=at(88.000001),
    )
    snapshot = [example("e1", full=True), example("e2")]
    async with uow() as u:
        await u.jobs.add(full, snapshot)
        await u.jobs.add(job("j-min"), [])
        await u.commit()
    async with uow() as u:
        assert await u.jobs.get("j-full") == full
        assert await u.jobs.get("j-min") == job("j-min")
        assert await u.jobs.get("missing") is None
        assert await u.jobs.snapshot("j-full") == snapshot
        assert await u.jobs.snapshot("j-min") == []
        assert await u.jobs.snapshot("missing") == []
        assert await u.jobs.snapshot_has("j-full", "e2")
        assert not await u.jobs.snapshot_has("j-full", "e3")
        assert not await u.jobs.snapshot_has("j-min", "e2")


async def test_job_updates_replace_its_state(uow: Factory) -> None:
    async with uow() as u:
        await u.jobs.add(job("j1"), [example("e1")])
        await u.commit()
    running = replace(
        job("j1"), status=JobStatus.FAILED, progress=0.5, message="half", error="boom",
        started_at=at(1), finished_at=at(2), options={"k": "v"},
    )  # fmt: skip
    async with uow() as u:
        await u.jobs.update(running)
        await u.commit()
    async with uow() as u:
        assert await u.jobs.get("j1") == running
        assert await u.jobs.snapshot("j1") == [example("e1")]
        with pytest.raises((KeyError, NotFound)):
            await u.jobs.update(job("missing"))


OWNER_A = JobOwner(host="h", pid=1, token="token-a")
OWNER_B = JobOwner(host="h", pid=2, token="token-b")


async def test_a_heartbeat_refreshes_only_the_unfinished_jobs_of_its_owner(uow: Factory) -> None:
    mine = [
        replace(job("q", status=JobStatus.QUEUED), owner=OWNER_A, heartbeat_at=at(1)),
        replace(job("r", status=JobStatus.RUNNING), owner=OWNER_A, heartbeat_at=at(1)),
        replace(job("s", status=JobStatus.SUCCEEDED), owner=OWNER_A, heartbeat_at=at(1)),
    ]
    theirs = replace(job("o", status=JobStatus.RUNNING), owner=OWNER_B, heartbeat_at=at(1))
    async with uow() as u:
        for j in [*mine, theirs, job("n")]:
            await u.jobs.add(j, [])
        await u.commit()
    async with uow() as u:
        assert await u.jobs.beat("token-a", at(7.5)) == 2
        assert await u.jobs.beat("token-c", at(7.5)) == 0
        await u.commit()
    async with uow() as u:
        beats = {j.id: j.heartbeat_at for j in await u.jobs.all()}
    assert beats == {"q": at(7.5), "r": at(7.5), "s": at(1), "o": at(1), "n": None}


async def test_handing_back_leaves_the_unfinished_jobs_of_an_owner_to_nobody(
    uow: Factory,
) -> None:
    async with uow() as u:
        await u.jobs.add(replace(job("q"), owner=OWNER_A, heartbeat_at=at(1)), [])
        await u.jobs.add(
            replace(job("s", status=JobStatus.FAILED), owner=OWNER_A, heartbeat_at=at(1)), []
        )
        await u.jobs.add(replace(job("o"), owner=OWNER_B, heartbeat_at=at(1)), [])
        await u.commit()
    async with uow() as u:
        assert await u.jobs.release("token-a") == 1
        await u.commit()
    async with uow() as u:
        q, s, o = [await u.jobs.get(jid) for jid in ("q", "s", "o")]
    assert q == job("q")  # owner and heartbeat gone, the rest as it was
    assert s is not None and s.owner == OWNER_A  # a finished job keeps who ran it
    assert o is not None and o.owner == OWNER_B


async def test_a_job_is_taken_over_only_from_the_owner_it_still_has(uow: Factory) -> None:
    held = replace(job("h", status=JobStatus.RUNNING), owner=OWNER_A, heartbeat_at=at(1))
    async with uow() as u:
        await u.jobs.add(held, [example("e1")])
        await u.jobs.add(job("free"), [])
        await u.jobs.add(job("done", status=JobStatus.CANCELLED), [])
        await u.commit()
    failed = replace(held, status=JobStatus.FAILED, error="interrupted", finished_at=at(9))
    claimed = replace(job("free"), owner=OWNER_B, heartbeat_at=at(9))
    async with uow() as u:
        assert not await u.jobs.take_over(failed, owner_token="token-b")  # not B's
        assert not await u.jobs.take_over(failed, owner_token=None)  # not nobody's
        assert await u.jobs.take_over(failed, owner_token="token-a")
        assert not await u.jobs.take_over(claimed, owner_token="token-a")
        assert await u.jobs.take_over(claimed, owner_token=None)
        finished = replace(job("done", status=JobStatus.FAILED), owner=OWNER_B)
        assert not await u.jobs.take_over(finished, owner_token=None)  # already finished
        assert not await u.jobs.take_over(job("missing"), owner_token=None)
        await u.commit()
    async with uow() as u:
        assert await u.jobs.get("h") == failed
        assert await u.jobs.snapshot("h") == [example("e1")]
        assert await u.jobs.get("free") == claimed
        assert await u.jobs.get("done") == job("done", status=JobStatus.CANCELLED)
    async with uow() as u:  # the second of two racing takeovers finds the job taken
        assert not await u.jobs.take_over(replace(claimed, message="x"), owner_token=None)


async def test_jobs_are_listed_newest_first_and_unfinished_oldest_first(uow: Factory) -> None:
    statuses = [
        JobStatus.SUCCEEDED, JobStatus.RUNNING, JobStatus.QUEUED,
        JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.QUEUED,
    ]  # fmt: skip
    async with uow() as u:
        for n in (3, 0, 5, 1, 4, 2):  # out of time order
            await u.jobs.add(job(f"j{n}", seconds=n, status=statuses[n]), [])
        await u.commit()
    async with uow() as u:
        assert [j.id for j in await u.jobs.all()] == ["j5", "j4", "j3", "j2", "j1", "j0"]
        assert [j.id for j in await u.jobs.all(limit=2)] == ["j5", "j4"]
        assert [j.id for j in await u.jobs.unfinished()] == ["j1", "j2", "j5"]


async def test_jobs_and_runs_are_found_by_the_start_of_their_id(uow: Factory) -> None:
    async with uow() as u:
        for jid in ("ab12", "ab34", "cd56"):
            await u.jobs.add(job(jid), [])
            await u.evals.add(eval_run(jid))
        await u.commit()
    async with uow() as u:
        assert await u.jobs.with_prefix("ab") == ["ab12", "ab34"]
        assert await u.jobs.with_prefix("ab", limit=1) == ["ab12"]
        assert await u.jobs.with_prefix("cd5") == ["cd56"]
        assert await u.evals.with_prefix("ab3") == ["ab34"]
        assert await u.evals.with_prefix("ab", limit=5) == ["ab12", "ab34"]
        for nothing in ("ef", "a%", "_b", "", "AB"):  # no match, and never a LIKE pattern
            assert await u.jobs.with_prefix(nothing) == []
            assert await u.evals.with_prefix(nothing) == []


# --------------------------------------------------------------------------- model versions


async def test_model_versions_round_trip_oldest_first(uow: Factory) -> None:
    base = ModelVersion("base", "qwen2.5", at(0))
    trained = ModelVersion(
        "qwen2.5@mem-1", "qwen2.5", at(5), memory="mem-1", job_id="j1", notes="from corrections"
    )
    async with uow() as u:
        await u.models.add(trained)
        await u.models.add(base)
        await u.commit()
    async with uow() as u:
        assert await u.models.get("base") == base
        assert await u.models.get("qwen2.5@mem-1") == trained
        assert await u.models.get("missing") is None
        assert await u.models.all() == [base, trained]


async def test_activations_are_listed_newest_first_with_repeats(uow: Factory) -> None:
    async with uow() as u:
        for n, name in enumerate(["base", "v1", "base", "v2", "v2"]):
            await u.models.record_activation(name, TRAINER.id, at(n))
        await u.commit()
    async with uow() as u:
        assert await u.models.activations() == ["v2", "v2", "base", "v1", "base"]
        assert await u.models.activations(limit=3) == ["v2", "v2", "base"]


# --------------------------------------------------------------------------- evaluation


async def test_eval_run_round_trips_with_every_result(uow: Factory) -> None:
    run = eval_run("r1")
    no_labels = replace(
        eval_run("r2"),
        results=(),
        scores=EvalScores(
            cases=0, passed=0, exact=0.0, contains=0.0, label_accuracy=None, errors=0
        ),
    )
    async with uow() as u:
        await u.evals.add(run)
        await u.evals.add(no_labels)
        await u.commit()
    async with uow() as u:
        assert await u.evals.get("r1") == run
        assert await u.evals.get("r2") == no_labels
        assert await u.evals.get("missing") is None


def unfinished_run(rid: str, status: EvalStatus, owner: JobOwner | None) -> EvalRun:
    return replace(
        eval_run(rid),
        status=status,
        pending=(TestCase("later?", expected="yes", require=("y",)), TestCase("and?")),
        owner=owner,
        heartbeat_at=at(5.5) if owner else None,
    )


async def test_an_unfinished_run_round_trips_with_its_pending_cases_and_owner(
    uow: Factory,
) -> None:
    running = unfinished_run("r-run", EvalStatus.RUNNING, OWNER_A)
    interrupted = unfinished_run("r-int", EvalStatus.INTERRUPTED, OWNER_B)
    async with uow() as u:
        for run in (running, interrupted, eval_run("r-done")):
            await u.evals.add(run)
        await u.commit()
    async with uow() as u:
        assert await u.evals.get("r-run") == running
        assert await u.evals.get("r-int") == interrupted
        assert await u.evals.running() == [running]
        assert await u.evals.beat("token-a", at(9)) == 1
        assert await u.evals.beat("token-b", at(9)) == 0  # interrupted: nobody beats
        await u.commit()
    async with uow() as u:
        assert await u.evals.get("r-run") == replace(running, heartbeat_at=at(9))


async def test_a_run_is_taken_over_only_from_the_owner_it_still_has(uow: Factory) -> None:
    running = unfinished_run("r-run", EvalStatus.RUNNING, OWNER_A)
    async with uow() as u:
        await u.evals.add(running)
        await u.evals.add(eval_run("r-done"))
        await u.commit()
    stopped = replace(running, status=EvalStatus.INTERRUPTED)
    resumed = replace(stopped, status=EvalStatus.RUNNING, owner=OWNER_B, heartbeat_at=at(20))
    async with uow() as u:
        assert not await u.evals.take_over(stopped, owner_token="token-b")
        assert not await u.evals.take_over(stopped, owner_token=None)
        assert await u.evals.take_over(stopped, owner_token="token-a")
        assert await u.evals.take_over(resumed, owner_token="token-a")
        assert not await u.evals.take_over(resumed, owner_token="token-a")  # now B's
        done = replace(eval_run("r-done"), name="again")
        assert not await u.evals.take_over(done, owner_token=None)  # complete
        assert not await u.evals.take_over(eval_run("missing"), owner_token=None)
        await u.commit()
    async with uow() as u:
        assert await u.evals.get("r-run") == resumed
        assert await u.evals.get("r-done") == eval_run("r-done")


async def test_eval_runs_are_listed_newest_first_per_version(uow: Factory) -> None:
    async with uow() as u:
        for n, version in [(2, "v1"), (0, "base"), (3, "base"), (1, "v1")]:
            await u.evals.add(eval_run(f"r{n}", version, seconds=n))
        await u.commit()
    async with uow() as u:
        assert [r.id for r in await u.evals.all()] == ["r3", "r2", "r1", "r0"]
        assert [r.id for r in await u.evals.all(limit=2)] == ["r3", "r2"]
        assert [r.id for r in await u.evals.all(model_version="v1")] == ["r2", "r1"]
        assert [r.id for r in await u.evals.all(model_version="base", limit=1)] == ["r3"]
        assert await u.evals.all(model_version="none") == []


# --------------------------------------------------------------------------- transactions


async def _write_one_of_everything(u: UnitOfWork, tag: str) -> None:
    await u.predictions.add(prediction(f"p-{tag}"))
    await u.feedback.add(Feedback(f"f-{tag}", ALICE, T0, prediction_id=f"p-{tag}"))
    await u.feedback.add_correction(Correction(f"c-{tag}", f"p-{tag}", ALICE, "x", "e", "ds", T0))
    await u.datasets.add(Dataset(f"ds-{tag}", T0))
    await u.datasets.add_examples([example(f"e-{tag}", f"ds-{tag}")])
    await u.state.set(f"key-{tag}", "value")
    await u.jobs.add(job(f"j-{tag}"), [example("e1")])
    await u.models.add(ModelVersion(f"v-{tag}", "llm", T0))
    await u.models.record_activation(f"v-{tag}", ALICE.id, T0)
    await u.evals.add(eval_run(f"r-{tag}"))


async def _nothing_of(u: UnitOfWork, tag: str) -> bool:
    return (
        await u.predictions.get(f"p-{tag}") is None
        and await u.feedback.for_prediction(f"p-{tag}") == []
        and await u.feedback.corrections_for(f"p-{tag}") == []
        and await u.datasets.get(f"ds-{tag}") is None
        and await u.datasets.examples(f"ds-{tag}") == []
        and await u.state.get(f"key-{tag}") is None
        and await u.jobs.get(f"j-{tag}") is None
        and await u.jobs.snapshot(f"j-{tag}") == []
        and await u.models.get(f"v-{tag}") is None
        and f"v-{tag}" not in await u.models.activations()
        and await u.evals.get(f"r-{tag}") is None
    )


async def test_leaving_without_commit_changes_nothing(uow: Factory) -> None:
    async with uow() as u:
        await _write_one_of_everything(u, "lost")
        assert await u.predictions.get("p-lost") is not None  # visible inside
    async with uow() as u:
        assert await _nothing_of(u, "lost")


async def test_an_error_inside_rolls_back_and_propagates(uow: Factory) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        async with uow() as u:
            await _write_one_of_everything(u, "lost")
            raise RuntimeError("boom")
    async with uow() as u:
        assert await _nothing_of(u, "lost")


async def test_rollback_discards_only_what_came_before_it(uow: Factory) -> None:
    async with uow() as u:
        await _write_one_of_everything(u, "lost")
        await u.rollback()
        assert await u.predictions.get("p-lost") is None
        await _write_one_of_everything(u, "kept")
        await u.commit()
    async with uow() as u:
        assert await _nothing_of(u, "lost")
        assert await u.predictions.get("p-kept") is not None
        assert await u.evals.get("r-kept") == eval_run("r-kept")


async def test_work_after_a_commit_needs_its_own_commit(uow: Factory) -> None:
    async with uow() as u:
        await u.state.set("first", "1")
        await u.commit()
        await u.state.set("second", "2")
    async with uow() as u:
        assert await u.state.get("first") == "1"
        assert await u.state.get("second") is None


async def test_two_units_of_work_committing_in_turn_both_land(uow: Factory) -> None:
    one, two = uow(), uow()
    async with one, two:
        await _write_one_of_everything(one, "one")
        await one.commit()
        await _write_one_of_everything(two, "two")
        await two.commit()
    async with uow() as u:
        for tag in ("one", "two"):
            assert await u.predictions.get(f"p-{tag}") == prediction(f"p-{tag}")
            assert [e.id for e in await u.datasets.examples(f"ds-{tag}")] == [f"e-{tag}"]
            assert await u.state.get(f"key-{tag}") == "value"
        assert await u.models.activations(limit=2) == ["v-two", "v-one"]


async def test_a_unit_of_work_can_be_entered_again(uow: Factory) -> None:
    u = uow()
    async with u:
        await u.state.set("k", "1")
        await u.commit()
    async with u:
        assert await u.state.get("k") == "1"
        await u.state.set("k", "2")
        await u.commit()
    async with uow() as check:
        assert await check.state.get("k") == "2"


async def test_many_concurrent_chat_turns_all_land(uow: Factory) -> None:
    async def turn(n: int) -> None:
        async with uow() as u:
            await u.predictions.recent(f"chan-{n % 3}", 10)
            await asyncio.sleep(0)  # let the others interleave
            await u.predictions.add(prediction(f"p{n}", f"chan-{n % 3}", seconds=n))
            await u.commit()

    await asyncio.gather(*(turn(n) for n in range(30)))
    async with uow() as u:
        for c in range(3):
            ids = [p.id for p in await u.predictions.recent(f"chan-{c}", 100)]
            assert ids == [f"p{n}" for n in range(30) if n % 3 == c]


# --------------------------------------------------------------------------- review queue


def proposal(
    pid: str, *, seconds: float = 0, by: Actor = ALICE, guild: str | None = "g1"
) -> Proposal:
    return Proposal(
        id=pid,
        kind=ProposalKind.CORRECTION,
        prediction_id=f"pred-{pid}",
        question="What's the server's URL?",
        answer="I don't know.",
        proposer=by,
        created_at=at(seconds),
        dataset="corrections",
        guild_id=guild,
        proposed_answer="https://example.org",
    )


async def test_proposals_round_trip_and_are_decided(uow: Factory) -> None:
    pending = proposal("aa01")
    async with uow() as u:
        await u.proposals.add(pending)  # type: ignore[attr-defined]
        await u.commit()
    async with uow() as u:
        assert await u.proposals.get("aa01") == pending  # type: ignore[attr-defined]
        decided = replace(
            pending,
            status=ProposalStatus.REJECTED,
            decided_by=TRAINER,
            decided_at=at(5),
            reason="not our URL",
        )
        await u.proposals.update(decided)  # type: ignore[attr-defined]
        await u.commit()
    async with uow() as u:
        assert await u.proposals.get("aa01") == decided  # type: ignore[attr-defined]
        assert await u.proposals.pending() == []  # type: ignore[attr-defined]
        with pytest.raises(NotFound):
            await u.proposals.update(proposal("ffff"))  # type: ignore[attr-defined]


async def test_pending_proposals_come_oldest_first_per_guild_and_per_member(uow: Factory) -> None:
    other = Actor(id="1003", name="Bob")
    async with uow() as u:
        await u.proposals.add(proposal("ab02", seconds=2))  # type: ignore[attr-defined]
        await u.proposals.add(proposal("ab01", seconds=1, by=other))  # type: ignore[attr-defined]
        await u.proposals.add(proposal("cd03", seconds=3, guild="g2"))  # type: ignore[attr-defined]
        await u.commit()
    async with uow() as u:
        p = u.proposals  # type: ignore[attr-defined]
        assert [x.id for x in await p.pending()] == ["ab01", "ab02", "cd03"]
        assert [x.id for x in await p.pending(guild_id="g1")] == ["ab01", "ab02"]
        assert [x.id for x in await p.pending(offset=1, limit=1)] == ["ab02"]
        assert await p.count_pending() == 3
        assert await p.count_pending(guild_id="g2") == 1
        assert [x.id for x in await p.by_proposer(ALICE.id)] == ["cd03", "ab02"]
        assert await p.count_since(ALICE.id, at(2.5)) == 1
        assert [x.id for x in await p.for_prediction("pred-ab01")] == ["ab01"]
        assert await p.with_prefix("ab") == ["ab01", "ab02"]
        for nothing in ("ef", "a%", "_b", "", "AB"):
            assert await p.with_prefix(nothing) == []

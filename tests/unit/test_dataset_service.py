"""DatasetService against the working fakes: permissions, all-or-nothing imports, files."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest

from domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
)
from domain.models import Actor, ExampleSource, JobStatus, ModelVersion, TrainingJob
from domain.services.datasets import DatasetLimits, DatasetService, ExportFormat
from domain.services.models import ACTIVE_KEY
from tests.fakes import FakeArtifactStore, FakeDatabase, inline_offload

T = TypeVar("T")
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "import"
TRAINER = Actor(id="t1", name="Trainer", is_trainer=True)
MEMBER = Actor(id="m1", name="Member")
GOOD = b'{"prompt": "q1", "answer": "a1"}\n{"prompt": "q2", "answer": "a2", "rejected": "r2"}\n'


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 2, 3, 4, 5, 6, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


class CountingOffload:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, fn: Callable[[], T]) -> T:
        self.calls += 1
        return await inline_offload(fn)


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def store() -> FakeArtifactStore:
    return FakeArtifactStore()


@pytest.fixture
def offload() -> CountingOffload:
    return CountingOffload()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(
    db: FakeDatabase,
    store: FakeArtifactStore,
    offload: CountingOffload,
    clock: Clock,
    limits: DatasetLimits | None = None,
) -> DatasetService:
    return DatasetService(
        uow=db.unit_of_work, artifacts=store, offload=offload, limits=limits, clock=clock
    )


@pytest.fixture
def service(
    db: FakeDatabase, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> DatasetService:
    return make(db, store, offload, clock)


async def counts(service: DatasetService) -> dict[str, int]:
    return {d.name: d.example_count for d in await service.all()}


# ----------------------------------------------------------------------------- create & read


async def test_create_lists_the_dataset_with_a_case_folded_name(service: DatasetService) -> None:
    created = await service.create("  Support-FAQ ", TRAINER, description="answers")

    assert created.name == "support-faq"
    (listed,) = await service.all()
    assert (listed.name, listed.description, listed.example_count) == ("support-faq", "answers", 0)


async def test_create_refuses_a_duplicate(service: DatasetService) -> None:
    await service.create("faq", TRAINER)
    with pytest.raises(AlreadyExists):
        await service.create("FAQ", TRAINER)
    assert await counts(service) == {"faq": 0}


@pytest.mark.parametrize("name", ["", "-x", "_x", "a" * 65, "a/b", "../x", "dé", "a b", "x\x00"])
async def test_invalid_dataset_names_are_refused(service: DatasetService, name: str) -> None:
    with pytest.raises(InvalidInput, match="Dataset names use"):
        await service.create(name, TRAINER)
    assert await service.all() == []


async def test_show_returns_the_first_examples(service: DatasetService) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)

    view = await service.show("faq", limit=1)

    assert view.dataset.example_count == 2
    assert [e.prompt for e in view.examples] == ["q1"]
    with pytest.raises(NotFound):
        await service.show("nope")


async def test_members_can_read_but_not_change(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    await service.select("faq", TRAINER)

    assert [d.name for d in await service.all()] == ["faq"]
    assert len((await service.show("faq")).examples) == 2
    assert (await service.selected()) is not None

    attempts = [
        service.create("other", MEMBER),
        service.import_file("faq", MEMBER, filename="x.jsonl", data=GOOD),
        service.import_file("new", MEMBER, filename="x.jsonl", data=GOOD),
        service.add_example("faq", MEMBER, prompt="p", answer="a"),
        service.select("faq", MEMBER),
        service.export("faq", MEMBER, fmt=ExportFormat.SFT),
        service.archive("faq", MEMBER),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionDenied):
            await attempt
    assert await counts(service) == {"faq": 2}
    assert store.files == {}


# ----------------------------------------------------------------------------- add


async def test_add_example_stores_a_manual_example(service: DatasetService) -> None:
    await service.create("faq", TRAINER)
    added = await service.add_example(
        "faq", TRAINER, prompt="Hi?", answer="Hello.", rejected="Go away.", label="greeting"
    )

    (stored,) = (await service.show("faq")).examples
    assert stored == added
    assert (stored.prompt, stored.answer, stored.rejected, stored.label) == (
        "Hi?",
        "Hello.",
        "Go away.",
        "greeting",
    )
    assert stored.source is ExampleSource.MANUAL


async def test_add_example_checks_text_and_dataset(
    db: FakeDatabase, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> None:
    service = make(db, store, offload, clock, DatasetLimits(max_text_chars=10, max_examples=1))
    await service.create("faq", TRAINER)

    with pytest.raises(InvalidInput, match="The answer is 11 characters long; the limit is 10"):
        await service.add_example("faq", TRAINER, prompt="p", answer="a" * 11)
    with pytest.raises(InvalidInput, match="The prompt is empty"):
        await service.add_example("faq", TRAINER, prompt="  ", answer="a")
    with pytest.raises(NotFound):
        await service.add_example("missing", TRAINER, prompt="p", answer="a")
    await service.add_example("faq", TRAINER, prompt="p", answer="a")
    with pytest.raises(LimitExceeded, match="at most 1 examples"):
        await service.add_example("faq", TRAINER, prompt="p2", answer="a2")
    assert await counts(service) == {"faq": 1}


# ----------------------------------------------------------------------------- import


async def test_import_creates_the_dataset_in_the_same_unit_of_work(
    service: DatasetService, db: FakeDatabase, offload: CountingOffload
) -> None:
    report = await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)

    assert (report.added, report.files, report.dataset.example_count) == (2, ("qa.jsonl",), 2)
    assert db.commits == 1
    assert offload.calls == 1
    examples = (await service.show("faq", limit=10)).examples
    assert [(e.prompt, e.answer, e.rejected) for e in examples] == [
        ("q1", "a1", None),
        ("q2", "a2", "r2"),
    ]
    assert {e.source for e in examples} == {ExampleSource.IMPORT}
    assert {e.dataset for e in examples} == {"faq"}
    provenance = [e.provenance for e in examples]
    assert [p.detail if p else None for p in provenance] == [
        "imported from qa.jsonl line 1",
        "imported from qa.jsonl line 2",
    ]
    assert all(p is not None and p.approved_by == TRAINER for p in provenance)


async def test_import_of_every_sample_file(service: DatasetService) -> None:
    expected = {
        "chat.jsonl": 3,
        "prompt_completion.jsonl": 3,
        "preferences.jsonl": 2,
        "qa.csv": 2,
        "prototype.json": 3,
        "notes.txt": 4,
        "mixed.zip": 12,
    }
    for filename, added in expected.items():
        data = (SAMPLES / filename).read_bytes()
        report = await service.import_file("all", TRAINER, filename=filename, data=data)
        assert report.added == added, filename
    assert await counts(service) == {"all": sum(expected.values())}


async def test_failed_import_with_create_leaves_no_dataset(service: DatasetService) -> None:
    bad = (SAMPLES / "bad.jsonl").read_bytes()
    with pytest.raises(InvalidInput) as caught:
        await service.import_file("faq", TRAINER, filename="bad.jsonl", data=bad)

    assert "bad.jsonl:2:" in caught.value.user_message
    assert "bad.jsonl:3:91:" in caught.value.user_message
    assert await service.all() == []


async def test_failed_import_leaves_the_dataset_unchanged(
    service: DatasetService, db: FakeDatabase
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    commits = db.commits
    half_bad = GOOD + b'{"prompt": "q3"}\n'

    with pytest.raises(InvalidInput, match=r"x.jsonl:3: no answer"):
        await service.import_file("faq", TRAINER, filename="x.jsonl", data=half_bad)

    assert await counts(service) == {"faq": 2}
    assert db.commits == commits


async def test_import_into_a_missing_dataset_without_create_is_refused(
    service: DatasetService,
) -> None:
    with pytest.raises(NotFound, match="no dataset named 'faq'"):
        await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD, create=False)
    assert await service.all() == []


async def test_example_limit_counts_existing_examples_and_keeps_all_or_nothing(
    db: FakeDatabase, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> None:
    service = make(db, store, offload, clock, DatasetLimits(max_examples=3))
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)

    with pytest.raises(LimitExceeded, match="at most 3"):
        await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    assert await counts(service) == {"faq": 2}


async def test_file_size_limit_is_stated(
    db: FakeDatabase, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> None:
    service = make(db, store, offload, clock, DatasetLimits(max_file_bytes=10))
    with pytest.raises(LimitExceeded, match="the limit is 10 bytes"):
        await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    assert await service.all() == []


async def test_zip_bomb_import_stores_nothing(
    db: FakeDatabase, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.jsonl", GOOD)
        archive.writestr("b.txt", b"q\n" + b"0" * 3_000_000)
    service = make(db, store, offload, clock, DatasetLimits(max_unpacked_bytes=1024 * 1024))
    with pytest.raises(LimitExceeded, match="unpacks to more than 1 MiB"):
        await service.import_file("faq", TRAINER, filename="up.zip", data=buffer.getvalue())
    assert await service.all() == []


# ----------------------------------------------------------------------------- select


async def test_select_and_selected(service: DatasetService) -> None:
    assert await service.selected() is None
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    await service.create("other", TRAINER)

    await service.select("FAQ", TRAINER)

    selected = await service.selected()
    assert selected is not None
    assert (selected.name, selected.example_count) == ("faq", 2)
    with pytest.raises(NotFound):
        await service.select("missing", TRAINER)
    assert (await service.selected()) == selected


# ----------------------------------------------------------------------------- export & archive


async def test_export_sft_writes_a_stamped_artifact(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)

    artifact = await service.export("faq", TRAINER, fmt=ExportFormat.SFT)

    assert artifact.name == "faq-sft-20260203-040506.jsonl"
    lines = [json.loads(line) for line in (await store.read(artifact.name)).decode().splitlines()]
    assert lines[0] == {
        "messages": [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1"}]
    }
    assert artifact.size == len(await store.read(artifact.name))


async def test_export_dpo_writes_only_pairs_and_reimports(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)

    artifact = await service.export("faq", TRAINER, fmt="dpo")
    data = await store.read(artifact.name)
    report = await service.import_file("again", TRAINER, filename=artifact.name, data=data)

    assert artifact.name == "faq-dpo-20260203-040506.jsonl"
    (example,) = (await service.show("again")).examples
    assert (report.added, example.prompt, example.answer, example.rejected) == (1, "q2", "a2", "r2")


async def test_sft_export_round_trips_through_import(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.import_file(
        "src", TRAINER, filename="chat.jsonl", data=(SAMPLES / "chat.jsonl").read_bytes()
    )
    artifact = await service.export("src", TRAINER, fmt=ExportFormat.SFT)
    await service.import_file(
        "dst", TRAINER, filename=artifact.name, data=await store.read(artifact.name)
    )

    before = (await service.show("src", limit=100)).examples
    after = (await service.show("dst", limit=100)).examples
    assert [(e.messages, e.answer) for e in after] == [(e.messages, e.answer) for e in before]


async def test_dpo_export_without_pairs_is_a_clear_error(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.create("faq", TRAINER)
    with pytest.raises(InvalidInput, match="no examples to export"):
        await service.export("faq", TRAINER, fmt=ExportFormat.SFT)
    await service.add_example("faq", TRAINER, prompt="p", answer="a")
    with pytest.raises(InvalidInput, match="no preference pairs"):
        await service.export("faq", TRAINER, fmt=ExportFormat.DPO)
    with pytest.raises(InvalidInput, match="'sft'"):
        await service.export("faq", TRAINER, fmt="csv")
    assert store.files == {}


async def test_exports_in_the_same_second_do_not_overwrite(
    service: DatasetService, store: FakeArtifactStore
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    first = await service.export("faq", TRAINER, fmt=ExportFormat.SFT)
    second = await service.export("faq", TRAINER, fmt=ExportFormat.SFT)
    assert (first.name, second.name) == (
        "faq-sft-20260203-040506.jsonl",
        "faq-sft-20260203-040506-2.jsonl",
    )
    assert len(store.files) == 2


async def test_archive_manifest_checksums_match(
    service: DatasetService, store: FakeArtifactStore, offload: CountingOffload, clock: Clock
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    clock.now += timedelta(minutes=1)
    calls = offload.calls

    artifact = await service.archive("faq", TRAINER)

    assert offload.calls == calls + 1
    assert re.fullmatch(r"faq-archive-20260203-040606\.zip", artifact.name)
    archive = zipfile.ZipFile(io.BytesIO(await store.read(artifact.name)))
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["dataset"] == "faq"
    assert manifest["counts"] == {"examples": 2, "sft": 2, "dpo": 1}
    assert set(manifest["files"]) == {"sft.jsonl", "dpo.jsonl", "examples.jsonl"}
    for member, info in manifest["files"].items():
        assert hashlib.sha256(archive.read(member)).hexdigest() == info["sha256"]


async def test_archive_of_a_missing_or_empty_dataset_is_refused(service: DatasetService) -> None:
    with pytest.raises(NotFound):
        await service.archive("nope", TRAINER)
    await service.create("empty", TRAINER)
    with pytest.raises(InvalidInput, match="no examples to archive"):
        await service.archive("empty", TRAINER)


# ----------------------------------------------------------------------------- removing


async def test_a_removed_example_is_kept_but_never_exported_again(
    service: DatasetService, db: FakeDatabase, store: FakeArtifactStore
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    first, second = (await service.show("faq", limit=10)).examples

    removed = await service.remove_example(first.id[:8], TRAINER)

    assert removed.example.id == first.id and removed.active_version is None
    assert removed.example.removed is not None and removed.example.removed.by == TRAINER
    view = await service.show("faq", limit=10)
    assert [e.id for e in view.examples] == [second.id]
    assert (view.dataset.example_count, view.dataset.removed_count) == (1, 1)
    [kept] = [e for e in db.committed.examples["faq"] if e.id == first.id]
    assert kept.removed == removed.example.removed  # kept, with who and when
    artifact = await service.export("faq", TRAINER, fmt=ExportFormat.SFT)
    assert b"q1" not in await store.read(artifact.name)
    with pytest.raises(Conflict, match="already removed by Trainer"):
        await service.remove_example(first.id, TRAINER)


async def test_removing_needs_a_trainer_and_a_known_example(
    service: DatasetService, db: FakeDatabase
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    [first, _] = (await service.show("faq", limit=10)).examples
    with pytest.raises(PermissionDenied):
        await service.remove_example(first.id, MEMBER)
    with pytest.raises(NotFound, match="no example with that id"):
        await service.remove_example("ffffffff", TRAINER)
    with pytest.raises(NotFound):
        await service.remove_example("not hex", TRAINER)
    assert all(e.removed is None for e in db.committed.examples["faq"])


async def test_removing_an_example_the_active_version_learned_says_so(
    service: DatasetService, db: FakeDatabase
) -> None:
    await service.import_file("faq", TRAINER, filename="qa.jsonl", data=GOOD)
    first, second = (await service.show("faq", limit=10)).examples
    at = datetime(2026, 2, 3, tzinfo=UTC)
    async with db.unit_of_work() as uow:  # what a finished training job leaves behind
        job = TrainingJob(
            id="job-1", dataset="faq", backend="local", status=JobStatus.SUCCEEDED,
            created_by=TRAINER, created_at=at, example_count=1,
        )  # fmt: skip
        await uow.jobs.add(job, [first])
        await uow.models.add(ModelVersion("base@mem-1", "base", at, memory="mem-1", job_id="job-1"))
        await uow.state.set(ACTIVE_KEY, "base@mem-1")
        await uow.commit()

    assert (await service.remove_example(first.id, TRAINER)).active_version == "base@mem-1"
    assert (await service.remove_example(second.id, TRAINER)).active_version is None

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend, Tokenizer
from adapters.example_memory.builder import MemoryBuilder
from adapters.example_memory.layout import memory_names
from domain.errors import NotFound, TrainingFailed
from tests.adapters.example_memory.faq import BASE, FAQ, Progress, example, make_job, visible


async def test_training_builds_a_memory_the_retriever_finds_paraphrases_in(
    train, memory: HybridExampleMemory
) -> None:
    name = await train()

    async def best(query: str) -> str:
        found = await memory.search(name, query, k=3)
        assert found, query
        return found[0].example.id

    assert await best("I forgot my password, how can it be reset?") == "ex-001"
    assert await best("joining voice channels for newcomers") == "ex-002"
    assert await best("rules about posted links") == "ex-003"
    assert await best("Где делать корректировки отчетов по расходам?") == "ex-007"
    assert await best("расписанием встреч") == "ex-008"
    assert await best("роли тренеров") == "ex-009"
    assert await best("премиум подписки цена") == "ex-011"


async def test_outcome_keeps_the_base_model_and_names_the_memory(
    backend: LocalTrainingBackend, root: Path
) -> None:
    outcome = await backend.train(make_job(), FAQ, base=BASE, report=Progress())
    assert outcome.llm_model == BASE.llm_model
    assert outcome.memory == "mem-0001"
    assert f"{len(FAQ)} examples" in outcome.notes
    manifest = json.loads((root / "mem-0001" / "manifest.json").read_text())
    assert manifest["memory"] == "mem-0001"
    assert manifest["job_id"] == "job-1"
    assert manifest["example_count"] == len(FAQ)
    assert manifest["format_version"] == 2
    assert manifest["tokenizer"] == Tokenizer.description
    assert len(manifest["examples_sha256"]) == 64
    assert manifest["embedding"].startswith("multilingual-e5-small")
    assert len(manifest["vectors_sha256"]) == 64
    assert sorted(p.name for p in (root / "mem-0001").iterdir()) == [
        "examples.jsonl",
        "index",
        "manifest.json",
        "vectors",
    ]
    assert sorted(p.name for p in (root / "mem-0001" / "vectors").iterdir()) == [
        "passages.npy",
        "prompts.npy",
    ]


async def test_progress_is_reported_in_several_steps_and_ends_at_one(train) -> None:
    progress = Progress()
    await train(report=progress)
    fractions = progress.fractions
    assert len(fractions) >= 7  # tokenising chunks, embedding, indexing, saving, ready
    assert any("Embedded" in message for _, message in progress.calls)
    assert fractions == sorted(fractions)
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions[-1] == 1.0
    assert all(message for _, message in progress.calls)


async def test_memory_names_increase_with_each_training(train) -> None:
    names = [await train(job_id=f"job-{i}") for i in range(3)]
    assert names == ["mem-0001", "mem-0002", "mem-0003"]


async def test_concurrent_trainings_get_distinct_names(train, root: Path) -> None:
    names = await asyncio.gather(*(train(job_id=f"job-{i}") for i in range(4)))
    assert sorted(names) == ["mem-0001", "mem-0002", "mem-0003", "mem-0004"]
    assert visible(root) == sorted(names)


async def test_empty_snapshot_fails_clearly_and_leaves_nothing(
    backend: LocalTrainingBackend, root: Path
) -> None:
    with pytest.raises(TrainingFailed) as info:
        await backend.train(make_job(examples=0), [], base=BASE, report=Progress())
    assert "no examples" in info.value.user_message
    assert visible(root) == []


async def test_prompts_without_searchable_words_fail_clearly_and_leave_nothing(
    backend: LocalTrainingBackend, root: Path
) -> None:
    junk = [example(1, "?!", "…"), example(2, "the and of", "…")]
    with pytest.raises(TrainingFailed) as info:
        await backend.train(make_job(), junk, base=BASE, report=Progress())
    assert "searchable word" in info.value.user_message
    assert visible(root) == []


async def test_cancelling_between_chunks_leaves_no_directory_and_no_memory(
    backend: LocalTrainingBackend, root: Path, memory: HybridExampleMemory
) -> None:
    reached = asyncio.Event()

    async def report(fraction: float, message: str) -> None:
        if 0.0 < fraction < 0.1:  # mid-tokenising: hold here until cancelled
            reached.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(backend.train(make_job(), FAQ, base=BASE, report=report))
    await asyncio.wait_for(reached.wait(), 10)
    assert [p for p in visible(root) if p.startswith(".tmp-")]  # a build was under way
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert visible(root) == []
    with pytest.raises(NotFound):
        await memory.search("mem-0001", "password", k=2)


async def test_cancelling_while_a_worker_writes_waits_for_it_then_cleans_up(
    backend: LocalTrainingBackend, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entered, release = threading.Event(), threading.Event()
    original = MemoryBuilder.save

    def slow_save(self: MemoryBuilder, directory: Path) -> None:
        entered.set()
        release.wait(10)
        original(self, directory)  # writes files after the task was cancelled

    monkeypatch.setattr(MemoryBuilder, "save", slow_save)
    task = asyncio.create_task(backend.train(make_job(), FAQ, base=BASE, report=Progress()))
    assert await asyncio.to_thread(entered.wait, 10)
    task.cancel()
    await asyncio.sleep(0)  # let the cancellation land while the save still blocks
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert visible(root) == []


async def test_cancelling_after_publishing_removes_the_memory_and_never_reuses_its_name(
    backend: LocalTrainingBackend, root: Path, train
) -> None:
    reached = asyncio.Event()

    async def report(fraction: float, message: str) -> None:
        if fraction == 1.0:
            reached.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(backend.train(make_job(), FAQ, base=BASE, report=report))
    await asyncio.wait_for(reached.wait(), 10)
    assert memory_names(root) == ["mem-0001"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert visible(root) == []
    assert await train(job_id="job-2") == "mem-0002"


async def test_resume_rebuilds_after_an_interrupted_build(
    backend: LocalTrainingBackend, root: Path, memory: HybridExampleMemory
) -> None:
    stale = root / ".tmp-job-1.0123456789ab"
    (stale / "index").mkdir(parents=True)
    (stale / "examples.jsonl").write_text("half a line")
    other_job = root / ".tmp-job-1-b.0123456789ab"  # another job's build under way
    other_job.mkdir()
    outcome = await backend.resume(make_job(), FAQ, base=BASE, report=Progress())
    assert outcome.memory == "mem-0001"
    assert visible(root) == [other_job.name, "mem-0001"]
    found = await memory.search("mem-0001", "chess tournament", k=1)
    assert [r.example.id for r in found] == ["ex-004"]


async def test_resume_is_idempotent_for_a_job_that_already_published(
    backend: LocalTrainingBackend, root: Path
) -> None:
    first = await backend.train(make_job(), FAQ, base=BASE, report=Progress())
    progress = Progress()
    again = await backend.resume(make_job(), FAQ, base=BASE, report=progress)
    assert again.memory == first.memory == "mem-0001"
    assert visible(root) == ["mem-0001"]
    assert progress.fractions[-1] == 1.0
    other = await backend.resume(make_job("job-2"), FAQ, base=BASE, report=Progress())
    assert other.memory == "mem-0002"


async def test_indexing_runs_in_the_worker_threads(root: Path) -> None:
    seen: set[str] = set()

    class Recording(Tokenizer):
        def tokenize(self, text: str) -> list[str]:
            seen.add(threading.current_thread().name)
            return super().tokenize(text)

    backend = LocalTrainingBackend(root=root, tokenizer=Recording())
    try:
        await backend.train(make_job(), FAQ, base=BASE, report=Progress())
    finally:
        await backend.aclose()
    assert seen
    assert all(name.startswith("local-training") for name in seen)

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

import adapters.example_memory.retrieval as retrieval
from adapters.example_memory import HybridExampleMemory
from domain.errors import InvalidInput, NotFound
from domain.models import RetrievedExample
from tests.adapters.example_memory.faq import FAQ, example


async def test_results_are_the_input_examples_unchanged(train, memory: HybridExampleMemory) -> None:
    name = await train()
    for original in FAQ:
        found = await memory.search(name, original.prompt, k=4)
        assert found[0].example == original  # messages, rejected, label, name, source, time
    rejected = [e for e in FAQ if e.rejected is not None]
    assert rejected  # examples with a rejected answer are indexed by their prompt too


async def test_results_are_best_first_with_positive_bm25_scores(
    train, memory: HybridExampleMemory
) -> None:
    name = await train()
    found = await memory.search(name, "reset the password of my forum account", k=4)
    assert all(isinstance(r, RetrievedExample) for r in found)
    scores = [r.score for r in found]
    assert scores == sorted(scores, reverse=True)
    assert all(s > 0 for s in scores)
    assert found[0].example.id == "ex-001"


async def test_by_words_only_matching_examples_are_returned_up_to_k(
    train, words_only: HybridExampleMemory
) -> None:
    name = await train()
    assert len(await words_only.search(name, "rules", k=1)) == 1
    found = await words_only.search(name, "rules", k=10)
    assert sorted(r.example.id for r in found) == ["ex-003", "ex-005"]
    assert all(r.similarity is None for r in found)  # no vectors used: no similarity
    assert await words_only.search(name, "rules", k=0) == []


async def test_hybrid_hits_are_at_most_k_and_above_the_similarity_floor(
    train, memory: HybridExampleMemory
) -> None:
    name = await train()
    found = await memory.search(name, "rules", k=10)
    assert {"ex-003", "ex-005"} <= {r.example.id for r in found}
    assert len(found) < len(FAQ)  # the floor leaves out what is not about rules
    floor = retrieval.SIMILARITY_FLOOR
    assert all(r.similarity is not None and r.similarity >= floor for r in found)
    assert len(await memory.search(name, "rules", k=1)) == 1
    assert await memory.search(name, "rules", k=0) == []


async def test_a_query_without_usable_terms_finds_nothing(
    train, memory: HybridExampleMemory, words_only: HybridExampleMemory
) -> None:
    name = await train()
    for retriever in (memory, words_only):
        assert await retriever.search(name, "", k=4) == []
        assert await retriever.search(name, "?! … —", k=4) == []
        assert await retriever.search(name, "what is the", k=4) == []
    assert await words_only.search(name, "zyzzyva quux", k=4) == []  # not in the memory
    # by meaning, gibberish may land near a short prompt, but never as a close match
    found = await memory.search(name, "zyzzyva quux", k=4)
    assert all(r.similarity is not None and r.similarity < retrieval.CLOSE_MATCH for r in found)


async def test_a_long_query_is_answered_too(
    train, memory: HybridExampleMemory, words_only: HybridExampleMemory
) -> None:
    name = await train()
    query = (
        "I moved here from another club last month and I love playing chess online. "
        "My friends told me this server runs a weekly chess tournament for members. "
    ) * 15 + "So: when does the weekly chess tournament start?"
    assert len(query) > retrieval.INLINE_QUERY_CHARS
    for retriever in (memory, words_only):
        found = await retriever.search(name, query, k=1)
        assert [r.example.id for r in found] == ["ex-004"]


async def test_searches_in_the_worker_pool_give_the_same_results(
    train, words_only: HybridExampleMemory, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await train()
    query = "Как подать корректировку?"
    inline = await words_only.search(name, query, k=3)
    monkeypatch.setattr(retrieval, "INLINE_WORK", 0)
    assert await words_only.search(name, query, k=3) == inline


@pytest.mark.parametrize(
    "name",
    [
        "../mem-0001",
        "mem-0001/../../etc",
        "/etc/passwd",
        "mem-1",
        "MEM-0001",
        "mem-0001\n",
        "mem-٠٠٠١",  # Arabic-Indic digits are not digits here
        "",
    ],
)
async def test_names_that_are_not_memory_names_are_refused(
    train, memory: HybridExampleMemory, name: str
) -> None:
    await train()
    with pytest.raises(InvalidInput):
        await memory.search(name, "password", k=2)


async def test_a_missing_memory_is_not_found(memory: HybridExampleMemory, root: Path) -> None:
    with pytest.raises(NotFound) as info:
        await memory.search("mem-0042", "password", k=2)
    assert "mem-0042" in info.value.user_message
    assert "does not exist" in info.value.user_message
    assert str(root) not in info.value.user_message


async def test_a_memory_whose_examples_were_altered_is_refused_as_damaged(
    train, root: Path, memory: HybridExampleMemory
) -> None:
    name = await train()
    path = root / name / "examples.jsonl"
    path.write_bytes(path.read_bytes().replace(b"chess", b"chass"))
    with pytest.raises(NotFound) as info:
        await memory.search(name, "chess", k=2)
    assert "damaged" in info.value.user_message
    assert str(root) not in info.value.user_message


async def test_a_memory_missing_its_index_is_refused_as_damaged(
    train, root: Path, memory: HybridExampleMemory
) -> None:
    name = await train()
    shutil.rmtree(root / name / "index")
    with pytest.raises(NotFound) as info:
        await memory.search(name, "chess", k=2)
    assert "damaged" in info.value.user_message


async def test_a_memory_with_a_broken_manifest_is_refused_as_damaged(
    train, root: Path, memory: HybridExampleMemory
) -> None:
    name = await train()
    (root / name / "manifest.json").write_text("{not json")
    with pytest.raises(NotFound) as info:
        await memory.search(name, "chess", k=2)
    assert "damaged" in info.value.user_message


async def test_a_memory_is_loaded_once_and_kept_in_a_bounded_cache(train, root: Path) -> None:
    first, second = await train(job_id="a"), await train(job_id="b")
    memory = HybridExampleMemory(root=root, cache_size=1)
    try:
        assert await memory.search(first, "chess", k=1)
        shutil.rmtree(root / first)  # served from the cache from now on
        assert await memory.search(first, "chess", k=1)
        assert await memory.search(second, "chess", k=1)  # evicts the first
        with pytest.raises(NotFound):
            await memory.search(first, "chess", k=1)
    finally:
        await memory.aclose()


async def test_concurrent_searches_share_one_load(
    train, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = await train()
    loads: list[str] = []
    real = retrieval.load_memory

    def counting(*args, **kwargs):
        loads.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(retrieval, "load_memory", counting)
    memory = HybridExampleMemory(root=root)
    try:
        results = await asyncio.gather(*(memory.search(name, "chess", k=1) for _ in range(5)))
    finally:
        await memory.aclose()
    assert loads == [name]
    assert all(r[0].example.id == "ex-004" for r in results)


async def test_a_cancelled_search_does_not_spoil_the_load_for_others(train, root: Path) -> None:
    name = await train()
    memory = HybridExampleMemory(root=root)
    try:
        first = asyncio.create_task(memory.search(name, "chess", k=1))
        second = asyncio.create_task(memory.search(name, "chess", k=1))
        await asyncio.sleep(0)
        first.cancel()
        found = await second
        assert [r.example.id for r in found] == ["ex-004"]
    finally:
        await memory.aclose()


async def test_a_memory_published_later_is_found_then(train, memory: HybridExampleMemory) -> None:
    with pytest.raises(NotFound):
        await memory.search("mem-0001", "chess", k=1)
    name = await train([example(1, "When is the chess night?", "Fridays.")])
    assert [r.example.id for r in await memory.search(name, "chess", k=1)] == ["ex-001"]

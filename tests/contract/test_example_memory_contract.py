"""The ExampleMemory contract: the fake and the real memory retrieve alike.

Each test runs against ``FakeExampleMemory`` and against ``HybridExampleMemory``
over a memory the real ``local`` training backend built (with vectors, and searched
by words alone as a memory without vectors is). The memories hold a handful of
examples, so the suite stays quick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend
from adapters.example_memory.embedding import E5Embedder
from domain.errors import DomainError, NotFound
from domain.models import Example, RetrievedExample
from tests.adapters.example_memory.faq import BASE, FAQ, Progress, make_job
from tests.fakes.memory import FakeExampleMemory

# English and Russian; a correction with a rejected answer, a label and a name, a
# conversation with a system prompt and earlier turns
EXAMPLES: tuple[Example, ...] = (FAQ[0], FAQ[2], FAQ[3], FAQ[6], FAQ[8], FAQ[12])
PASSWORD, LINKS, CHESS, REPORTS, TRAINER_ROLE, ARITHMETIC = EXAMPLES
UNRELATED = "Bake sourdough bread starter hydration"  # no word in common, far in meaning


class ClosableMemory(Protocol):
    async def search(self, memory: str, query: str, *, k: int) -> list[RetrievedExample]: ...
    async def aclose(self) -> None: ...


@dataclass
class Subject:
    """A memory implementation, the name of its memory of ``EXAMPLES``, and a way to
    teach it more examples (a new memory; its name comes back)."""

    memory: ClosableMemory
    taught: str
    teach: Callable[[Sequence[Example], str], Awaitable[str]]


VARIANTS = {"hybrid": True, "words-only": False}  # the retriever's and trainer's vectors=


async def _train(backend: LocalTrainingBackend, examples: Sequence[Example], job_id: str) -> str:
    job = make_job(job_id, examples=len(examples))
    outcome = await backend.train(job, examples, base=BASE, report=Progress())
    assert outcome.memory is not None
    return outcome.memory


@pytest.fixture(scope="module")
def embedder() -> E5Embedder:
    """The real embedding model, loaded once for the module."""
    return E5Embedder(threads=1)


@pytest.fixture(scope="module")
def built(
    tmp_path_factory: pytest.TempPathFactory, embedder: E5Embedder
) -> dict[str, tuple[Path, str]]:
    """A memory of ``EXAMPLES`` per real variant, built once for the module."""

    async def build(root: Path, vectors: bool) -> str:
        backend = LocalTrainingBackend(root=root, embedder=embedder, vectors=vectors)
        try:
            return await _train(backend, EXAMPLES, "job-0")
        finally:
            await backend.aclose()

    memories = {}
    for variant, vectors in VARIANTS.items():
        root = tmp_path_factory.mktemp(variant) / "memories"
        memories[variant] = (root, asyncio.run(build(root, vectors)))
    return memories


@pytest.fixture(params=["fake", *VARIANTS])
async def subject(
    request: pytest.FixtureRequest, embedder: E5Embedder, built: dict[str, tuple[Path, str]]
) -> AsyncIterator[Subject]:
    if request.param == "fake":
        fake = FakeExampleMemory()
        names = iter(f"mem-{n:04d}" for n in range(1, 100))

        async def put(examples: Sequence[Example], job_id: str) -> str:
            name = next(names)
            fake.put(name, examples)
            return name

        yield Subject(fake, await put(EXAMPLES, "job-0"), put)
        await fake.aclose()
        return
    vectors = VARIANTS[request.param]
    root, taught = built[request.param]
    backend = LocalTrainingBackend(root=root, embedder=embedder, vectors=vectors)
    memory = HybridExampleMemory(root=root, embedder=embedder, vectors=vectors)

    async def train(examples: Sequence[Example], job_id: str) -> str:
        return await _train(backend, examples, job_id)

    yield Subject(memory, taught, train)
    await memory.aclose()
    await backend.aclose()


def ids(found: list[RetrievedExample]) -> list[str]:
    return [r.example.id for r in found]


# --------------------------------------------------------------------------- finding


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("How do I reset my password?", PASSWORD),
        ("What are the rules for posting links?", LINKS),
        ("Как получить роль тренера?", TRAINER_ROLE),
        ("корректировку в отчёт о расходах", REPORTS),
    ],
)
async def test_the_example_asked_about_comes_first(
    subject: Subject, query: str, expected: Example
) -> None:
    name = subject.taught

    found = await subject.memory.search(name, query, k=3)

    assert found and found[0].example.id == expected.id


async def test_an_example_comes_back_as_it_was_taught(subject: Subject) -> None:
    name = subject.taught

    for taught in EXAMPLES:
        found = await subject.memory.search(name, taught.prompt, k=1)
        assert [r.example for r in found] == [taught]


async def test_no_more_than_k_results_best_first_each_once(subject: Subject) -> None:
    name = subject.taught
    query = "How do I reset my password? What are the rules for posting links?"

    one = await subject.memory.search(name, query, k=1)
    many = await subject.memory.search(name, query, k=len(EXAMPLES) + 10)

    assert len(one) == 1
    assert 1 <= len(many) <= len(EXAMPLES)
    assert len(set(ids(many))) == len(many)
    scores = [r.score for r in many]
    assert scores == sorted(scores, reverse=True)
    assert ids(many)[0] == ids(one)[0]
    assert set(ids(many)) <= {e.id for e in EXAMPLES}


async def test_similarity_is_unknown_or_between_zero_and_one(subject: Subject) -> None:
    name = subject.taught

    found = await subject.memory.search(name, PASSWORD.prompt, k=len(EXAMPLES))

    assert found
    assert all(r.similarity is None or 0.0 <= r.similarity <= 1.0 for r in found)


@pytest.mark.parametrize(
    "query",
    [UNRELATED, "What are they and where is it?", "Что это и где это?", "?! …", ""],
    ids=["unrelated", "function-words", "function-words-ru", "punctuation", "empty"],
)
async def test_nothing_relevant_finds_nothing(subject: Subject, query: str) -> None:
    name = subject.taught

    assert await subject.memory.search(name, query, k=5) == []


@pytest.mark.parametrize("k", [0, -1])
async def test_k_of_zero_or_less_finds_nothing(subject: Subject, k: int) -> None:
    name = subject.taught

    assert await subject.memory.search(name, PASSWORD.prompt, k=k) == []


async def test_each_memory_holds_only_its_own_examples(subject: Subject) -> None:
    first = await subject.teach((PASSWORD, CHESS), "job-1")
    second = await subject.teach((LINKS, ARITHMETIC), "job-2")
    everything = (PASSWORD, CHESS, LINKS, ARITHMETIC)

    assert len({first, second, subject.taught}) == 3
    for asked in everything:
        assert set(ids(await subject.memory.search(first, asked.prompt, k=4))) <= {
            PASSWORD.id,
            CHESS.id,
        }
        assert set(ids(await subject.memory.search(second, asked.prompt, k=4))) <= {
            LINKS.id,
            ARITHMETIC.id,
        }
    assert ids(await subject.memory.search(first, CHESS.prompt, k=4))[:1] == [CHESS.id]
    assert ids(await subject.memory.search(second, LINKS.prompt, k=4))[:1] == [LINKS.id]


async def test_concurrent_searches_agree_with_one_at_a_time(subject: Subject) -> None:
    name = subject.taught
    queries = [e.prompt for e in EXAMPLES]

    alone = [ids(await subject.memory.search(name, q, k=2)) for q in queries]
    together = await asyncio.gather(*(subject.memory.search(name, q, k=2) for q in queries))

    assert [ids(found) for found in together] == alone


# --------------------------------------------------------------------------- refusals


async def test_a_memory_that_does_not_exist_is_not_found(subject: Subject) -> None:
    with pytest.raises(NotFound) as refused:
        await subject.memory.search("mem-0099", PASSWORD.prompt, k=3)

    assert "mem-0099" in refused.value.user_message


async def test_a_name_no_memory_can_have_is_refused_with_a_message(subject: Subject) -> None:
    with pytest.raises(DomainError) as refused:
        await subject.memory.search("../mem-0001", PASSWORD.prompt, k=3)

    assert "../mem-0001" in refused.value.user_message


async def test_a_closed_memory_refuses_to_search_and_closes_twice(subject: Subject) -> None:
    name = subject.taught
    assert await subject.memory.search(name, PASSWORD.prompt, k=1)

    await subject.memory.aclose()
    await subject.memory.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await subject.memory.search(name, PASSWORD.prompt, k=1)

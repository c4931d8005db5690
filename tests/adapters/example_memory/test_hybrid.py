"""Hybrid retrieval: the embedding model, the vector index, fusion, and old memories."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import structlog

import adapters.example_memory.retrieval as retrieval
from adapters.example_memory import HybridExampleMemory
from adapters.example_memory.embedding import E5Embedder
from adapters.example_memory.fusion import reciprocal_rank_fusion
from adapters.example_memory.vectors import CANDIDATES, VectorIndex
from domain.errors import NotFound
from domain.models import ExampleSource
from tests.adapters.example_memory.faq import FAQ, example
from tests.adapters.example_memory.paraphrases import TAUGHT, UNRELATED

# --------------------------------------------------------------------------- the model


@pytest.fixture(scope="module")
def embedder() -> E5Embedder:
    return E5Embedder()


def test_vectors_are_normalised_float32_rows(embedder: E5Embedder) -> None:
    texts = ["How do I change my nickname?", "Как поменять язык бота?"]
    for vectors in (embedder.queries(texts), embedder.passages(texts)):
        assert vectors.dtype == np.float32 and vectors.shape == (2, embedder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert embedder.queries([]).shape == (0, embedder.dim)
    # the same text as a question and as a document: two different prefixes, two vectors
    assert float(embedder.queries(texts[:1])[0] @ embedder.passages(texts[:1])[0]) < 0.999
    assert np.allclose(embedder.query(texts[0]), embedder.queries(texts[:1])[0], atol=1e-5)


def test_a_paraphrase_is_closer_than_an_unrelated_question_in_both_languages(
    embedder: E5Embedder,
) -> None:
    taught = embedder.queries(["How do I change my nickname?", "Кто ведёт клуб любителей книг?"])
    paraphrase = embedder.queries(
        [
            "Is it possible to pick a different display name?",
            "Кто организует наши литературные вечера?",
        ]
    )
    unrelated = embedder.queries(["Who painted the Mona Lisa?", "Почему кошки мурлычут?"])
    for i in range(2):
        assert float(taught[i] @ paraphrase[i]) > float(taught[i] @ unrelated[i]) + 0.03
    # and across languages: the English question is nearer its Russian twin than to another
    twin = embedder.queries(["Как изменить свой ник?"])[0]
    assert float(taught[0] @ twin) > float(taught[1] @ twin)


# --------------------------------------------------------------------------- vectors


def _clustered(rows: int, dim: int = 384, seed: int = 7) -> np.ndarray:
    """Normalised rows around a shared direction, like e5's: cosines crowd near 0.8."""
    rng = np.random.default_rng(seed)
    common = rng.normal(size=dim)
    common /= np.linalg.norm(common)
    topics = rng.normal(size=(rows // 50 + 1, dim))
    topics /= np.linalg.norm(topics, axis=1, keepdims=True)
    x = 0.9 * common + 0.35 * topics[rng.integers(0, topics.shape[0], rows)]
    x += 0.25 * rng.normal(size=(rows, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)


def test_the_prefilter_finds_what_exact_search_finds_at_100k_rows() -> None:
    vectors = _clustered(100_000)
    index = VectorIndex(vectors)
    assert index.prefiltered
    exact = vectors.astype(np.float32)
    rng = np.random.default_rng(11)
    agree = total = same_first = 0
    for row in rng.integers(0, vectors.shape[0], 100):
        query = exact[row] + 0.3 * rng.normal(size=exact.shape[1]) / np.sqrt(exact.shape[1])
        query = (query / np.linalg.norm(query)).astype(np.float32)
        rows, cosines = index.top(query, 10)
        truth = np.argsort(-(exact @ query), kind="stable")[:10]
        agree += len(set(rows.tolist()) & set(truth.tolist()))
        total += 10
        same_first += int(rows[0] == truth[0])
        assert np.allclose(cosines, exact[rows] @ query, atol=1e-3)  # rescored exactly
        rounded = np.round(cosines, 5).tolist()  # equal to 5 decimals: ordered by row
        assert rounded == sorted(rounded, reverse=True)
    assert agree / total >= 0.98
    assert same_first >= 98


def test_a_small_index_is_exact_and_orders_equal_rows_by_position() -> None:
    vectors = _clustered(300)
    vectors[[40, 7, 200]] = vectors[123]  # the same prompt four times
    index = VectorIndex(vectors)
    assert not index.prefiltered
    query = vectors[123].astype(np.float32)
    rows, cosines = index.top(query, 4)
    assert rows.tolist() == [7, 40, 123, 200]
    assert np.allclose(cosines, 1.0, atol=1e-3)
    assert index.top(query, 0)[0].shape == (0,)
    assert index.top(query, 10_000)[0].shape == (300,)


def test_the_prefilter_keeps_ties_and_asks_for_at_least_k_candidates() -> None:
    vectors = _clustered(30_000)
    vectors[29_000:] = vectors[5]  # 1,000 copies
    index = VectorIndex(vectors)
    rows, _ = index.top(vectors[5].astype(np.float32), CANDIDATES + 10)
    assert rows.shape == (CANDIDATES + 10,)
    assert rows[:5].tolist() == [5, 29_000, 29_001, 29_002, 29_003]


# --------------------------------------------------------------------------- fusion


def test_fusion_rewards_agreement_and_breaks_ties_by_position() -> None:
    fused = reciprocal_rank_fusion([[3, 1, 2], [1, 3], [1]])
    assert [doc for doc, _ in fused] == [1, 3, 2]
    assert fused[0][1] == pytest.approx(1 / 62 + 1 / 61 + 1 / 61)
    # the same ranks in two lists: equal scores, earlier document first
    assert [doc for doc, _ in reciprocal_rank_fusion([[9, 4], [4, 9]])] == [4, 9]
    assert reciprocal_rank_fusion([[], []]) == []
    assert [doc for doc, _ in reciprocal_rank_fusion([[5, 5, 6]])] == [5, 6]  # repeats count once


# --------------------------------------------------------------------------- the retriever


TAUGHT_EXAMPLES = tuple(
    example(100 + i, question, answer) for i, (question, answer, _) in enumerate(TAUGHT)
)


async def _rank(memory: HybridExampleMemory, name: str, query: str, want: str) -> int | None:
    found = await memory.search(name, query, k=4)
    ids = [r.example.id for r in found]
    return ids.index(want) if want in ids else None


async def test_a_paraphrase_sharing_no_word_is_found_by_meaning_not_by_words(
    train, memory: HybridExampleMemory, words_only: HybridExampleMemory
) -> None:
    name = await train(TAUGHT_EXAMPLES)
    query = "Is it possible to pick a different display name?"  # taught: change my nickname
    assert await _rank(words_only, name, query, "ex-100") is None
    found = await memory.search(name, query, k=4)
    assert found[0].example.id == "ex-100"
    assert found[0].similarity is not None and found[0].similarity >= retrieval.SIMILARITY_FLOOR


async def test_hybrid_finds_more_paraphrases_than_words_alone(
    train, memory: HybridExampleMemory, words_only: HybridExampleMemory
) -> None:
    name = await train(TAUGHT_EXAMPLES)
    hybrid = words = 0
    asked = 0
    for taught, (_, _, paraphrases) in zip(TAUGHT_EXAMPLES, TAUGHT, strict=True):
        for query in paraphrases:
            asked += 1
            hybrid += await _rank(memory, name, query, taught.id) is not None
            words += await _rank(words_only, name, query, taught.id) is not None
    assert hybrid >= 0.9 * asked
    assert hybrid > words


async def test_the_same_question_is_a_close_match_and_unrelated_ones_are_not(
    train, memory: HybridExampleMemory
) -> None:
    name = await train(TAUGHT_EXAMPLES)
    found = await memory.search(name, TAUGHT[0][0], k=4)
    assert found[0].example.id == "ex-100"
    assert found[0].similarity is not None and found[0].similarity > 0.99
    close = 0
    for question in UNRELATED:
        hits = await memory.search(name, question, k=4)
        close += any((r.similarity or 0) >= retrieval.CLOSE_MATCH for r in hits)
    assert close == 0


async def test_duplicated_prompts_come_back_in_training_order(
    train, memory: HybridExampleMemory
) -> None:
    question = "How do I leave the voice channel?"
    examples = (
        *FAQ[:6],
        example(50, question, "Use /leave.", source=ExampleSource.IMPORT),
        example(51, question, "Use /leave, or disconnect.", source=ExampleSource.CORRECTION),
    )
    name = await train(examples)
    for _ in range(3):
        found = await memory.search(name, question, k=4)
        assert [r.example.id for r in found[:2]] == ["ex-050", "ex-051"]


def _make_format_1(directory: Path) -> None:
    """What a memory built before vectors existed looks like."""
    shutil.rmtree(directory / "vectors")
    manifest = json.loads((directory / "manifest.json").read_text())
    for key in ("embedding", "vectors_sha256"):
        del manifest[key]
    manifest["format_version"] = 1
    (directory / "manifest.json").write_text(json.dumps(manifest))


async def test_a_memory_without_vectors_is_searched_by_words_and_says_so_once(
    train, root: Path
) -> None:
    name = await train()
    _make_format_1(root / name)
    memory = HybridExampleMemory(root=root, cache_size=1)
    try:
        with structlog.testing.capture_logs() as logs:
            found = await memory.search(name, "reset the password of my forum account", k=4)
            other = await train(job_id="other")  # evicts the old one from the cache …
            await memory.search(other, "password", k=1)
            await memory.search(name, "password", k=1)  # … so it is loaded again
    finally:
        await memory.aclose()
    assert found[0].example.id == "ex-001"
    assert all(r.similarity is None for r in found)
    told = [e for e in logs if e["event"] == "example_memory_searched_by_words_only"]
    assert len(told) == 1 and told[0]["memory"] == name


async def test_altered_vectors_make_the_memory_damaged(
    train, root: Path, memory: HybridExampleMemory
) -> None:
    name = await train()
    path = root / name / "vectors" / "prompts.npy"
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(NotFound) as info:
        await memory.search(name, "chess", k=2)
    assert "damaged" in info.value.user_message

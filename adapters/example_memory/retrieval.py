"""``HybridExampleMemory``: the examples of a memory closest to a question.

Three rankings of the memory's examples are fused by reciprocal rank
(:mod:`.fusion`): BM25 over stemmed words, the cosine of the question to each
example's prompt, and its cosine to the example as a whole (prompt and answer).
Words find exact names, codes and rare terms; the vectors find the same
question asked in other words ("link" for "URL", "mod" for "moderator") and
across English and Russian.

A hit is returned only when its prompt is at least :data:`SIMILARITY_FLOOR`
similar to the question, so a question about something never taught gets no
demonstrations at all. :attr:`RetrievedExample.similarity` is that cosine;
above :data:`CLOSE_MATCH` the example is most likely the same question.

A memory without vectors (format 1, or made by another embedding model) is
searched by BM25 alone, as before; that is logged once per memory.

Memories are opened lazily, once, in a worker thread, and kept in a small LRU.
Embedding the question costs 8–25 ms, so a search with vectors runs in the
worker pool; a BM25-only search whose work is tiny (a small memory, rare query
terms) runs inline, anything bigger — roughly over a millisecond — in the pool.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

import numpy as np
import structlog

from adapters.example_memory.embedding import E5Embedder, TextEmbedder
from adapters.example_memory.fusion import reciprocal_rank_fusion
from adapters.example_memory.layout import validate_memory_name
from adapters.example_memory.reader import LoadedMemory, load_memory
from adapters.example_memory.tokenizer import Tokenizer
from domain.models import RetrievedExample

logger = structlog.get_logger()
T = TypeVar("T")

INLINE_WORK = 250_000
"""Searches touching at most this many array elements (documents + postings of
the query's terms) run on the event loop: about 0.7 ms on the 2-core reference
machine (~3 ns per element). Bigger ones run in the worker pool."""

INLINE_QUERY_CHARS = 2_000
"""Longer queries are tokenised in the pool as well."""

QUERY_CHARS = 2_000
"""The question is cut to this many characters before it is embedded."""

DEPTH = 50
"""How many examples each ranking contributes to the fusion."""

SIMILARITY_FLOOR = 0.80
"""Hits whose prompt is less similar to the question than this are dropped.

e5 cosines are crowded: on the questions in
``tests/adapters/example_memory/paraphrases.py`` a paraphrase scored 0.81–0.92
against its own taught question, the best *other* taught question 0.77–0.87,
and questions about something never taught 0.75–0.86 (six of eight below
0.815). 0.80 keeps every paraphrase there and drops most unrelated questions'
hits; what remains is ranked below the right example when there is one."""

CLOSE_MATCH = 0.86
"""A prompt this similar is most likely the question itself, reworded: 90 % of
the unrelated questions above stayed below it, and half of the paraphrases
reached it. Meant for "a trainer answered this" hints, not for filtering."""


class HybridExampleMemory:
    def __init__(
        self,
        *,
        root: Path,
        cache_size: int = 4,
        workers: int = 2,
        tokenizer: Tokenizer | None = None,
        embedder: TextEmbedder | None = None,
        vectors: bool = True,
    ) -> None:
        """``vectors=False`` searches every memory by BM25 alone (no embedding model)."""
        if cache_size < 1 or workers < 1:
            raise ValueError("cache_size and workers must be positive")
        self._root = Path(root)
        self._cache_size = cache_size
        self._workers = workers
        self._tokenizer = tokenizer or Tokenizer()
        self._embedder: TextEmbedder | None = None
        if vectors:
            self._embedder = embedder or E5Embedder(threads=1)  # see embedding.py: Threads
        self._told_without_vectors: set[str] = set()
        self._cache: OrderedDict[str, LoadedMemory] = OrderedDict()
        self._loading: dict[str, asyncio.Task[LoadedMemory]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    async def search(self, memory: str, query: str, *, k: int) -> list[RetrievedExample]:
        name = validate_memory_name(memory)
        if self._closed:
            raise RuntimeError("the example memory is closed")
        if k <= 0:
            return []
        loaded = await self._get(name)
        if self._embedder is not None and loaded.has_vectors:
            found = await self._offload(partial(self._hybrid_sync, loaded, query, k))
            return [
                RetrievedExample(example=loaded.example(doc), score=score, similarity=similarity)
                for doc, score, similarity in found
            ]
        if len(query) > INLINE_QUERY_CHARS:
            hits = await self._offload(partial(self._search_sync, loaded, query, k))
        else:
            term_ids = loaded.term_ids(self._tokenizer.query_terms(query))
            if not term_ids:
                return []
            if loaded.cost(term_ids) <= INLINE_WORK:
                hits = loaded.top(term_ids, k)
            else:
                hits = await self._offload(partial(loaded.top, term_ids, k))
        return [RetrievedExample(example=loaded.example(doc), score=score) for doc, score in hits]

    async def aclose(self) -> None:
        self._closed = True
        pending = list(self._loading.values())
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        self._cache.clear()
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True)

    # ------------------------------------------------------------------ internals

    def _search_sync(self, loaded: LoadedMemory, query: str, k: int) -> list[tuple[int, float]]:
        term_ids = loaded.term_ids(self._tokenizer.query_terms(query))
        return loaded.top(term_ids, k) if term_ids else []

    def _hybrid_sync(
        self, loaded: LoadedMemory, query: str, k: int
    ) -> list[tuple[int, float, float]]:
        """(document, fused score, prompt cosine), best first, above the floor."""
        assert self._embedder is not None
        assert loaded.prompts is not None and loaded.passages is not None
        terms = self._tokenizer.query_terms(query)
        if not terms:
            return []  # nothing but stop words and punctuation: no question to match
        term_ids = loaded.term_ids(terms)
        depth = max(DEPTH, k)
        lexical = [doc for doc, _ in loaded.top(term_ids, depth)] if term_ids else []
        vector = self._embedder.queries([query[:QUERY_CHARS]])[0]
        by_prompt, _ = loaded.prompts.top(vector, depth)
        by_passage, _ = loaded.passages.top(vector, depth)
        fused = reciprocal_rank_fusion([lexical, by_prompt.tolist(), by_passage.tolist()])
        docs = np.array([doc for doc, _ in fused], dtype=np.int64)
        similarity = loaded.prompts.cosines(docs, vector)
        found: list[tuple[int, float, float]] = []
        for (doc, score), cosine in zip(fused, similarity.tolist(), strict=True):
            if cosine >= SIMILARITY_FLOOR:
                found.append((doc, score, min(1.0, max(0.0, cosine))))
                if len(found) == k:
                    break
        return found

    async def _offload(self, fn: Callable[[], T]) -> T:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="example-memory"
            )
        return await asyncio.wrap_future(self._pool.submit(fn))

    async def _get(self, name: str) -> LoadedMemory:
        loaded = self._cache.get(name)
        if loaded is not None:
            self._cache.move_to_end(name)
            return loaded
        task = self._loading.get(name)
        if task is None:
            task = asyncio.create_task(self._load(name), name=f"load-{name}")
            self._loading[name] = task
            task.add_done_callback(partial(self._loaded, name))
        # one load serves every caller; a caller that is cancelled does not stop it
        return await asyncio.shield(task)

    async def _load(self, name: str) -> LoadedMemory:
        started = time.perf_counter()
        embedding = None if self._embedder is None else self._embedder.description
        loaded = await self._offload(
            partial(
                load_memory,
                self._root,
                name,
                tokenizer=self._tokenizer.description,
                embedding=embedding,
            )
        )
        self._cache[name] = loaded
        self._cache.move_to_end(name)
        while len(self._cache) > self._cache_size:
            evicted, _ = self._cache.popitem(last=False)
            logger.info("example_memory_evicted", memory=evicted)
        logger.info(
            "example_memory_loaded",
            memory=name,
            examples=loaded.size,
            terms=len(loaded.vocab),
            vectors=loaded.has_vectors,
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        if loaded.without_vectors and name not in self._told_without_vectors:
            self._told_without_vectors.add(name)
            logger.info(
                "example_memory_searched_by_words_only", memory=name, reason=loaded.without_vectors
            )
        return loaded

    def _loaded(self, name: str, task: asyncio.Task[LoadedMemory]) -> None:
        if self._loading.get(name) is task:
            del self._loading[name]
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not reported twice

"""``Bm25ExampleMemory``: the examples of a memory closest to a question.

Memories are opened lazily, once, in a worker thread, and kept in a small LRU.
A search whose work is tiny (a small memory, rare query terms) runs inline;
anything bigger — roughly over a millisecond — runs in the worker pool too.
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

import structlog

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


class Bm25ExampleMemory:
    def __init__(
        self,
        *,
        root: Path,
        cache_size: int = 4,
        workers: int = 2,
        tokenizer: Tokenizer | None = None,
    ) -> None:
        if cache_size < 1 or workers < 1:
            raise ValueError("cache_size and workers must be positive")
        self._root = Path(root)
        self._cache_size = cache_size
        self._workers = workers
        self._tokenizer = tokenizer or Tokenizer()
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
        loaded = await self._offload(
            partial(load_memory, self._root, name, tokenizer=self._tokenizer.description)
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
            ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return loaded

    def _loaded(self, name: str, task: asyncio.Task[LoadedMemory]) -> None:
        if self._loading.get(name) is task:
            del self._loading[name]
        if not task.cancelled():
            task.exception()  # retrieved here, so an unawaited failure is not reported twice

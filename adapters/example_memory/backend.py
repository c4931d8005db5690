"""The ``local`` training backend: a dataset snapshot becomes an example memory.

Training here means indexing: the examples are tokenised (Russian and English
stemming) and indexed with BM25 (bm25s), embedded with a small multilingual
model (:mod:`.embedding`), and saved as a new, versioned memory under ``root/``
(see :mod:`adapters.example_memory.layout`). The chat service then retrieves
the closest examples as demonstrations at answer time.

The blocking work runs in a bounded thread pool, in steps; cancellation is
noticed between steps, and nothing half-built is ever left behind.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import structlog

from adapters.example_memory.builder import MemoryBuilder
from adapters.example_memory.embedding import E5Embedder, TextEmbedder
from adapters.example_memory.layout import (
    Manifest,
    find_memory,
    make_temp_dir,
    publish,
    remove_stale_temp_dirs,
    temp_dir_for,
    unpublish,
)
from adapters.example_memory.steps import Steps
from adapters.example_memory.tokenizer import Tokenizer
from domain.errors import DomainError, TrainingFailed
from domain.models import Example, ModelVersion, TrainingJob, TrainingOption, TrainingOutcome
from domain.ports import ProgressReporter

logger = structlog.get_logger()

# progress: tokenising fills 0 → 0.1 (→ 0.7 without vectors), embedding → 0.85,
# indexing → 0.9, saving → 0.95, publishing → 1
_TOKENISED = 0.1
_TOKENISED_ONLY = 0.7
_EMBEDDED = 0.85
_INDEXED = 0.9
_SAVED = 0.95
_MAX_CHUNKS = 20

EMBED_CHUNK = 64
"""Examples embedded per step (a prompt and a passage each): 2–5 s of work on
the 2-core reference machine, so a cancel is noticed within seconds."""


class LocalTrainingBackend:
    name = "local"
    supports_resume = True
    options: tuple[TrainingOption, ...] = ()

    def __init__(
        self,
        *,
        root: Path,
        workers: int = 1,
        chunk_size: int = 1_000,
        tokenizer: Tokenizer | None = None,
        embedder: TextEmbedder | None = None,
        vectors: bool = True,
    ) -> None:
        """``vectors=False`` builds BM25-only memories (no embedding model needed)."""
        if workers < 1 or chunk_size < 1:
            raise ValueError("workers and chunk_size must be positive")
        self._root = Path(root)
        self._workers = workers
        self._chunk_size = chunk_size
        self._tokenizer = tokenizer or Tokenizer()
        self._embedder: TextEmbedder | None = None
        if vectors:
            self._embedder = embedder or E5Embedder()
        self._pool: ThreadPoolExecutor | None = None

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        return await self._build(job, examples, base=base, report=report, resuming=False)

    async def resume(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
    ) -> TrainingOutcome:
        """Build again from the snapshot; a memory this job already published is reused."""
        return await self._build(job, examples, base=base, report=report, resuming=True)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    # ------------------------------------------------------------------ internals

    def _executor(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="local-training"
            )
        return self._pool

    def _chunk_for(self, total: int) -> int:
        return max(self._chunk_size, math.ceil(total / _MAX_CHUNKS))

    async def _embed(
        self, builder: MemoryBuilder, steps: Steps, report: ProgressReporter, total: int
    ) -> None:
        """Embed in small steps; report about every 5 % (at most ~20 reports)."""
        every = max(1, math.ceil(total / _MAX_CHUNKS))
        reported = 0
        done = 0
        while done < total:
            done = await steps(partial(builder.embed, EMBED_CHUNK))
            if done - reported >= every or done == total:
                reported = done
                fraction = _TOKENISED + (_EMBEDDED - _TOKENISED) * done / total
                await report(round(fraction, 4), f"Embedded {done} of {total} examples")

    async def _build(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: ProgressReporter,
        resuming: bool,
    ) -> TrainingOutcome:
        total = len(examples)
        log = logger.bind(job_id=job.id, backend=self.name, examples=total)
        if total == 0:
            raise TrainingFailed(
                "The training snapshot has no examples: add examples to the dataset "
                "(or select another one), then start training again."
            )
        root = self._root
        steps = Steps(self._executor())
        started = time.perf_counter()
        tmp = temp_dir_for(root, job.id)
        publishing = False
        created: str | None = None  # a memory this call published
        log.info("local_training_started", resuming=resuming)
        try:
            if resuming:
                stale = await steps(partial(remove_stale_temp_dirs, root, job.id))
                if stale:
                    log.info("local_training_stale_build_removed", count=stale)
            await report(0.0, f"Tokenising {total} examples")
            await steps(partial(make_temp_dir, tmp))
            builder = MemoryBuilder(tokenizer=self._tokenizer, embedder=self._embedder)
            tokenised = _TOKENISED if builder.embeds else _TOKENISED_ONLY
            chunk = self._chunk_for(total)
            for start in range(0, total, chunk):
                await steps(partial(builder.add, examples[start : start + chunk]))
                done = min(total, start + chunk)
                await report(
                    round(tokenised * done / total, 4), f"Tokenised {done} of {total} examples"
                )
            if builder.embeds:
                await self._embed(builder, steps, report, total)
            await steps(builder.build_index)
            await report(_INDEXED, f"Indexed {total} examples ({builder.term_count} terms)")
            await steps(partial(builder.save, tmp))
            await report(_SAVED, "Saved the index")
            publishing = True
            name, reused = await steps(partial(self._publish, tmp, builder.manifest(job_id=job.id)))
            if not reused:
                created = name
            await report(1.0, f"Example memory {name} is ready ({total} examples)")
        except BaseException as exc:
            interrupted = await steps.settle()
            if publishing and created is None:
                last = steps.last_result()
                if last is not None and not last[1]:
                    created = last[0]  # published just as we were cancelled
            self._discard(tmp, created)
            if isinstance(exc, asyncio.CancelledError):
                log.info("local_training_cancelled")
                raise
            if interrupted:
                raise asyncio.CancelledError() from exc
            if isinstance(exc, DomainError):
                log.warning("local_training_failed", reason=exc.user_message)
                raise
            if isinstance(exc, Exception):
                log.exception("local_training_crashed")
                raise TrainingFailed(
                    "Building the example memory failed (see the server log); "
                    "nothing was changed. Try again, or check free disk space."
                ) from exc
            raise
        seconds = time.perf_counter() - started
        log.info(
            "local_training_finished",
            memory=name,
            reused=reused,
            terms=builder.term_count,
            seconds=round(seconds, 3),
        )
        searched_by = "BM25 (bm25s)"
        if self._embedder is not None:
            searched_by += f" + {self._embedder.description}"
        notes = (
            f"example memory {name}: {total} examples, {builder.term_count} terms, "
            f"{searched_by}, built in {seconds:.1f} s"
        )
        if reused:
            notes += " (already built by this job; reused)"
        return TrainingOutcome(llm_model=base.llm_model, memory=name, notes=notes)

    def _publish(self, tmp: Path, manifest: Manifest) -> tuple[str, bool]:
        """Publish ``tmp``, unless this job already published the same examples."""
        existing = find_memory(
            self._root, job_id=manifest.job_id, examples_sha256=manifest.examples_sha256
        )
        if existing is not None:
            shutil.rmtree(tmp, ignore_errors=True)
            return existing, True
        return publish(self._root, tmp, manifest), False

    def _discard(self, tmp: Path, created: str | None) -> None:
        """Remove what a failed or cancelled build left (a few files; quick)."""
        shutil.rmtree(tmp, ignore_errors=True)
        if created is not None:
            unpublish(self._root, created)

"""The blocking half of training: examples → terms and vectors → an index on disk.

Every method here is CPU or disk work meant to run in a worker thread, one call
at a time per builder; :mod:`backend` drives it from the event loop in steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import bm25s
import numpy as np

from adapters.example_memory.embedding import TextEmbedder
from adapters.example_memory.layout import (
    EXAMPLES,
    INDEX_DIR,
    PASSAGE_VECTORS,
    PROMPT_VECTORS,
    VECTORS_DIR,
    Manifest,
    encode_example,
    index_text,
    passage_text,
)
from adapters.example_memory.tokenizer import Tokenizer
from domain.errors import TrainingFailed
from domain.models import Example

BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}


class MemoryBuilder:
    """Collects examples (:meth:`add`), embeds them (:meth:`embed`, in slices),
    indexes (:meth:`build_index`) and writes (:meth:`save`). Without an
    ``embedder`` the memory has no vectors and is searched by BM25 alone."""

    def __init__(self, *, tokenizer: Tokenizer, embedder: TextEmbedder | None = None) -> None:
        self._tokenizer = tokenizer
        self._embedder = embedder
        self._prompts: list[str] = []
        self._passages: list[str] = []
        self._prompt_vectors: list[np.ndarray] = []
        self._passage_vectors: list[np.ndarray] = []
        self._embedded = 0
        self._lines: list[bytes] = []
        self._sha = hashlib.sha256()
        self._vocab: dict[str, int] = {}
        self._docs: list[list[int]] = []
        self._index: bm25s.BM25 | None = None
        self._vectors_sha256: str | None = None

    @property
    def example_count(self) -> int:
        return len(self._docs)

    @property
    def term_count(self) -> int:
        return len(self._vocab)

    @property
    def examples_sha256(self) -> str:
        return self._sha.hexdigest()

    def add(self, examples: Sequence[Example]) -> None:
        """Serialise and tokenise one chunk of examples."""
        vocab = self._vocab
        tokenize = self._tokenizer.tokenize
        for example in examples:
            line = encode_example(example)
            self._lines.append(line)
            self._sha.update(line)
            prompt = index_text(example)
            self._docs.append([vocab.setdefault(t, len(vocab)) for t in tokenize(prompt)])
            if self._embedder is not None:
                self._prompts.append(prompt)
                self._passages.append(passage_text(example))

    @property
    def embeds(self) -> bool:
        return self._embedder is not None

    @property
    def embedded_count(self) -> int:
        return self._embedded

    def embed(self, count: int) -> int:
        """Embed the next ``count`` added examples; returns how many are embedded now."""
        if self._embedder is None:
            raise RuntimeError("this builder has no embedder")
        start, stop = self._embedded, min(self._embedded + count, len(self._prompts))
        if stop > start:
            prompts = self._embedder.queries(self._prompts[start:stop])
            passages = self._embedder.passages(self._passages[start:stop])
            self._prompt_vectors.append(prompts.astype(np.float16))
            self._passage_vectors.append(passages.astype(np.float16))
            self._embedded = stop
        return self._embedded

    def build_index(self) -> None:
        if not self._vocab:
            raise TrainingFailed(
                "None of the examples has a searchable word in its prompt, "
                "so there is nothing to build a memory from."
            )
        index = bm25s.BM25(**BM25_PARAMS)
        index.index((self._docs, self._vocab), create_empty_token=False, show_progress=False)
        self._index = index

    def save(self, directory: Path) -> None:
        if self._index is None:
            raise RuntimeError("build_index() first")
        self._index.save(directory / INDEX_DIR, show_progress=False)
        with open(directory / EXAMPLES, "wb") as f:
            f.writelines(self._lines)
        if self._embedder is not None:
            if self._embedded != len(self._lines):
                raise RuntimeError("embed() every example first")
            (directory / VECTORS_DIR).mkdir()
            digest = hashlib.sha256()
            for name, parts in (
                (PROMPT_VECTORS, self._prompt_vectors),
                (PASSAGE_VECTORS, self._passage_vectors),
            ):
                path = directory / VECTORS_DIR / name
                np.save(path, np.concatenate(parts), allow_pickle=False)
                digest.update(path.read_bytes())
            self._vectors_sha256 = digest.hexdigest()

    def manifest(self, *, job_id: str) -> Manifest:
        """The manifest (its ``memory`` is filled in when the name is allocated)."""
        params = ", ".join(f"{k}={v}" for k, v in BM25_PARAMS.items())
        return Manifest(
            memory="",
            job_id=job_id,
            example_count=self.example_count,
            term_count=self.term_count,
            created_at=datetime.now(UTC).isoformat(),
            tokenizer=self._tokenizer.description,
            examples_sha256=self.examples_sha256,
            index=f"bm25s {bm25s.__version__} ({params})",
            embedding=None if self._embedder is None else self._embedder.description,
            vectors_sha256=self._vectors_sha256,
        )

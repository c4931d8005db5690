"""The blocking half of training: examples → terms → a bm25s index on disk.

Every method here is CPU or disk work meant to run in a worker thread, one call
at a time per builder; :mod:`backend` drives it from the event loop in steps.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import bm25s

from adapters.example_memory.layout import (
    EXAMPLES,
    INDEX_DIR,
    Manifest,
    encode_example,
    index_text,
)
from adapters.example_memory.tokenizer import Tokenizer
from domain.errors import TrainingFailed
from domain.models import Example

BM25_PARAMS = {"method": "lucene", "k1": 1.5, "b": 0.75}


class MemoryBuilder:
    def __init__(self, *, tokenizer: Tokenizer) -> None:
        self._tokenizer = tokenizer
        self._lines: list[bytes] = []
        self._sha = hashlib.sha256()
        self._vocab: dict[str, int] = {}
        self._docs: list[list[int]] = []
        self._index: bm25s.BM25 | None = None

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
            self._docs.append(
                [vocab.setdefault(t, len(vocab)) for t in tokenize(index_text(example))]
            )

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
        )

"""The blocking half of retrieval: open a memory, check it, score a query.

A damaged memory (missing files, a checksum that does not match, an index of
another size) is refused as a whole with a :class:`NotFound` that says so; the
raw library error stays in the chained exception and the log, never in the
user-facing message.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import bm25s
import numpy as np
import structlog

from adapters.example_memory.layout import (
    EXAMPLES,
    INDEX_DIR,
    MANIFEST,
    PASSAGE_VECTORS,
    PROMPT_VECTORS,
    VECTORS_DIR,
    Manifest,
    decode_example,
    read_manifest,
    sha256_hex,
)
from adapters.example_memory.vectors import EXACT_ROWS, VectorIndex
from domain.errors import NotFound
from domain.models import Example

logger = structlog.get_logger()

_THRESHOLDS = (0.5, 0.125, 0.0)  # fractions of the best score, see LoadedMemory.top
_SORT_ALL = 4_096  # up to this many candidates are sorted whole (ties break by order)


def missing(name: str) -> NotFound:
    return NotFound(
        f"The example memory {name} does not exist. Train again, or switch to another "
        "model version.",
        memory=name,
    )


def damaged(name: str) -> NotFound:
    return NotFound(
        f"The example memory {name} is damaged and cannot be used. Train again, or roll "
        "back to another model version.",
        memory=name,
    )


@dataclass(frozen=True, slots=True)
class LoadedMemory:
    name: str
    manifest: Manifest
    index: bm25s.BM25
    vocab: dict[str, int]
    postings: np.ndarray  # how many documents hold each term id
    lines: list[bytes]  # examples.jsonl, one encoded example per document
    prompts: VectorIndex | None = None  # None: searched by BM25 alone
    passages: VectorIndex | None = None
    without_vectors: str | None = None  # why there are none, for the log

    @property
    def has_vectors(self) -> bool:
        return self.prompts is not None and self.passages is not None

    @property
    def size(self) -> int:
        return len(self.lines)

    def term_ids(self, terms: list[str]) -> list[int]:
        vocab = self.vocab
        return [vocab[t] for t in terms if t in vocab]

    def cost(self, term_ids: list[int]) -> int:
        """Rough work of one search, in array elements touched."""
        return self.size + int(self.postings[term_ids].sum())

    def top(self, term_ids: list[int], k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (document, score) pairs with a positive BM25 score, best first."""
        scores = self.index.get_scores_from_ids(term_ids)
        if k <= 0 or scores.shape[0] == 0:
            return []
        best = float(scores.max())
        if best <= 0.0:
            return []
        # Narrow to the documents above a fraction of the best score first: a full
        # argpartition over mostly-zero (tied) scores is slow, a few vector
        # comparisons are not. The last round keeps every positive score.
        for fraction in _THRESHOLDS:
            candidates = np.flatnonzero(scores >= best * fraction if fraction else scores > 0.0)
            if candidates.shape[0] >= k:
                break
        picked = scores[candidates]
        if candidates.shape[0] > max(_SORT_ALL, k):
            keep = np.argpartition(picked, -k)[-k:]
            candidates, picked = candidates[keep], picked[keep]
        # best score first; equal scores keep index order (earlier example first)
        order = np.lexsort((candidates, -picked))[:k]
        return [(int(candidates[i]), float(picked[i])) for i in order]

    def example(self, doc: int) -> Example:
        try:
            return decode_example(self.lines[doc])
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            logger.error(
                "example_memory_damaged", memory=self.name, doc=doc, error=type(exc).__name__
            )
            raise damaged(self.name) from exc


def load_memory(
    root: Path, name: str, *, tokenizer: str, embedding: str | None = None
) -> LoadedMemory:
    """Open ``root/name`` (a validated name) and check it against its manifest.

    Its vectors are opened when it has some made by ``embedding`` (the current
    model's description); otherwise it is searched by BM25 alone and
    ``without_vectors`` says why.
    """
    directory = root / name
    if not (directory / MANIFEST).is_file():
        raise missing(name)
    if directory.resolve().parent != root.resolve():
        raise missing(name)  # a link pointing out of the memory root
    try:
        manifest = read_manifest(directory)
        data = (directory / EXAMPLES).read_bytes()
        if manifest.memory != name or sha256_hex(data) != manifest.examples_sha256:
            raise ValueError("examples do not match the manifest")
        lines = data.splitlines(keepends=False)
        index = bm25s.BM25.load(directory / INDEX_DIR, mmap=False, show_progress=False)
        indptr = np.asarray(index.scores["indptr"])
        if len(lines) != manifest.example_count or index.scores["num_docs"] != len(lines):
            raise ValueError("index and examples differ in size")
        if len(indptr) != len(index.vocab_dict) + 1:
            raise ValueError("vocabulary and index differ in size")
        prompts, passages, without = _open_vectors(directory, manifest, embedding)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        logger.error("example_memory_damaged", memory=name, error=type(exc).__name__)
        raise damaged(name) from exc
    if manifest.tokenizer != tokenizer:
        logger.warning(
            "example_memory_tokenizer_differs", memory=name, built_with=manifest.tokenizer
        )
    return LoadedMemory(
        name=name,
        manifest=manifest,
        index=index,
        vocab=dict(index.vocab_dict),
        postings=np.diff(indptr),
        lines=lines,
        prompts=prompts,
        passages=passages,
        without_vectors=without,
    )


def _open_vectors(
    directory: Path, manifest: Manifest, embedding: str | None
) -> tuple[VectorIndex | None, VectorIndex | None, str | None]:
    if manifest.embedding is None:
        return None, None, f"built without vectors (format {manifest.format_version})"
    if embedding is None:
        return None, None, "the retriever has no embedding model"
    if manifest.embedding != embedding:
        return None, None, f"vectors made by another model: {manifest.embedding}"
    digest = hashlib.sha256()
    opened = []
    for file in (PROMPT_VECTORS, PASSAGE_VECTORS):
        path = directory / VECTORS_DIR / file
        digest.update(path.read_bytes())
        # a big memory's float16 rows stay memory-mapped: a search reads a few of them
        big = manifest.example_count > EXACT_ROWS
        vectors = np.load(path, mmap_mode="r" if big else None, allow_pickle=False)
        if vectors.ndim != 2 or vectors.shape[0] != manifest.example_count:
            raise ValueError("vectors and examples differ in size")
        opened.append(VectorIndex(vectors))
    if digest.hexdigest() != manifest.vectors_sha256:
        raise ValueError("vectors do not match the manifest")
    return opened[0], opened[1], None

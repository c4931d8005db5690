"""Fixtures: a memory root, a backend and a retriever over it, a ``train`` helper."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.example_memory import HybridExampleMemory, LocalTrainingBackend
from tests.adapters.example_memory.faq import BASE, FAQ, Progress, make_job


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "memories"


@pytest.fixture
async def backend(root: Path):
    b = LocalTrainingBackend(root=root, workers=2, chunk_size=3)
    yield b
    await b.aclose()


@pytest.fixture
async def memory(root: Path):
    m = HybridExampleMemory(root=root)
    yield m
    await m.aclose()


@pytest.fixture
async def words_only(root: Path):
    """A retriever that searches by BM25 alone, as it does a memory without vectors."""
    m = HybridExampleMemory(root=root, vectors=False)
    yield m
    await m.aclose()


@pytest.fixture
def train(backend: LocalTrainingBackend) -> Callable[..., object]:
    async def run(examples=FAQ, job_id: str = "job-1", report: Progress | None = None) -> str:
        outcome = await backend.train(
            make_job(job_id, examples=len(examples)),
            examples,
            base=BASE,
            report=report or Progress(),
        )
        assert outcome.memory is not None
        return outcome.memory

    return run

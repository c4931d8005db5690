"""A working example memory: word-overlap retrieval over examples kept in a dict."""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.errors import NotFound
from domain.models import Example, RetrievedExample

_WORD = re.compile(r"\w+")


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)}


class FakeExampleMemory:
    def __init__(self) -> None:
        self.memories: dict[str, list[Example]] = {}

    def put(self, memory: str, examples: Sequence[Example]) -> None:
        self.memories[memory] = list(examples)

    async def search(self, memory: str, query: str, *, k: int) -> list[RetrievedExample]:
        if memory not in self.memories:
            raise NotFound(f"The example memory {memory!r} does not exist.")
        q = _words(query)
        if not q:
            return []
        scored = []
        for example in self.memories[memory]:
            overlap = len(q & _words(example.prompt))
            if overlap:
                scored.append(RetrievedExample(example=example, score=float(overlap)))
        scored.sort(key=lambda r: r.score, reverse=True)
        return scored[:k]

"""A working example memory: word-overlap retrieval over examples kept in a dict.

Words that say nothing about the subject (articles, pronouns, auxiliaries,
question words, in English and Russian) do not count, so a question that shares
only those with an example finds nothing, as with the real memory.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from domain.errors import NotFound
from domain.models import Example, RetrievedExample

_WORD = re.compile(r"\w+")
_FUNCTION_WORDS_TEXT = """
    a an the and or of to in on at by for from with is are was be do does did have has
    i me my we our you your it its they their this that there what which who when where
    why how can could will would should may
    и а но или в во на с к у о от до по за из для я ты он она мы вы они мой наш ваш
    это что как где когда кто почему можно
"""
_FUNCTION_WORDS = frozenset(_FUNCTION_WORDS_TEXT.split())


def _words(text: str) -> set[str]:
    return {w.casefold() for w in _WORD.findall(text)} - _FUNCTION_WORDS


class FakeExampleMemory:
    def __init__(self) -> None:
        self.memories: dict[str, list[Example]] = {}
        self.closed = False

    def put(self, memory: str, examples: Sequence[Example]) -> None:
        self.memories[memory] = list(examples)

    async def search(self, memory: str, query: str, *, k: int) -> list[RetrievedExample]:
        if self.closed:
            raise RuntimeError("the example memory is closed")
        if k <= 0:
            return []
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

    async def aclose(self) -> None:
        self.closed = True

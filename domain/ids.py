"""Finding a stored thing by its id, or by the start of its id (as the bot shows it)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from domain.errors import InvalidInput, NotFound

T = TypeVar("T")

MIN_ID_PREFIX = 4
"""The shortest start of an id that is looked up as that id (``d48754ef``)."""


async def by_id_or_prefix(
    key: str,
    *,
    get: Callable[[str], Awaitable[T | None]],
    ids_starting: Callable[[str], Awaitable[list[str]]],
    what: str,
) -> T:
    """``get(key)``, else the one thing whose id starts with ``key``.

    ``ids_starting(prefix)`` returns at most two ids; two mean the start is ambiguous
    (``InvalidInput``), none that nothing matches (``NotFound``).
    """
    found = await get(key)
    if found is None and len(key) >= MIN_ID_PREFIX:
        matches = await ids_starting(key.casefold())
        if len(matches) > 1:
            raise InvalidInput(f"Several {what}s start with {key[:40]!r}: give more of the id.")
        found = await get(matches[0]) if matches else None
    if found is None:
        raise NotFound(f"There is no {what} {key[:40]!r}.")
    return found

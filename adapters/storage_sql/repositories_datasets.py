"""Datasets and their examples, kept in insertion order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, select, update

from adapters.storage_sql import mapping as m
from adapters.storage_sql.session import HEAVY_ROWS, Session
from adapters.storage_sql.statements import by_name, is_hex, upsert
from adapters.storage_sql.tables import datasets, examples
from domain.errors import NotFound
from domain.models import Dataset, Example, Removal

_d = datasets.c
_e = examples.c
_GET = select(datasets).where(_d.name == bindparam("name"))
_EXISTING = select(_d.name).where(_d.name.in_(bindparam("names", expanding=True)))
# Reserve positions: the counter is the dataset's size, so positions stay dense and
# concurrent writers to one dataset queue on its row (PostgreSQL) or the write lock.
_GROW = (
    update(datasets)
    .where(_d.name == bindparam("ds"))
    .values(example_count=_d.example_count + bindparam("n"))
    .returning(_d.example_count)
)
_ADD_EXAMPLES = examples.insert()
_EXAMPLE_ROW = select(examples)
_ALL_EXAMPLES = (
    _EXAMPLE_ROW.where(_e.dataset == bindparam("name"))
    .order_by(_e.position)
    .offset(bindparam("offset"))
)
_EXAMPLES = _ALL_EXAMPLES.where(_e.removed.is_(None))
_PAGES = {
    (False, False): _EXAMPLES,
    (False, True): _EXAMPLES.limit(bindparam("limit")),
    (True, False): _ALL_EXAMPLES,
    (True, True): _ALL_EXAMPLES.limit(bindparam("limit")),
}
_EXAMPLE = _EXAMPLE_ROW.where(_e.id == bindparam("id"))
_EXAMPLES_PREFIXED = (
    select(_e.id)
    .where(_e.id.startswith(bindparam("prefix")))
    .order_by(_e.id)
    .limit(bindparam("limit"))
)
_REMOVE = (
    update(examples)
    .where(_e.id == bindparam("example_id"), _e.removed.is_(None))
    .values(removed=bindparam("removed"))
    .returning(_e.dataset)
)
_COUNT_REMOVED = (
    update(datasets).where(_d.name == bindparam("ds")).values(removed_count=_d.removed_count + 1)
)


def _missing(names: Sequence[str]) -> NotFound:
    return NotFound("That dataset does not exist.", dataset=names[0] if names else "")


def _positions_from(start: int) -> Callable[[int], dict[str, int]]:
    return lambda i: {"position": start + i}


class SqlDatasets:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, dataset: Dataset) -> None:
        """Create, or replace the description and time of, a dataset; examples stay."""
        stmt = upsert(datasets, self._s.dialect, "name", ("example_count", "removed_count"))
        await self._s.write(stmt, m.dataset_params(dataset))

    async def get(self, name: str) -> Dataset | None:
        row = (await self._s.read(_GET, {"name": name})).first()
        return None if row is None else m.dataset_of(row)

    async def all(self) -> list[Dataset]:
        stmt = select(datasets).order_by(by_name(_d.name, self._s.dialect))
        return await self._s.read_mapped(stmt, {}, m.dataset_of, heavy=False)

    async def add_examples(self, examples: Sequence[Example]) -> None:
        """Append examples to their datasets, all or none (``NotFound`` if one is missing)."""
        if not examples:
            return
        groups: dict[str, list[Example]] = {}
        for e in examples:
            groups.setdefault(e.dataset, []).append(e)
        if len(groups) > 1:
            found = set((await self._s.read(_EXISTING, {"names": list(groups)})).scalars())
            missing = [name for name in groups if name not in found]
            if missing:
                raise _missing(missing)
        for name, rows in groups.items():
            size = (await self._s.write(_GROW, {"ds": name, "n": len(rows)})).scalar()
            if size is None:
                raise _missing([name])
            await self._s.write_many(
                _ADD_EXAMPLES, rows, m.example_params, extra=_positions_from(int(size) - len(rows))
            )

    async def examples(
        self,
        name: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        include_removed: bool = False,
    ) -> list[Example]:
        """A page of a dataset's examples in insertion order (removed ones when asked)."""
        params: dict[str, object] = {"name": name, "offset": max(offset, 0)}
        if limit is not None:
            if limit <= 0:
                return []
            params["limit"] = limit
        stmt = _PAGES[include_removed, limit is not None]
        heavy = limit is None or limit > HEAVY_ROWS
        return await self._s.read_mapped(stmt, params, m.example_of, heavy=heavy)

    async def example(self, example_id: str) -> Example | None:
        row = (await self._s.read(_EXAMPLE, {"id": example_id})).first()
        return None if row is None else m.example_of(row)

    async def example_ids_with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if limit <= 0 or not is_hex(prefix):
            return []  # nothing LIKE would read as a pattern
        result = await self._s.read(_EXAMPLES_PREFIXED, {"prefix": prefix, "limit": limit})
        return [str(example_id) for example_id in result.scalars()]

    async def remove_example(self, example_id: str, removal: Removal) -> None:
        """Mark removed (a second removal changes nothing); ``NotFound`` if there is none."""
        result = await self._s.write(
            _REMOVE, {"example_id": example_id, "removed": m.removal_json(removal)}
        )
        dataset = result.scalar()
        if dataset is None:
            if await self.example(example_id) is None:
                raise NotFound("That example does not exist.", example_id=example_id[:64])
            return
        await self._s.write(_COUNT_REMOVED, {"ds": dataset})

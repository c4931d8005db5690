"""Datasets and their examples, kept in insertion order."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import bindparam, select, update

from adapters.storage_sql import mapping as m
from adapters.storage_sql.session import HEAVY_ROWS, Session
from adapters.storage_sql.statements import by_name, upsert
from adapters.storage_sql.tables import datasets, examples
from domain.errors import NotFound
from domain.models import Dataset, Example

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
_EXAMPLES = (
    select(*[examples.c[name] for name in m.EXAMPLE_COLUMNS])
    .where(_e.dataset == bindparam("name"))
    .order_by(_e.position)
    .offset(bindparam("offset"))
)
_EXAMPLES_PAGE = _EXAMPLES.limit(bindparam("limit"))


def _missing(names: Sequence[str]) -> NotFound:
    return NotFound("That dataset does not exist.", dataset=names[0] if names else "")


def _positions_from(start: int) -> Callable[[int], dict[str, int]]:
    return lambda i: {"position": start + i}


class SqlDatasets:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, dataset: Dataset) -> None:
        """Create, or replace the description and time of, a dataset; examples stay."""
        stmt = upsert(datasets, self._s.dialect, "name", ("example_count",))
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
        self, name: str, *, offset: int = 0, limit: int | None = None
    ) -> list[Example]:
        """A page of a dataset's examples in insertion order."""
        offset = max(offset, 0)
        if limit is None:
            return await self._s.read_mapped(
                _EXAMPLES, {"name": name, "offset": offset}, m.example_of, heavy=True
            )
        if limit <= 0:
            return []
        return await self._s.read_mapped(
            _EXAMPLES_PAGE,
            {"name": name, "offset": offset, "limit": limit},
            m.example_of,
            heavy=limit > HEAVY_ROWS,
        )

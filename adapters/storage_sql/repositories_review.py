"""The review queue: proposals waiting for, or decided by, a trainer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, func, select, update

from adapters.storage_sql import mapping as m
from adapters.storage_sql.session import Session
from adapters.storage_sql.statements import is_hex
from adapters.storage_sql.tables import proposals
from domain.errors import NotFound
from domain.models import Proposal, ProposalStatus

_c = proposals.c
_ALL = select(proposals)
_GET = _ALL.where(_c.id == bindparam("id"))
_PREFIXED = (
    select(_c.id)
    .where(_c.id.startswith(bindparam("prefix")))
    .order_by(_c.id)
    .limit(bindparam("limit"))
)
_PENDING = _ALL.where(_c.status == ProposalStatus.PENDING.value)
_BY_PROPOSER = (
    _ALL.where(_c.proposer_id == bindparam("pid"))
    .order_by(_c.created_at.desc(), _c.seq.desc())
    .limit(bindparam("limit"))
)
_COUNT_SINCE = select(func.count()).where(
    _c.proposer_id == bindparam("pid"), _c.created_at >= bindparam("since")
)
_FOR_PREDICTION = _ALL.where(_c.prediction_id == bindparam("pred")).order_by(_c.created_at, _c.seq)
_UPDATE = (
    update(proposals)
    .where(_c.id == bindparam("proposal_id"))
    .values({name: bindparam(name) for name in m.PROPOSAL_MUTABLE})
)


class SqlProposals:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, proposal: Proposal) -> None:
        await self._s.write(proposals.insert(), m.proposal_params(proposal))

    async def get(self, proposal_id: str) -> Proposal | None:
        row = (await self._s.read(_GET, {"id": proposal_id})).first()
        return None if row is None else m.proposal_of(row)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if limit <= 0 or not is_hex(prefix):  # nothing LIKE would read as a pattern
            return []
        result = await self._s.read(_PREFIXED, {"prefix": prefix, "limit": limit})
        return [str(pid) for pid in result.scalars()]

    async def update(self, proposal: Proposal) -> None:
        params = {name: m.proposal_params(proposal)[name] for name in m.PROPOSAL_MUTABLE}
        params["proposal_id"] = proposal.id
        result = await self._s.write(_UPDATE, params)
        if result.rowcount == 0:
            raise NotFound("That proposal does not exist.", proposal_id=proposal.id)

    async def pending(
        self, *, guild_id: str | None = None, offset: int = 0, limit: int = 20
    ) -> list[Proposal]:
        if limit <= 0:
            return []
        stmt = _PENDING if guild_id is None else _PENDING.where(_c.guild_id == guild_id)
        stmt = stmt.order_by(_c.created_at, _c.seq).offset(max(offset, 0)).limit(limit)
        return [m.proposal_of(row) for row in (await self._s.read(stmt)).all()]

    async def count_pending(self, *, guild_id: str | None = None) -> int:
        stmt = select(func.count()).where(_c.status == ProposalStatus.PENDING.value)
        if guild_id is not None:
            stmt = stmt.where(_c.guild_id == guild_id)
        return int((await self._s.read(stmt)).scalar() or 0)

    async def by_proposer(self, proposer_id: str, *, limit: int = 20) -> list[Proposal]:
        if limit <= 0:
            return []
        rows = (await self._s.read(_BY_PROPOSER, {"pid": proposer_id, "limit": limit})).all()
        return [m.proposal_of(row) for row in rows]

    async def count_since(self, proposer_id: str, since: datetime) -> int:
        result = await self._s.read(_COUNT_SINCE, {"pid": proposer_id, "since": since})
        return int(result.scalar() or 0)

    async def for_prediction(self, prediction_id: str) -> list[Proposal]:
        rows = (await self._s.read(_FOR_PREDICTION, {"pred": prediction_id})).all()
        return [m.proposal_of(row) for row in rows]

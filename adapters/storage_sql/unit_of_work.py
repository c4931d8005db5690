"""One transaction over every repository: ``domain.ports.UnitOfWork``."""

from __future__ import annotations

from types import TracebackType
from typing import Protocol, Self

import structlog

from adapters.storage_sql.repositories import SqlFeedback, SqlPredictions, SqlState
from adapters.storage_sql.repositories_datasets import SqlDatasets
from adapters.storage_sql.repositories_review import SqlProposals
from adapters.storage_sql.repositories_training import SqlEvals, SqlJobs, SqlModelVersions
from adapters.storage_sql.session import Session
from domain.ports import (
    DatasetRepository,
    EvalRepository,
    FeedbackRepository,
    JobRepository,
    ModelVersionRepository,
    PredictionRepository,
    ProposalRepository,
    StateRepository,
)

log = structlog.get_logger()


class _OpenableSession(Session, Protocol):
    async def open(self) -> None: ...


class SqlUnitOfWork:
    """``async with uow: ...; await uow.commit()``; leaving without commit rolls back.

    A unit of work may be entered again after it was left; after ``commit()`` the
    same block can go on working in a new transaction.
    """

    def __init__(self, session: _OpenableSession) -> None:
        self._session = session
        # Typed as the ports: the protocol's attributes are invariant, and this makes
        # the type checker hold each repository to its protocol.
        self.predictions: PredictionRepository = SqlPredictions(session)
        self.feedback: FeedbackRepository = SqlFeedback(session)
        self.datasets: DatasetRepository = SqlDatasets(session)
        self.state: StateRepository = SqlState(session)
        self.jobs: JobRepository = SqlJobs(session)
        self.models: ModelVersionRepository = SqlModelVersions(session)
        self.evals: EvalRepository = SqlEvals(session)
        self.proposals: ProposalRepository = SqlProposals(session)

    async def __aenter__(self) -> Self:
        await self._session.open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._session.rollback()
        except Exception as error:  # a broken connection: the server rolls back itself
            log.warning("storage_rollback_failed", error=type(error).__name__)
        finally:
            await self._session.close()

    async def commit(self) -> None:
        await self._session.commit()

    async def rollback(self) -> None:
        await self._session.rollback()

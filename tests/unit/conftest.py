"""Generic fixtures for the unit tests: working fakes, a deterministic clock, actors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.models import Actor
from tests.fakes import FakeChatModel, FakeDatabase, FakeExampleMemory, FakeUnitOfWork

START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


class FixedClock:
    """A deterministic clock: starts at ``START`` and moves one second per reading,
    so that stored things keep the order in which they were made."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def db() -> FakeDatabase:
    return FakeDatabase()


@pytest.fixture
def uow(db: FakeDatabase) -> Callable[[], FakeUnitOfWork]:
    """A unit-of-work factory over ``db`` (what services take as ``uow=``)."""
    return db.unit_of_work


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def llm() -> FakeChatModel:
    return FakeChatModel()


@pytest.fixture
def example_memory() -> FakeExampleMemory:
    return FakeExampleMemory()


@pytest.fixture
def member() -> Actor:
    return Actor(id="member-1", name="Member")


@pytest.fixture
def trainer() -> Actor:
    return Actor(id="trainer-1", name="Trainer", is_trainer=True)

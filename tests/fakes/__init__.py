"""Working in-memory fakes for every port we own (see STYLE.md, tests)."""

from tests.fakes.storage import FakeDatabase, FakeUnitOfWork

__all__ = ["FakeDatabase", "FakeUnitOfWork"]

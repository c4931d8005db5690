"""Working in-memory fakes for every port we own (see STYLE.md, tests)."""

from tests.fakes.artifacts import FakeArtifactStore
from tests.fakes.llm import FakeChatModel, echo_reply
from tests.fakes.memory import FakeExampleMemory
from tests.fakes.storage import FakeDatabase, FakeUnitOfWork
from tests.fakes.training import FakeProcessProbe, FakeTrainingBackend, inline_offload

__all__ = [
    "FakeArtifactStore",
    "FakeChatModel",
    "FakeDatabase",
    "FakeExampleMemory",
    "FakeProcessProbe",
    "FakeTrainingBackend",
    "FakeUnitOfWork",
    "echo_reply",
    "inline_offload",
]

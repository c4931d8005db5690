"""A working artifact store in memory, with the same name rules as the real one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from domain.artifacts import validate_artifact_name
from domain.errors import NotFound
from domain.models import Artifact, utcnow


class FakeArtifactStore:
    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self.files: dict[str, tuple[bytes, datetime]] = {}
        self._clock = clock

    async def write(self, name: str, data: bytes) -> Artifact:
        validate_artifact_name(name)
        at = self._clock()
        self.files[name] = (bytes(data), at)
        return Artifact(name=name, size=len(data), created_at=at)

    async def read(self, name: str) -> bytes:
        validate_artifact_name(name)
        if name not in self.files:
            raise NotFound(f"There is no file named {name!r}.")
        return self.files[name][0]

    async def all(self) -> list[Artifact]:
        return [
            Artifact(name=n, size=len(d), created_at=t) for n, (d, t) in sorted(self.files.items())
        ]

    async def exists(self, name: str) -> bool:
        validate_artifact_name(name)
        return name in self.files

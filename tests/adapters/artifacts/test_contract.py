"""One contract for every ArtifactStore: the in-memory fake and the file system alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.artifacts_fs import FileSystemArtifactStore
from domain.errors import InvalidInput, NotFound
from domain.ports import ArtifactStore
from tests.fakes import FakeArtifactStore


@pytest.fixture(params=["fake", "filesystem"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    if request.param == "fake":
        yield FakeArtifactStore()
    else:
        yield FileSystemArtifactStore(tmp_path / "artifacts")


async def test_written_bytes_read_back(store: ArtifactStore) -> None:
    data = bytes(range(256)) * 10
    artifact = await store.write("report-1.md", data)

    assert (artifact.name, artifact.size) == ("report-1.md", len(data))
    assert await store.read("report-1.md") == data
    assert await store.exists("report-1.md")


async def test_writing_again_replaces_the_content(store: ArtifactStore) -> None:
    await store.write("a.jsonl", b"old content")
    await store.write("a.jsonl", b"new")
    assert await store.read("a.jsonl") == b"new"
    assert [a.size for a in await store.all()] == [3]


async def test_all_lists_every_artifact_by_name(store: ArtifactStore) -> None:
    assert await store.all() == []
    await store.write("b.zip", b"bb")
    await store.write("a.jsonl", b"a")
    listed = await store.all()
    assert [(a.name, a.size) for a in listed] == [("a.jsonl", 1), ("b.zip", 2)]


async def test_missing_artifact_is_not_found(store: ArtifactStore) -> None:
    assert not await store.exists("nothing.txt")
    with pytest.raises(NotFound):
        await store.read("nothing.txt")


async def test_empty_file_is_a_valid_artifact(store: ArtifactStore) -> None:
    await store.write("empty.txt", b"")
    assert await store.read("empty.txt") == b""


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/b", "..", ".hidden", "", "x\x00"])
async def test_invalid_names_are_refused_everywhere(store: ArtifactStore, name: str) -> None:
    with pytest.raises(InvalidInput):
        await store.write(name, b"x")
    with pytest.raises(InvalidInput):
        await store.read(name)
    with pytest.raises(InvalidInput):
        await store.exists(name)
    assert await store.all() == []

"""FileSystemArtifactStore under attack: no name, link or file type gets outside the root."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from adapters.artifacts_fs import FileSystemArtifactStore
from domain.errors import DomainError, InvalidInput, LimitExceeded, PermissionDenied
from tests.adapters.artifacts.conftest import SECRET, snapshot

HOSTILE_NAMES = [
    "../x",
    "../outside/secret.txt",
    "/etc/passwd",
    "..\\..\\x",
    "C:\\x",
    "C:x",
    "a/b",
    "a\\b",
    "x\x00y",
    "secret.txt\x00.jsonl",
    ".",
    "..",
    "...",
    "a..b",
    "a" * 129,
    "x\n",
    " x",
    "\uff0e\uff0e\uff0fx",  # fullwidth ../x
    "\u2024\u2024/x",  # one-dot leaders
    "x\u2215y",  # division slash
    "x\u2044y",  # fraction slash
    "\u0430.txt",  # Cyrillic a
    "file\u200b.txt",  # zero-width space
    "~/x",
    "%2e%2e%2fx",
    "",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
async def test_hostile_names_touch_nothing(
    sandbox: Path, fs_store: FileSystemArtifactStore, name: str
) -> None:
    before = snapshot(sandbox)

    for attempt in (fs_store.write(name, b"pwned"), fs_store.read(name), fs_store.exists(name)):
        with pytest.raises(InvalidInput):
            await attempt

    assert snapshot(sandbox) == before


async def test_the_longest_valid_name_works(fs_store: FileSystemArtifactStore) -> None:
    name = "a" * 128
    await fs_store.write(name, b"ok")
    assert await fs_store.read(name) == b"ok"


async def test_symlink_planted_inside_the_root_is_not_followed(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    secret = sandbox / "outside" / "secret.txt"
    (sandbox / "root" / "link.txt").symlink_to(secret)

    with pytest.raises(PermissionDenied, match=r"'link\.txt' is a link"):
        await fs_store.read("link.txt")
    assert not await fs_store.exists("link.txt")
    assert await fs_store.all() == []

    await fs_store.write("link.txt", b"replaced")  # replaces the link, not its target
    assert secret.read_bytes() == SECRET
    assert not (sandbox / "root" / "link.txt").is_symlink()
    assert await fs_store.read("link.txt") == b"replaced"


async def test_relative_symlink_to_a_parent_file_is_refused(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    (sandbox / "root" / "up").symlink_to(Path("..") / "outside" / "secret.txt")
    with pytest.raises(PermissionDenied, match="is a link"):
        await fs_store.read("up")


async def test_symlinked_subdirectory_of_the_root_leads_nowhere(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    (sandbox / "root" / "sub").symlink_to(sandbox / "outside", target_is_directory=True)
    before = snapshot(sandbox / "outside")

    with pytest.raises(InvalidInput):
        await fs_store.read("sub/secret.txt")
    with pytest.raises(InvalidInput):
        await fs_store.write("sub/new.txt", b"x")
    with pytest.raises(PermissionDenied, match="is a link"):
        await fs_store.read("sub")
    assert not await fs_store.exists("sub")
    assert await fs_store.all() == []
    assert snapshot(sandbox / "outside") == before


async def test_a_directory_in_the_root_is_not_an_artifact(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    (sandbox / "root" / "folder").mkdir()
    with pytest.raises(PermissionDenied, match="not a regular file"):
        await fs_store.read("folder")
    with pytest.raises(InvalidInput):
        await fs_store.write("folder", b"x")
    assert not await fs_store.exists("folder")
    assert await fs_store.all() == []
    assert [p.name for p in (sandbox / "root").iterdir()] == ["folder"]  # no temp file left


async def test_a_fifo_in_the_root_is_refused_without_blocking(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    os.mkfifo(sandbox / "root" / "pipe")
    with pytest.raises(PermissionDenied, match="not a regular file"):
        await asyncio.wait_for(fs_store.read("pipe"), timeout=30)
    assert await fs_store.all() == []


async def test_a_symlinked_root_is_resolved_and_stays_the_boundary(sandbox: Path) -> None:
    real = sandbox / "real-root"
    real.mkdir()
    (sandbox / "alias").symlink_to(real, target_is_directory=True)
    store = FileSystemArtifactStore(sandbox / "alias")

    await store.write("a.txt", b"data")

    assert (real / "a.txt").read_bytes() == b"data"
    assert await store.read("a.txt") == b"data"


async def test_the_root_is_created_on_first_write(tmp_path: Path) -> None:
    store = FileSystemArtifactStore(tmp_path / "data" / "artifacts")
    assert await store.all() == []
    await store.write("x.txt", b"1")
    assert (tmp_path / "data" / "artifacts" / "x.txt").read_bytes() == b"1"


async def test_size_limit_applies_to_writes_and_to_planted_files(sandbox: Path) -> None:
    store = FileSystemArtifactStore(sandbox / "root", max_bytes=4)
    with pytest.raises(LimitExceeded, match="up to 4 bytes"):
        await store.write("big.txt", b"12345")
    (sandbox / "root" / "planted.txt").write_bytes(b"123456789")
    with pytest.raises(LimitExceeded):
        await store.read("planted.txt")
    assert not (sandbox / "root" / "big.txt").exists()


async def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(
    sandbox: Path, fs_store: FileSystemArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fs_store.write("a.txt", b"old")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        await fs_store.write("a.txt", b"new")
    monkeypatch.undo()

    assert await fs_store.read("a.txt") == b"old"
    assert sorted(p.name for p in (sandbox / "root").iterdir()) == ["a.txt"]


async def test_errors_do_not_reveal_host_paths(
    sandbox: Path, fs_store: FileSystemArtifactStore
) -> None:
    (sandbox / "root" / "link").symlink_to(sandbox / "outside" / "secret.txt")
    for name in ("link", "missing", "../outside/secret.txt"):
        with pytest.raises(DomainError) as caught:
            await fs_store.read(name)
        assert str(sandbox) not in caught.value.user_message

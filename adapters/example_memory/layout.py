"""The on-disk format of an example memory, shared by the builder and the reader.

``root/`` holds one directory per memory, ``mem-0001``, ``mem-0002``, …::

    mem-0007/
        manifest.json    format, name, job id, counts, tokenizer, model, checksums
        examples.jsonl   one Example per line, in index order
        index/           the bm25s index (bm25s' own save format)
        vectors/         prompts.npy, passages.npy: one float16 row per example
                         (format 2; a format-1 memory has none and is searched by BM25)

A memory is built in ``root/.tmp-<job>.<random>/`` and renamed into place once
complete, so a half-written memory is never visible under its name. Names are
reserved with an exclusive ``mkdir`` in ``root/.reserved/`` first, so two builders
never take the same name and a removed memory's name is never reused.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.errors import InvalidInput
from domain.models import ChatMessage, Example, ExampleSource, Role

FORMAT = "trainerbot-example-memory"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # 1: BM25 only, no vectors
MANIFEST = "manifest.json"
EXAMPLES = "examples.jsonl"
INDEX_DIR = "index"
VECTORS_DIR = "vectors"
PROMPT_VECTORS = "prompts.npy"  # each prompt, embedded as a query
PASSAGE_VECTORS = "passages.npy"  # each prompt with its answer, embedded as a passage
RESERVED_DIR = ".reserved"
TMP_PREFIX = ".tmp-"

_NAME = re.compile(r"mem-([0-9]{4,})")
_SAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def validate_memory_name(name: object) -> str:
    """``name`` if it is a memory name (``mem-`` and four or more digits)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        shown = repr(name[:40]) if isinstance(name, str) else "that"
        raise InvalidInput(f"{shown} is not an example memory name (expected e.g. mem-0001).")
    return name


def memory_number(name: str) -> int | None:
    match = _NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def format_name(number: int) -> str:
    return f"mem-{number:04d}"


# --------------------------------------------------------------------------- examples


def encode_example(example: Example) -> bytes:
    row = {
        "id": example.id,
        "dataset": example.dataset,
        "messages": [{"role": m.role.value, "content": m.content} for m in example.messages],
        "answer": example.answer,
        "rejected": example.rejected,
        "label": example.label,
        "name": example.name,
        "source": example.source.value,
        "created_at": example.created_at.isoformat(),
    }
    return json.dumps(row, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def decode_example(line: bytes) -> Example:
    row = json.loads(line)
    return Example(
        id=str(row["id"]),
        dataset=str(row["dataset"]),
        messages=tuple(
            ChatMessage(role=Role(m["role"]), content=str(m["content"])) for m in row["messages"]
        ),
        answer=str(row["answer"]),
        source=ExampleSource(row["source"]),
        created_at=datetime.fromisoformat(row["created_at"]),
        rejected=_opt(row.get("rejected")),
        label=_opt(row.get("label")),
        name=_opt(row.get("name")),
    )


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


def index_text(example: Example) -> str:
    """What a memory indexes an example by: its prompt (every message if none)."""
    return example.prompt or "\n".join(m.content for m in example.messages)


def passage_text(example: Example) -> str:
    """The example as a document: its prompt, then its answer."""
    return f"{index_text(example)}\n{example.answer}"


# --------------------------------------------------------------------------- manifest


@dataclass(frozen=True, slots=True)
class Manifest:
    memory: str
    job_id: str
    example_count: int
    term_count: int
    created_at: str
    tokenizer: str
    examples_sha256: str
    index: str
    embedding: str | None = None  # the model the vectors were made with; None: no vectors
    vectors_sha256: str | None = None  # of prompts.npy then passages.npy
    format: str = FORMAT
    format_version: int = FORMAT_VERSION

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode() + b"\n"

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        raw = json.loads(data)
        if raw.get("format") != FORMAT or raw.get("format_version") not in READABLE_VERSIONS:
            raise ValueError("unknown memory format")
        return cls(
            memory=str(raw["memory"]),
            job_id=str(raw["job_id"]),
            example_count=int(raw["example_count"]),
            term_count=int(raw["term_count"]),
            created_at=str(raw["created_at"]),
            tokenizer=str(raw["tokenizer"]),
            examples_sha256=str(raw["examples_sha256"]),
            index=str(raw["index"]),
            embedding=_opt(raw.get("embedding")),
            vectors_sha256=_opt(raw.get("vectors_sha256")),
            format_version=int(raw["format_version"]),
        )


def read_manifest(directory: Path) -> Manifest:
    return Manifest.from_bytes((directory / MANIFEST).read_bytes())


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------- building


def job_key(job_id: str) -> str:
    """A file-name-safe stand-in for a job id."""
    return job_id if _SAFE.fullmatch(job_id) else sha256_hex(job_id.encode())[:32]


def temp_dir_for(root: Path, job_id: str) -> Path:
    """A fresh, unique path to build a memory of this job in (not created yet)."""
    return root / f"{TMP_PREFIX}{job_key(job_id)}.{uuid.uuid4().hex[:12]}"


def make_temp_dir(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir()


def remove_stale_temp_dirs(root: Path, job_id: str) -> int:
    """Remove what an interrupted build of this job (or a removal) left behind."""
    if not root.is_dir():
        return 0
    prefixes = (f"{TMP_PREFIX}{job_key(job_id)}.", f"{TMP_PREFIX}removed.")
    stale = [p for p in root.iterdir() if p.name.startswith(prefixes) and p.is_dir()]
    for path in stale:
        shutil.rmtree(path, ignore_errors=True)
    return len(stale)


def memory_names(root: Path) -> list[str]:
    """Names of the published memories, oldest first."""
    if not root.is_dir():
        return []
    names = [p.name for p in root.iterdir() if memory_number(p.name) is not None]
    return sorted(names, key=lambda n: memory_number(n) or 0)


def find_memory(root: Path, *, job_id: str, examples_sha256: str) -> str | None:
    """A published memory already built from this job and these examples."""
    for name in reversed(memory_names(root)):
        try:
            manifest = read_manifest(root / name)
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if manifest.job_id == job_id and manifest.examples_sha256 == examples_sha256:
            return name
    return None


def publish(root: Path, tmp: Path, manifest: Manifest) -> str:
    """Give ``tmp`` the next memory name (written into its manifest), atomically."""
    reserved = root / RESERVED_DIR
    reserved.mkdir(exist_ok=True)
    while True:
        taken = [memory_number(n) for n in os.listdir(root)]
        taken += [memory_number(n) for n in os.listdir(reserved)]
        name = format_name(max((n for n in taken if n is not None), default=0) + 1)
        try:
            os.mkdir(reserved / name)
        except FileExistsError:
            continue  # another builder took it between our listing and mkdir
        (tmp / MANIFEST).write_bytes(_replace_memory(manifest, name).to_bytes())
        _fsync_tree(tmp)
        try:
            os.rename(tmp, root / name)
        except OSError as exc:
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
                continue  # someone put a directory there by hand; take the next name
            raise
        _fsync_dir(root)
        return name


def unpublish(root: Path, name: str) -> None:
    """Remove a memory nobody refers to yet (its name stays reserved)."""
    target = root / name
    if not target.is_dir():
        return
    doomed = root / f"{TMP_PREFIX}removed.{name}.{uuid.uuid4().hex[:8]}"
    os.rename(target, doomed)  # disappear at once, then delete at leisure
    shutil.rmtree(doomed, ignore_errors=True)


def _replace_memory(manifest: Manifest, name: str) -> Manifest:
    data = asdict(manifest)
    data["memory"] = name
    return Manifest(**data)


def _fsync_tree(directory: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(directory):
        for filename in filenames:
            fd = os.open(os.path.join(dirpath, filename), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

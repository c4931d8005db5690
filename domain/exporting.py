"""Writing a dataset out: OpenAI fine-tuning JSONL (SFT and DPO) and the archive.

Pure functions over examples, returning bytes; the service runs them through its
offload (building a zip of a large dataset is CPU work) and stores the result as
an artifact. Every export re-imports to the same examples (see domain.importing).
"""

from __future__ import annotations

import enum
import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.artifacts import safe_stem, validate_artifact_name
from domain.models import ChatMessage, Dataset, Example

FORMAT_VERSION = 1


class ExportFormat(enum.StrEnum):
    SFT = "sft"  # OpenAI chat fine-tuning JSONL: {"messages": [...]}
    DPO = "dpo"  # OpenAI preference JSONL: input / preferred / non-preferred output


@dataclass(frozen=True, slots=True)
class Export:
    data: bytes
    count: int  # examples written


def _message(message: ChatMessage) -> dict[str, str]:
    return {"role": message.role.value, "content": message.content}


def _assistant(text: str) -> dict[str, str]:
    return {"role": "assistant", "content": text}


def _reply(example: Example) -> str:
    """The assistant's answer; a labelled example without one answers with its label."""
    return example.answer or example.label or ""


def sft_record(example: Example) -> dict[str, object]:
    return {"messages": [*map(_message, example.messages), _assistant(_reply(example))]}


def dpo_record(example: Example) -> dict[str, object] | None:
    """The preference pair of an example, or None when it has no rejected answer."""
    if not example.rejected:
        return None
    return {
        "input": {"messages": [_message(m) for m in example.messages]},
        "preferred_output": [_assistant(_reply(example))],
        "non_preferred_output": [_assistant(example.rejected)],
    }


def example_record(example: Example) -> dict[str, object]:
    """Everything an example holds, as a chat record that re-imports as it is."""
    record = sft_record(example)
    for key in ("rejected", "label", "name"):
        value = getattr(example, key)
        if value is not None:
            record[key] = value
    record["id"] = example.id
    record["source"] = example.source.value
    record["created_at"] = example.created_at.isoformat()
    return record


# Characters that str.splitlines() (and some readers) take for line breaks; JSON lets a
# string escape them, so every record stays on one physical line for any reader.
_LINE_BREAKS = str.maketrans({"\x85": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def _dumps(record: dict[str, object]) -> str:
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS)


def _jsonl(records: Iterable[dict[str, object]]) -> tuple[bytes, int]:
    lines = [_dumps(r) for r in records]
    return "".join(line + "\n" for line in lines).encode("utf-8"), len(lines)


def write_sft(examples: Iterable[Example]) -> Export:
    data, count = _jsonl(sft_record(e) for e in examples)
    return Export(data, count)


def write_dpo(examples: Iterable[Example]) -> Export:
    """Only the examples that have a rejected answer; ``count`` may be 0."""
    data, count = _jsonl(r for e in examples if (r := dpo_record(e)) is not None)
    return Export(data, count)


def write_examples(examples: Iterable[Example]) -> Export:
    data, count = _jsonl(example_record(e) for e in examples)
    return Export(data, count)


def write(fmt: ExportFormat, examples: Iterable[Example]) -> Export:
    return write_sft(examples) if fmt is ExportFormat.SFT else write_dpo(examples)


def artifact_name(dataset: str, kind: str, at: datetime, extension: str) -> str:
    """``<dataset>-<kind>-<YYYYmmdd-HHMMSS>.<extension>``, a valid artifact name."""
    stamp = at.strftime("%Y%m%d-%H%M%S")
    return validate_artifact_name(f"{safe_stem(dataset)}-{kind}-{stamp}.{extension}")


def _zip_time(at: datetime) -> tuple[int, int, int, int, int, int]:
    if at.year < 1980:  # the earliest time a zip can hold
        return (1980, 1, 1, 0, 0, 0)
    return (at.year, at.month, at.day, at.hour, at.minute, at.second)


def build_archive(dataset: Dataset, examples: Sequence[Example], *, created_at: datetime) -> bytes:
    """A zip: ``sft.jsonl``, ``dpo.jsonl`` (when there are pairs), ``examples.jsonl``
    (lossless) and ``manifest.json`` (counts, formats, sha256 of each member)."""
    sft = write_sft(examples)
    dpo = write_dpo(examples)
    raw = write_examples(examples)
    members: dict[str, tuple[bytes, int, str]] = {
        "sft.jsonl": (sft.data, sft.count, "OpenAI chat fine-tuning JSONL (supervised)"),
    }
    if dpo.count:
        members["dpo.jsonl"] = (dpo.data, dpo.count, "OpenAI preference fine-tuning JSONL")
    members["examples.jsonl"] = (
        raw.data,
        raw.count,
        "trainerbot examples, lossless: chat JSONL plus rejected, label, name, id, source",
    )
    manifest = {
        "format_version": FORMAT_VERSION,
        "generator": "trainerbot",
        "dataset": dataset.name,
        "description": dataset.description,
        "created_at": created_at.isoformat(),
        "counts": {"examples": len(examples), "sft": sft.count, "dpo": dpo.count},
        "files": {
            member: {
                "format": fmt,
                "records": count,
                "bytes": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
            for member, (data, count, fmt) in members.items()
        },
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        stamp = _zip_time(created_at)
        contents = {member: data for member, (data, _c, _f) in members.items()}
        contents["manifest.json"] = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
        for member, data in contents.items():
            info = zipfile.ZipInfo(member, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)
    return buffer.getvalue()

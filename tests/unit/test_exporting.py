"""Exports: OpenAI SFT/DPO JSONL and the archive; each re-imports to the same examples."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from domain.artifacts import validate_artifact_name
from domain.exporting import (
    ExportFormat,
    artifact_name,
    build_archive,
    write,
    write_dpo,
    write_examples,
    write_sft,
)
from domain.importing import DatasetLimits, parse_import
from domain.models import ChatMessage, Dataset, Example, ExampleSource, Role

AT = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)


def example(
    n: int,
    *messages: ChatMessage,
    answer: str,
    rejected: str | None = None,
    label: str | None = None,
    name: str | None = None,
) -> Example:
    return Example(
        id=f"ex{n}",
        dataset="demo",
        messages=messages,
        answer=answer,
        source=ExampleSource.IMPORT,
        created_at=AT,
        rejected=rejected,
        label=label,
        name=name,
    )


def system(text: str) -> ChatMessage:
    return ChatMessage(Role.SYSTEM, text)


def user(text: str) -> ChatMessage:
    return ChatMessage(Role.USER, text)


def assistant(text: str) -> ChatMessage:
    return ChatMessage(Role.ASSISTANT, text)


EXAMPLES = (
    example(1, user("What is 2+2?"), answer="4", rejected="5"),
    example(2, system("Be brief."), user("Capital of France?"), answer="Paris."),
    example(
        3,
        user("Привет"),
        assistant("Здравствуйте!"),
        user('Quote "this"\nand\u2028that'),
        answer='Done:\n\t"this" — ok \\ 100%',
        rejected="No.",
        label="misc",
        name="tricky",
    ),
    example(4, user("I love it"), answer="positive", label="positive", name="review-1"),
)


def reimport(name: str, data: bytes) -> list[tuple[object, ...]]:
    parsed = parse_import(name, data, limits=DatasetLimits())
    return [(p.messages, p.answer, p.rejected, p.label, p.name) for p in parsed.examples]


def test_sft_writes_openai_chat_lines() -> None:
    export = write_sft(EXAMPLES)
    lines = [json.loads(line) for line in export.data.decode().splitlines()]

    assert export.count == 4
    assert lines[1] == {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Capital of France?"},
            {"role": "assistant", "content": "Paris."},
        ]
    }
    assert lines[3]["messages"][-1] == {"role": "assistant", "content": "positive"}


def test_sft_export_reimports_to_equal_messages_and_answers() -> None:
    again = reimport("sft.jsonl", write_sft(EXAMPLES).data)
    assert [(m, a) for m, a, *_ in again] == [(e.messages, e.answer) for e in EXAMPLES]


def test_dpo_writes_only_preference_pairs_in_openai_shape() -> None:
    export = write_dpo(EXAMPLES)
    first = json.loads(export.data.decode().splitlines()[0])

    assert export.count == 2
    assert first == {
        "input": {"messages": [{"role": "user", "content": "What is 2+2?"}]},
        "preferred_output": [{"role": "assistant", "content": "4"}],
        "non_preferred_output": [{"role": "assistant", "content": "5"}],
    }


def test_dpo_export_reimports_to_equal_pairs() -> None:
    pairs = [e for e in EXAMPLES if e.rejected]
    again = reimport("dpo.jsonl", write(ExportFormat.DPO, EXAMPLES).data)
    assert [(m, a, r) for m, a, r, *_ in again] == [
        (e.messages, e.answer, e.rejected) for e in pairs
    ]


def test_dpo_of_examples_without_pairs_is_empty() -> None:
    assert write_dpo([EXAMPLES[1]]).count == 0


def test_raw_examples_reimport_losslessly() -> None:
    again = reimport("examples.jsonl", write_examples(EXAMPLES).data)
    assert again == [(e.messages, e.answer, e.rejected, e.label, e.name) for e in EXAMPLES]


def test_artifact_names_are_stamped_and_safe() -> None:
    assert artifact_name("demo", "sft", AT, "jsonl") == "demo-sft-20260304-050607.jsonl"
    weird = artifact_name("../Ünïcode set", "dpo", AT, "jsonl")
    assert validate_artifact_name(weird) == weird
    assert weird.endswith("-dpo-20260304-050607.jsonl")


def _archive(examples: tuple[Example, ...]) -> tuple[zipfile.ZipFile, dict[str, object]]:
    dataset = Dataset(name="demo", created_at=AT, description="for tests", example_count=4)
    archive = zipfile.ZipFile(io.BytesIO(build_archive(dataset, examples, created_at=AT)))
    return archive, json.loads(archive.read("manifest.json"))


def test_archive_holds_both_exports_raw_examples_and_a_checked_manifest() -> None:
    archive, manifest = _archive(EXAMPLES)

    assert sorted(archive.namelist()) == [
        "dpo.jsonl",
        "examples.jsonl",
        "manifest.json",
        "sft.jsonl",
    ]
    assert manifest["dataset"] == "demo"
    assert manifest["created_at"] == AT.isoformat()
    assert manifest["counts"] == {"examples": 4, "sft": 4, "dpo": 2}
    files = manifest["files"]
    assert isinstance(files, dict)
    assert set(files) == {"sft.jsonl", "dpo.jsonl", "examples.jsonl"}
    for member, info in files.items():
        data = archive.read(member)
        assert info["sha256"] == hashlib.sha256(data).hexdigest()
        assert info["bytes"] == len(data)
    assert archive.read("sft.jsonl") == write_sft(EXAMPLES).data


def test_archive_leaves_out_dpo_when_there_are_no_pairs() -> None:
    archive, manifest = _archive((EXAMPLES[1],))
    assert "dpo.jsonl" not in archive.namelist()
    assert manifest["counts"] == {"examples": 1, "sft": 1, "dpo": 0}


@pytest.mark.parametrize("member", ["sft.jsonl", "examples.jsonl"])
def test_archive_members_reimport(member: str) -> None:
    archive, _ = _archive(EXAMPLES)
    assert len(reimport(member, archive.read(member))) == 4

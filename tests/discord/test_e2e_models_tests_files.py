"""/model, /test and /getfile."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from domain.models import ModelVersion, utcnow
from tests.discord.conftest import BASE_MODEL, Harness
from tests.discord_emulator import UploadFile

EVAL = Path(__file__).resolve().parents[1] / "data" / "eval"


async def with_versions(h: Harness) -> None:
    for name in ("test-model@mem-1", "test-model@mem-2"):
        await h.services.models.register(
            ModelVersion(name=name, llm_model=BASE_MODEL, created_at=utcnow())
        )


async def test_model_list_use_and_rollback(h: Harness) -> None:
    await with_versions(h)
    listed = await h.reply(h.command("model list"))
    assert listed.ephemeral and f"`{BASE_MODEL}` — **active** — base:" in listed.content
    assert "`test-model@mem-2`\n" in listed.content + "\n"  # not the base
    used = await h.reply(h.command("model use", {"version": "test-model@mem-2"}))
    assert not used.ephemeral and "`test-model@mem-2`" in used.content
    assert (await h.services.models.active()).name == "test-model@mem-2"
    rolled = await h.reply(h.command("model rollback"))
    assert f"`{BASE_MODEL}`" in rolled.content
    assert (await h.services.models.active()).name == BASE_MODEL
    choices = await h.emulator.autocomplete(
        "model use", {"version": "mem-"}, focused="version", user=h.trainer, channel=h.general
    ).choices()
    assert [c["value"] for c in choices] == ["test-model@mem-2", "test-model@mem-1"]


async def test_using_an_unknown_version_is_refused(h: Harness) -> None:
    refused = await h.reply(h.command("model use", {"version": "nope"}))
    assert refused.ephemeral and "no model version named 'nope'" in refused.content


async def test_inline_test_cases_are_scored_and_reported(h: Harness) -> None:
    h.llm.reply = lambda messages: "The answer is 4"
    cases = json.dumps([{"input": "2+2?", "expected": "4"}, {"input": "3+3?", "expected": "6"}])
    handle = h.command("test", {"cases": cases})
    result = await h.reply(handle)
    await h.settled(lambda: "Passed" in result.content)
    assert "**1/2**" in result.content and "3+3?" in result.content
    assert "missing “6”" in result.content
    [report] = result.attachments
    assert report.filename.endswith(".md") and report.filename in result.content
    assert not result.ephemeral


async def test_a_failed_case_names_its_forbidden_phrases(h: Harness) -> None:
    h.llm.reply = lambda messages: "It is 4, or maybe 5"
    cases = json.dumps([{"input": "2+2?", "require": ["4"], "forbid": ["5", "6"]}])
    result = await h.reply(h.command("test", {"cases": cases}))
    await h.settled(lambda: "Passed" in result.content)
    assert "**0/1**" in result.content and "forbidden “5”" in result.content
    assert "“6”" not in result.content


async def test_test_with_version_base_answers_with_the_base_model(h: Harness) -> None:
    await with_versions(h)
    await h.reply(h.command("model use", {"version": "test-model@mem-2"}))
    h.llm.reply = lambda messages: "The answer is 4"
    cases = json.dumps([{"input": "2+2?", "expected": "4"}])
    result = await h.reply(h.command("test", {"cases": cases, "version": "base"}))
    await h.settled(lambda: "Passed" in result.content)
    [run] = h.db.committed.evals.values()
    assert run.model_version == BASE_MODEL
    assert (await h.services.models.active()).name == "test-model@mem-2"


async def test_malformed_inline_json_is_refused_with_its_position(h: Harness) -> None:
    cases = '[{"input": "one", "expected": "1"}, {"input": "two" "expected": "2"}]'
    refused = await h.reply(h.command("test", {"cases": cases}))
    assert refused.ephemeral and "inline.json:1:53: invalid JSON" in refused.content
    assert h.db.committed.evals == {}


async def test_test_cases_from_an_attachment_and_a_comparison(h: Harness) -> None:
    upload = UploadFile("cases.jsonl", (EVAL / "cases.jsonl").read_bytes())
    first = await h.reply(h.command("test", {"file": upload}))
    await h.settled(lambda: "Passed" in first.content)
    [before] = h.db.committed.evals.values()
    again = UploadFile("cases.jsonl", (EVAL / "cases.jsonl").read_bytes())
    second = await h.reply(h.command("test", {"file": again, "compare_with": before.id}))
    await h.settled(lambda: "Compared with" in second.content)
    assert len(h.db.committed.evals) == 2


async def test_a_test_file_that_is_not_json_is_refused(h: Harness) -> None:
    refused = await h.reply(h.command("test", {"file": UploadFile("cases.csv", b"a,b")}))
    assert refused.ephemeral and "file type" in refused.content


async def test_getfile_sends_an_artifact(h: Harness) -> None:
    await h.artifacts.write("faq-sft.jsonl", b'{"messages": []}\n')
    sent = await h.reply(h.command("getfile", {"name": "faq-sft.jsonl"}))
    [file] = sent.attachments
    assert sent.ephemeral and file.filename == "faq-sft.jsonl"
    assert file.data == b'{"messages": []}\n'
    choices = await h.emulator.autocomplete(
        "getfile", {"name": "faq"}, focused="name", user=h.trainer, channel=h.general
    ).choices()
    assert [c["value"] for c in choices] == ["faq-sft.jsonl"]


@pytest.mark.parametrize(
    "name",
    [
        "../secret.txt",
        "../../etc/passwd",
        "/etc/passwd",
        "..\\secret.txt",
        "C:\\Windows\\win.ini",
        "artifacts/../../secret.txt",
        "secret.txt\x00.jsonl",
        "%2e%2e%2fsecret.txt",
        "link.txt",
    ],
)
async def test_getfile_never_reads_outside_the_artifact_store(
    h: Harness, tmp_path: Path, name: str
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (tmp_path / "artifacts").mkdir(exist_ok=True)
    os.symlink(secret, tmp_path / "artifacts" / "link.txt")
    refused = await h.reply(h.command("getfile", {"name": name}))
    assert refused.ephemeral and refused.attachments == []
    assert "TOP SECRET" not in refused.content
    assert all(b"TOP SECRET" not in f.data for r in h.emulator.requests for f in r.files)


async def test_getfile_on_a_symlink_says_it_is_refused_not_missing(
    h: Harness, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP SECRET")
    (tmp_path / "artifacts").mkdir(exist_ok=True)
    os.symlink(secret, tmp_path / "artifacts" / "link.txt")
    refused = await h.reply(h.command("getfile", {"name": "link.txt"}))
    assert refused.ephemeral and refused.attachments == []
    assert "'link.txt' is a link" in refused.content and "refused" in refused.content
    assert "There is no file" not in refused.content and "TOP SECRET" not in refused.content


async def test_a_member_cannot_fetch_files(h: Harness) -> None:
    await h.artifacts.write("faq-sft.jsonl", b"{}\n")
    refused = await h.reply(
        h.command("getfile", {"name": "faq-sft.jsonl"}, user=h.member, bypass_permissions=True)
    )
    assert refused.ephemeral and refused.attachments == [] and "Only trainers" in refused.content


async def test_a_test_run_that_cannot_reach_the_model_says_so_in_place(h: Harness) -> None:
    h.llm.unavailable = "configure the endpoint"
    cases = json.dumps([{"input": "2+2?", "expected": "4"}])
    result = await h.reply(h.command("test", {"cases": cases}))
    await h.settled(lambda: "⚠️" in result.content)
    assert "not reachable" in result.content and h.db.committed.evals == {}

"""/dataset … for trainers: create, list, show, add, import, select, export, archive."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.discord.conftest import Harness
from tests.discord_emulator import UploadFile

DATA = Path(__file__).resolve().parents[1] / "data" / "import"


def examples(h: Harness, name: str) -> list[object]:
    return list(h.db.committed.examples.get(name, []))


async def test_create_add_show_select_and_list(h: Harness) -> None:
    created = await h.reply(h.command("dataset create", {"name": "faq", "description": "FAQ"}))
    assert created.ephemeral and "`faq`" in created.content
    await h.reply(h.command("dataset add", {"name": "faq", "prompt": "Hi?", "answer": "Hello!"}))
    shown = await h.reply(h.command("dataset show", {"name": "faq"}))
    assert "1 example" in shown.content and "Hi?" in shown.content and "Hello!" in shown.content
    await h.reply(h.command("dataset select", {"name": "faq"}))
    listed = await h.reply(h.command("dataset list", locale="ru"))
    assert "`faq` ⭐: 1 пример" in listed.content


async def test_import_from_an_attachment_adds_every_example(h: Harness) -> None:
    upload = UploadFile("chat.jsonl", (DATA / "chat.jsonl").read_bytes())
    done = await h.reply(h.command("dataset import", {"file": upload, "name": "support"}))
    count = sum(1 for line in (DATA / "chat.jsonl").read_text().splitlines() if line.strip())
    assert done.ephemeral and f"Imported {count} examples" in done.content
    assert len(examples(h, "support")) == count


async def test_import_with_a_bad_line_names_it_and_imports_nothing(h: Harness) -> None:
    upload = UploadFile("bad.jsonl", (DATA / "bad.jsonl").read_bytes())
    refused = await h.reply(h.command("dataset import", {"file": upload, "name": "support"}))
    assert refused.ephemeral
    assert "Nothing was imported" in refused.content and "bad.jsonl:2:" in refused.content
    assert examples(h, "support") == [] and "support" not in h.db.committed.datasets


async def test_import_refuses_unknown_file_types_before_downloading(h: Harness) -> None:
    upload = UploadFile("notes.exe", b"MZ...")
    refused = await h.reply(h.command("dataset import", {"file": upload, "name": "x"}))
    assert refused.ephemeral and "file type" in refused.content
    assert not any(r.path.startswith("/attachments") for r in h.emulator.requests)


async def test_export_and_archive_are_sent_as_files(h: Harness) -> None:
    await h.reply(h.command("dataset create", {"name": "faq"}))
    await h.reply(h.command("dataset add", {"name": "faq", "prompt": "Q?", "answer": "A."}))
    exported = await h.reply(h.command("dataset export", {"name": "faq", "format": "sft"}))
    [jsonl] = exported.attachments
    assert jsonl.filename.endswith(".jsonl") and jsonl.filename in exported.content
    assert json.loads(jsonl.data.decode().splitlines()[0])["messages"][-1]["content"] == "A."
    archived = await h.reply(h.command("dataset archive", {"name": "faq"}))
    [archive] = archived.attachments
    assert "manifest.json" in zipfile.ZipFile(io.BytesIO(archive.data)).namelist()
    assert {a.name for a in await h.artifacts.all()} == {jsonl.filename, archive.filename}


async def test_dataset_names_autocomplete(h: Harness) -> None:
    for name in ("faq", "support", "smalltalk"):
        await h.reply(h.command("dataset create", {"name": name}))
    handle = h.emulator.autocomplete(
        "dataset show", {"name": "s"}, focused="name", user=h.trainer, channel=h.general
    )
    assert [c["value"] for c in await handle.choices()] == ["smalltalk", "support"]


async def test_a_member_without_the_trainer_role_is_refused(h: Harness) -> None:
    with pytest.raises(PermissionError):  # Discord hides trainer commands by default
        h.command("dataset list", user=h.member)
    # an admin re-mapped the command in Discord's UI; the bot still checks the role
    refused = await h.reply(
        h.command("dataset create", {"name": "x"}, user=h.member, bypass_permissions=True)
    )
    assert (
        refused.ephemeral and "Only trainers" in refused.content and "`Trainer`" in refused.content
    )
    assert h.db.committed.datasets == {}
    choices = h.emulator.autocomplete(
        "dataset show", {"name": ""}, focused="name", user=h.member, channel=h.general
    )
    assert await choices.choices() == []


async def test_trainer_commands_carry_default_member_permissions(h: Harness) -> None:
    commands = {c["name"]: c for c in h.emulator.guild_commands(h.guild)}
    for name in ("dataset", "train", "model", "test", "getfile"):
        assert int(commands[name]["default_member_permissions"]) == 1 << 13, name
    assert commands["ask"]["default_member_permissions"] is None

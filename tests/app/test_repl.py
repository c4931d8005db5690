"""The terminal chat in-process: command parsing, over the real services and fakes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from app.bootstrap import Overrides
from app.repl import repl, split_command
from app.settings import LlmSettings, Settings
from tests.fakes import FakeChatModel, FakeDatabase, FakeExampleMemory


@pytest.mark.parametrize(
    ("line", "args"),
    [
        ("correct It's the second door, isn't it?", ["correct", "It's the second door, isn't it?"]),
        ('feedback The "quote" stays  as typed', ["feedback", 'The "quote" stays  as typed']),
        ("CORRECT l'été", ["CORRECT", "l'été"]),
        ("correct", ["correct"]),
        ("", []),
        (
            "dataset add faq --prompt \"What's up?\" --answer 'fine'",
            ["dataset", "add", "faq", "--prompt", "What's up?", "--answer", "fine"],
        ),
        ("test cases.jsonl --version base", ["test", "cases.jsonl", "--version", "base"]),
    ],
)
def test_free_text_commands_keep_the_line_and_others_split_like_a_shell(
    line: str, args: list[str]
) -> None:
    assert split_command(line) == args


def test_an_unclosed_quote_in_a_command_with_options_is_an_error() -> None:
    with pytest.raises(ValueError, match="No closing quotation"):
        split_command("dataset show it's")


async def test_corrections_and_feedback_with_apostrophes_are_saved_as_typed(
    tmp_path: Path,
) -> None:
    db = FakeDatabase()
    out = io.StringIO()
    settings = Settings(data_dir=tmp_path, llm=LlmSettings(base_url="http://127.0.0.1:9/v1"))
    script = "\n".join(
        [
            "Where's the key?",
            "/correct It's under the mat, isn't it obvious?",
            "/feedback Don't guess; say \"I don't know\".",
            "/dataset show it's",
            "/dataset create faq",
            "/dataset add faq --prompt \"What's up?\" --answer 'All fine.'",
        ]
    )
    code = await repl(
        settings,
        overrides=Overrides(
            uow=db.unit_of_work,
            llm=FakeChatModel(lambda messages: "No idea."),
            memory=FakeExampleMemory(),
            no_charts=True,
        ),
        stdin=io.StringIO(script + "\n"),
        console=Console(file=out, width=200),
    )
    text = out.getvalue()
    assert code == 0, text
    answers = [e.answer for e in db.committed.examples["corrections"]]
    assert answers == ["It's under the mat, isn't it obvious?"]
    assert [f.text for f in db.committed.feedback if f.text] == [
        "Don't guess; say \"I don't know\"."
    ]
    assert "No closing quotation" in text and "double quotes" in text
    assert [(e.prompt, e.answer) for e in db.committed.examples["faq"]] == [
        ("What's up?", "All fine.")
    ]

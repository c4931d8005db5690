"""The newcomer's path, end to end through the real CLI in a subprocess.

Real SQLite storage, the real `local` training backend and BM25 memory, the real
artifact store, and real HTTP to an OpenAI-compatible stand-in that follows the
examples in its prompt.
"""

from __future__ import annotations

import json
import os
import re
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "How do I import a dataset?"
CORRECTION = "Use /dataset import with a JSONL, CSV, JSON, TXT or ZIP file."


def test_a_correction_trained_locally_changes_the_answer(cli, tmp_path: Path) -> None:
    out = cli(
        "chat",
        stdin="\n".join(
            [
                QUESTION,
                "/bad",
                f"/correct {CORRECTION}",
                "/train start corrections",
                "/forget",
                QUESTION,
            ]
        )
        + "\n",
    )
    answers = [line for line in out.splitlines() if line.startswith("bot> ")]
    assert answers[0] == f"bot> echo: {QUESTION}"
    assert "Correction saved into dataset corrections" in out
    assert re.search(r"Job \w{32} succeeded: model version standin-model@mem-0001", out)
    assert answers[1] == f"bot> {CORRECTION}"

    models = cli("models", "list")
    assert "* standin-model@mem-0001" in models

    dpo = cli("dataset", "export", "corrections", "--format", "dpo")
    name = re.search(r"Wrote (\S+\.jsonl)", dpo).group(1)
    row = json.loads((tmp_path / "data" / "artifacts" / name).read_text().splitlines()[0])
    assert row["preferred_output"][0]["content"] == CORRECTION
    assert row["non_preferred_output"][0]["content"] == f"echo: {QUESTION}"

    archive = cli("dataset", "archive", "corrections")
    name = re.search(r"Wrote (\S+\.zip)", archive).group(1)
    with zipfile.ZipFile(tmp_path / "data" / "artifacts" / name) as zf:
        assert "manifest.json" in zf.namelist()


def test_evaluation_compares_the_base_and_the_trained_version(cli, tmp_path: Path) -> None:
    data = tmp_path / "faq.jsonl"
    data.write_text(
        "\n".join(
            json.dumps({"prompt": q, "completion": a})
            for q, a in [
                ("What does /hi do?", "It greets you and explains what I can do."),
                ("How do I leave the voice channel?", "Use /leave."),
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    cases = tmp_path / "cases.jsonl"
    cases.write_text(
        '{"input": "What does /hi do?", "expected": "It greets you and explains what I can do."}\n'
        '{"input": "How do I leave the voice channel?", "expected": "Use /leave."}\n',
        encoding="utf-8",
    )
    assert "Imported 2 examples into faq" in cli("dataset", "import", "faq", str(data))
    cli("dataset", "select", "faq")
    before = cli("eval", "run", str(cases), "--version", "base")
    assert "0/2 passed" in before and "on standin-model:" in before
    assert "succeeded" in cli("train", "start")
    models = cli("models", "list")
    assert "standin-model (base)" in models and "* standin-model@mem-0001" in models
    after = cli("eval", "run", str(cases))
    assert "2/2 passed" in after and "standin-model@mem-0001" in after
    names = re.search(r"Report: (\S+\.md), (\S+\.json)", after).groups()
    folder = tmp_path / "data" / "artifacts"
    assert f"  in {folder}{os.sep}" in after
    assert all((folder / name).is_file() for name in names)
    run_ids = re.findall(r"Run (\w{32})", cli("eval", "list"))
    assert len(run_ids) == 2
    newest, oldest = run_ids
    comparison = cli("eval", "compare", oldest, newest)
    assert "+100%" in comparison
    assert comparison.count("fixed") == 2
    compared = re.search(r"Report: (compare-\S+\.md)", comparison).group(1)
    assert (folder / compared).is_file() and f"  in {folder}{os.sep}" in comparison


def test_bad_input_gets_a_clear_message_and_keeps_what_is_stored(cli, tmp_path: Path) -> None:
    good = tmp_path / "good.jsonl"
    good.write_text('{"prompt": "a", "completion": "b"}\n', encoding="utf-8")
    cli("dataset", "import", "set", str(good))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "c", "completion": "d"}\n{"prompt": \n', encoding="utf-8")
    out = cli("dataset", "import", "set", str(bad), expect=1)
    assert "bad.jsonl:2" in out
    assert "set  " in cli("dataset", "list") or "│ set" in cli("dataset", "list")
    shown = cli("dataset", "show", "set")
    assert "1 examples" in shown
    missing = cli("models", "use", "no-such-version", expect=1)
    assert "no-such-version" in missing
    assert "Traceback" not in missing

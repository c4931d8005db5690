"""A deeply nested JSON file gets the same one-line answer from `eval run` and `dataset import`."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("deep.json", "[" * 100_000 + "]" * 100_000),
        ("deep.jsonl", '{"input": ' * 5_000 + '"x"' + "}" * 5_000 + "\n"),
    ],
)
def test_eval_run_and_dataset_import_both_say_nested_too_deeply(
    cli, tmp_path: Path, name: str, text: str
) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    evaluated = cli("eval", "run", str(path), expect=1)
    imported = cli("dataset", "import", "deep", str(path), expect=1)
    for out in (evaluated, imported):
        assert f"{name}:1:" in out and "nested too deeply" in out
        assert "Traceback" not in out and "Something went wrong" not in out

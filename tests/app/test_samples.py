"""The shipped sample (config/samples/): it parses, keeps its promises and imports.

The sample demonstrates the teach loop (docs/teach-loop.md): a training dataset about
the bot's own commands in English and Russian, a few labelled records in the
prototype's format, and a held-back test set whose inputs paraphrase the training
questions.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from domain.importing import DatasetLimits, ParsedExample, parse_import
from domain.models import TestCase
from domain.scoring import has_phrase
from domain.testcases import parse_test_cases
from domain.text import normalize

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "config" / "samples"
DATASET = SAMPLES / "bot-help.jsonl"
TOPICS = SAMPLES / "bot-help-topics.json"
TESTS = SAMPLES / "bot-help-tests.jsonl"


def russian(text: str) -> bool:
    return re.search("[а-яё]", text, re.IGNORECASE) is not None


def examples(path: Path) -> list[ParsedExample]:
    return list(parse_import(path.name, path.read_bytes(), limits=DatasetLimits()).examples)


def cases() -> list[TestCase]:
    return parse_test_cases(TESTS.name, TESTS.read_bytes())


def test_the_training_dataset_has_40_to_60_examples_about_half_of_them_russian() -> None:
    found = examples(DATASET)

    assert 40 <= len(found) <= 60
    share = sum(russian(e.prompt) for e in found) / len(found)
    assert 0.4 <= share <= 0.6
    assert all(e.answer.strip() and e.label is None for e in found)
    assert len({normalize(e.prompt) for e in found}) == len(found)


def test_the_labelled_records_import_in_the_prototype_format() -> None:
    found = examples(TOPICS)

    assert 3 <= len(found) <= 10
    assert all(e.label and e.name and e.answer == e.label for e in found)
    assert any(russian(e.prompt) for e in found)
    assert any(not russian(e.prompt) for e in found)


def test_the_test_set_has_16_to_24_named_cases_about_half_of_them_russian() -> None:
    found = cases()

    assert 16 <= len(found) <= 24
    names = [c.name for c in found]
    assert all(names) and len(set(names)) == len(names)
    for case in found:
        assert case.name is not None
        language = "ru" if russian(case.input) else "en"
        assert case.name.startswith(language + "-"), case.name  # the doc's per-language split
    share = sum(russian(c.input) for c in found) / len(found)
    assert 0.4 <= share <= 0.6


def test_test_inputs_paraphrase_the_training_prompts_instead_of_copying_them() -> None:
    taught = {normalize(e.prompt) for e in examples(DATASET) + examples(TOPICS)}

    copied = [c.input for c in cases() if normalize(c.input) in taught]

    assert copied == []


def test_every_expectation_is_taught_by_an_example_in_the_same_language() -> None:
    """Fair scoring: what a case expects is a phrase of some answer the sample teaches."""
    taught = examples(DATASET) + examples(TOPICS)

    for case in cases():
        same_language = [e.answer for e in taught if russian(e.prompt) == russian(case.input)]
        for phrase in (case.expected, case.label):
            if phrase is not None:
                assert any(has_phrase(answer, phrase) for answer in same_language), case.name


def test_the_expectations_are_short_checkable_facts() -> None:
    for case in cases():
        assert case.expected is not None or case.label is not None
        assert len(normalize(case.expected or case.label or "").split()) <= 4, case.name


def test_the_sample_imports_with_the_cli(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "TRAINERBOT_DATA_DIR": str(tmp_path / "data"),
        "TRAINERBOT_LLM__BASE_URL": "http://127.0.0.1:9/v1",  # never called here
        "TRAINERBOT_LOG__FORMAT": "json",
        "COLUMNS": "200",
    }
    env.pop("TRAINERBOT_DISCORD__TOKEN", None)
    script = (
        f"/dataset import bot-help {DATASET}\n"
        f"/dataset import bot-help {TOPICS}\n"
        "/dataset select bot-help\n"
    )

    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "chat"],
        input=script,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )

    assert done.returncode == 0, done.stdout + done.stderr
    total = len(examples(DATASET)) + len(examples(TOPICS))
    assert f"Imported {len(examples(DATASET))} examples into bot-help" in done.stdout
    assert f"into bot-help (now {total})" in done.stdout
    assert "Selected bot-help" in done.stdout


@pytest.mark.parametrize("path", [DATASET, TOPICS, TESTS], ids=lambda p: p.name)
def test_sample_files_are_utf8_without_escaped_cyrillic(path: Path) -> None:
    text = path.read_text(encoding="utf-8")

    assert "\\u04" not in text  # readable Russian, not \\u-escapes

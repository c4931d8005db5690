"""`trainerbot models pull`: progress, idempotence, and clear refusals."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app

CONTENT = b"GGUF" + bytes(range(256)) * 300


def manifest(tmp_path: Path, body: str) -> dict[str, str]:
    path = tmp_path / "models.toml"
    path.write_text(body, encoding="utf-8")
    return {
        "TRAINERBOT_DATA_DIR": str(tmp_path / "data"),
        "TRAINERBOT_LOCAL_LLM__MANIFEST": str(path),
        "TRAINERBOT_LOG__LEVEL": "ERROR",
    }


def entry(*, url: str | None = None, sha256: str | None = None, pull: bool = True) -> str:
    lines = [
        "[[model]]",
        'name = "tiny"',
        'file = "tiny.gguf"',
        f"size = {len(CONTENT)}",
        f'sha256 = "{sha256 or hashlib.sha256(CONTENT).hexdigest()}"',
        'parts = [{ package = "trainerbot-test-absent-part", path = "data/part01.bin" }]',
        f"pull = {'true' if pull else 'false'}",
    ]
    if url:
        lines.append(f'url = "{url}"')
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _no_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_pull_downloads_verifies_and_is_a_no_op_the_second_time(
    tmp_path: Path, file_server: Callable[[str, bytes], str]
) -> None:
    env = manifest(tmp_path, entry(url=file_server("tiny.gguf", CONTENT)))

    first = CliRunner().invoke(app, ["models", "pull"], env=env)
    second = CliRunner().invoke(app, ["models", "pull", "tiny"], env=env)

    assert first.exit_code == 0, first.output
    assert "tiny downloaded and verified" in first.output
    assert (tmp_path / "data" / "models" / "tiny.gguf").read_bytes() == CONTENT
    assert second.exit_code == 0, second.output
    assert "tiny already verified" in second.output


def test_pull_refuses_a_wrong_checksum_and_keeps_nothing(
    tmp_path: Path, file_server: Callable[[str, bytes], str]
) -> None:
    env = manifest(tmp_path, entry(url=file_server("tiny.gguf", CONTENT), sha256="0" * 64))

    result = CliRunner().invoke(app, ["models", "pull"], env=env)

    assert result.exit_code == 1
    assert "failed its checksum" in result.output
    assert list((tmp_path / "data" / "models").iterdir()) == []


def test_pull_names_the_packages_to_install_when_parts_are_missing(tmp_path: Path) -> None:
    env = manifest(tmp_path, entry())

    result = CliRunner().invoke(app, ["models", "pull"], env=env)

    assert result.exit_code == 1
    assert "trainerbot-test-absent-part" in result.output
    assert "local-llm" in result.output


def test_pull_skips_models_another_adapter_assembles(tmp_path: Path) -> None:
    env = manifest(tmp_path, entry(pull=False))

    result = CliRunner().invoke(app, ["models", "pull"], env=env)

    assert result.exit_code == 0, result.output
    assert "nothing to pull" in result.output


def test_pull_of_an_unknown_name_fails_clearly(tmp_path: Path) -> None:
    env = manifest(tmp_path, entry())

    result = CliRunner().invoke(app, ["models", "pull", "nope"], env=env)

    assert result.exit_code == 1
    assert "not in the model manifest" in result.output

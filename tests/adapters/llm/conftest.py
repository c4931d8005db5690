"""Fixtures: the OpenAI-compatible stand-in and adapters pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from adapters.llm_openai import OpenAIChatModel
from tests.standins.openai_server import OpenAIStandin

API_KEY = "sk-test-4f1c9a27d3b8e605"

MakeModel = Callable[..., OpenAIChatModel]


@pytest.fixture
def api_key() -> str:
    return API_KEY


@pytest.fixture
async def standin() -> AsyncIterator[OpenAIStandin]:
    async with OpenAIStandin() as server:
        yield server


@pytest.fixture
async def make_model(standin: OpenAIStandin) -> AsyncIterator[MakeModel]:
    """Adapters on the stand-in: no retries and a 5 s timeout unless overridden."""
    made: list[OpenAIChatModel] = []

    def make(**overrides: Any) -> OpenAIChatModel:
        settings: dict[str, Any] = {
            "base_url": standin.base_url,
            "api_key": API_KEY,
            "timeout": 5.0,
            "max_retries": 0,
            "connect_timeout": 1.0,
        }
        model = OpenAIChatModel(**(settings | overrides))
        made.append(model)
        return model

    yield make
    for model in made:
        await model.aclose()


@pytest.fixture
def model(make_model: MakeModel) -> OpenAIChatModel:
    return make_model()

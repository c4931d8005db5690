"""OpenAIChatModel.check(): None when the endpoint answers, else one line to act on."""

from __future__ import annotations

import time
from collections.abc import Callable

from adapters.llm_openai import OpenAIChatModel
from tests.standins.openai_server import Behaviour, ErrorReply, OpenAIStandin

MakeModel = Callable[..., OpenAIChatModel]


def assert_one_safe_line(reason: str | None, secret: str) -> str:
    assert reason is not None
    assert "\n" not in reason
    assert secret not in reason
    return reason


async def test_check_passes_when_the_endpoint_lists_models(
    model: OpenAIChatModel, standin: OpenAIStandin, api_key: str
) -> None:
    assert await model.check() is None

    (request,) = standin.requests
    assert (request.method, request.path) == ("GET", "/v1/models")
    assert request.bearer == api_key


async def test_check_names_the_settings_when_nothing_listens(
    make_model: MakeModel, closed_port_url: str, api_key: str
) -> None:
    reason = assert_one_safe_line(await make_model(base_url=closed_port_url).check(), api_key)

    assert f"No language model answers at {closed_port_url}" in reason
    assert "TRAINERBOT_LLM__BASE_URL" in reason


async def test_check_names_the_api_key_setting_when_the_key_is_refused(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.api_key = "sk-expected-key-111111"
    wrong_key = "sk-wrong-key-2222222222"

    reason = assert_one_safe_line(await make_model(api_key=wrong_key).check(), wrong_key)

    assert "refused the API key" in reason
    assert "TRAINERBOT_LLM__API_KEY" in reason


async def test_check_suggests_the_v1_address_when_the_path_is_wrong(
    make_model: MakeModel, standin: OpenAIStandin, api_key: str
) -> None:
    server_root = standin.base_url.removesuffix("/v1")

    reason = assert_one_safe_line(await make_model(base_url=server_root).check(), api_key)

    assert "/v1" in reason
    assert "TRAINERBOT_LLM__BASE_URL" in reason


async def test_check_reports_a_failing_server(
    model: OpenAIChatModel, standin: OpenAIStandin, api_key: str
) -> None:
    standin.default = Behaviour(error=ErrorReply(500))

    reason = assert_one_safe_line(await model.check(), api_key)

    assert "HTTP 500" in reason
    assert len(standin.requests) == 1  # a check is never retried


async def test_check_gives_up_quickly_on_a_silent_server(
    make_model: MakeModel, standin: OpenAIStandin, api_key: str
) -> None:
    standin.default = Behaviour(first_byte_delay=30.0)
    started = time.monotonic()

    reason = assert_one_safe_line(await make_model(timeout=0.3, max_retries=3).check(), api_key)

    assert time.monotonic() - started < 10.0  # far below the server's 30 s
    assert "No language model answers" in reason


async def test_check_never_shows_credentials_written_into_the_url(
    make_model: MakeModel, closed_port_url: str, api_key: str
) -> None:
    with_password = closed_port_url.replace("http://", "http://admin:hunter2@") + "?token=abc"

    reason = assert_one_safe_line(await make_model(base_url=with_password).check(), api_key)

    assert "hunter2" not in reason
    assert "token=abc" not in reason
    assert closed_port_url in reason

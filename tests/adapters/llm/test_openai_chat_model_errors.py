"""OpenAIChatModel failures: every error becomes a domain error with a safe message."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest
from structlog.testing import capture_logs

from adapters.llm_openai import OpenAIChatModel
from domain.errors import (
    DomainError,
    InvalidInput,
    ModelTimeout,
    ModelUnavailable,
    RateLimited,
)
from domain.models import ChatMessage, CompletionChunk, Ending, Role
from tests.standins.openai_server import Behaviour, ErrorReply, OpenAIStandin

MakeModel = Callable[..., OpenAIChatModel]
QUESTION = (ChatMessage(Role.USER, "what is the secret of life"),)
FAST_RETRY = 0.01  # Retry-After seconds, so retry tests do not wait for backoff

ERROR_CASES = [
    pytest.param(
        ErrorReply(
            400,
            "This model's maximum context length is 2048 tokens.",
            code="context_length_exceeded",
        ),
        InvalidInput,
        "too long",
        id="400-context-too-long",
    ),
    pytest.param(ErrorReply(400), InvalidInput, "rejected the request", id="400-bad-request"),
    pytest.param(ErrorReply(401), ModelUnavailable, "refused our API key", id="401"),
    pytest.param(ErrorReply(403), ModelUnavailable, "refused our API key", id="403"),
    pytest.param(ErrorReply(404), ModelUnavailable, "“tiny-llm”", id="404-model-not-found"),
    pytest.param(ErrorReply(429, retry_after=FAST_RETRY), RateLimited, "busy", id="429"),
    pytest.param(ErrorReply(500), ModelUnavailable, "server error 500", id="500"),
    pytest.param(ErrorReply(503), ModelUnavailable, "server error 503", id="503"),
]


async def first_chunks(model: OpenAIChatModel, into: list[CompletionChunk]) -> None:
    async for chunk in model.stream(QUESTION, model="tiny-llm"):
        into.append(chunk)


def assert_safe(error: DomainError, secret: str) -> None:
    assert secret not in error.user_message
    assert secret not in str(error)
    assert "Error code" not in error.user_message  # no library text leaks through


@pytest.mark.parametrize(("reply", "expected", "fragment"), ERROR_CASES)
async def test_error_status_maps_to_a_domain_error_with_a_safe_message(
    make_model: MakeModel,
    standin: OpenAIStandin,
    api_key: str,
    caplog: pytest.LogCaptureFixture,
    reply: ErrorReply,
    expected: type[DomainError],
    fragment: str,
) -> None:
    standin.default = Behaviour(error=reply)
    model = make_model()
    caplog.set_level(logging.DEBUG)

    with capture_logs() as logs, pytest.raises(DomainError) as raised:
        await model.complete(QUESTION, model="tiny-llm")

    assert type(raised.value) is expected
    assert fragment in raised.value.user_message
    assert_safe(raised.value, api_key)
    assert api_key not in caplog.text
    assert api_key not in repr(logs)
    assert "secret of life" not in repr(logs)
    (failed,) = [e for e in logs if e["event"] == "llm_request_failed"]
    assert failed["status"] == reply.status
    assert failed["error"] == expected.key


@pytest.mark.parametrize(("reply", "expected", "fragment"), ERROR_CASES)
async def test_error_status_on_a_stream_maps_the_same_way(
    make_model: MakeModel,
    standin: OpenAIStandin,
    api_key: str,
    reply: ErrorReply,
    expected: type[DomainError],
    fragment: str,
) -> None:
    standin.default = Behaviour(error=reply)
    chunks: list[CompletionChunk] = []

    with pytest.raises(DomainError) as raised:
        await first_chunks(make_model(), chunks)

    assert type(raised.value) is expected
    assert fragment in raised.value.user_message
    assert_safe(raised.value, api_key)
    assert chunks == []


async def test_a_key_the_server_does_not_know_is_refused_without_revealing_it(
    make_model: MakeModel, standin: OpenAIStandin, caplog: pytest.LogCaptureFixture
) -> None:
    standin.api_key = "sk-the-right-key-000000"
    wrong_key = "sk-wrong-key-7c3e91d2b4"
    model = make_model(api_key=wrong_key)
    caplog.set_level(logging.DEBUG)

    with capture_logs() as logs, pytest.raises(ModelUnavailable) as raised:
        await model.complete(QUESTION, model="tiny-llm")

    assert "API key" in raised.value.user_message
    assert_safe(raised.value, wrong_key)
    assert wrong_key not in caplog.text
    assert wrong_key not in repr(logs)
    assert standin.chat_requests[0].bearer == wrong_key  # it was sent, only to the server


async def test_transient_errors_are_retried_until_the_answer_comes(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.script(
        Behaviour(error=ErrorReply(500, retry_after=FAST_RETRY)),
        Behaviour(error=ErrorReply(429, retry_after=FAST_RETRY)),
    )
    model = make_model(max_retries=2)

    completion = await model.complete(QUESTION, model="tiny-llm")

    assert completion.text == "echo: what is the secret of life"
    assert len(standin.chat_requests) == 3


async def test_retries_stop_after_max_retries(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(error=ErrorReply(429, retry_after=FAST_RETRY))
    model = make_model(max_retries=2)

    with pytest.raises(RateLimited):
        await model.complete(QUESTION, model="tiny-llm")

    assert len(standin.chat_requests) == 3


async def test_bad_requests_are_not_retried(make_model: MakeModel, standin: OpenAIStandin) -> None:
    standin.default = Behaviour(error=ErrorReply(400))
    model = make_model(max_retries=2)

    with pytest.raises(InvalidInput):
        await model.complete(QUESTION, model="tiny-llm")

    assert len(standin.chat_requests) == 1


async def test_a_slow_answer_times_out_quickly(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(first_byte_delay=30.0)
    model = make_model(timeout=0.3)
    started = time.monotonic()

    with pytest.raises(ModelTimeout) as raised:
        await model.complete(QUESTION, model="tiny-llm")

    assert time.monotonic() - started < 10.0  # far below the server's 30 s
    assert "too long" in raised.value.user_message


async def test_a_stalled_stream_times_out(make_model: MakeModel, standin: OpenAIStandin) -> None:
    standin.script(Behaviour(chunk_delay=30.0))
    model = make_model(timeout=0.3)
    chunks: list[CompletionChunk] = []

    with pytest.raises(ModelTimeout):
        await first_chunks(model, chunks)

    assert chunks == []  # the first piece never came
    assert len(standin.chat_requests) == 1


async def test_a_stream_cut_off_midway_raises_model_unavailable(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(drop_after_chunks=2)
    chunks: list[CompletionChunk] = []

    with pytest.raises(ModelUnavailable) as raised:
        await first_chunks(make_model(), chunks)

    assert type(raised.value) is ModelUnavailable
    assert [c.text for c in chunks] == ["echo: ", "what "]


async def test_nothing_listening_is_model_unavailable(
    make_model: MakeModel, closed_port_url: str
) -> None:
    model = make_model(base_url=closed_port_url)

    with pytest.raises(ModelUnavailable) as raised:
        await model.complete(QUESTION, model="tiny-llm")

    assert type(raised.value) is ModelUnavailable
    assert "cannot be reached" in raised.value.user_message


UNREADABLE_BODIES = [
    pytest.param(b"\xff\xfe\xfa\x81 not text", "application/json", id="not-utf8"),
    pytest.param(b"{this is not json", "application/json", id="not-json"),
    pytest.param(b"<html>502 Bad Gateway</html>", "text/html", id="html"),
    pytest.param(b'{"choices": 5}', "application/json", id="choices-not-a-list"),
    pytest.param(b'{"choices": [{"message": {"content": 7}}]}', "application/json", id="not-text"),
    pytest.param(b"[1, 2, 3]", "application/json", id="a-list"),
]


@pytest.mark.parametrize(("body", "content_type"), UNREADABLE_BODIES)
async def test_a_whole_answer_that_is_not_a_completion_is_model_unavailable(
    make_model: MakeModel, standin: OpenAIStandin, body: bytes, content_type: str
) -> None:
    standin.default = Behaviour(body=body, content_type=content_type)

    with capture_logs() as logs, pytest.raises(ModelUnavailable) as raised:
        await make_model().complete(QUESTION, model="tiny-llm")

    assert raised.value.user_message == "The language model sent an answer we could not read."
    [failed] = [e for e in logs if e["event"] == "llm_request_failed"]
    assert failed["error"] == "model_unavailable" and failed["cause"] is not None


async def test_a_stream_stopped_by_max_tokens_says_it_is_too_long(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    finish = b'{"choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}'
    piece = b'{"choices": [{"index": 0, "delta": {"content": "so far"}, "finish_reason": null}]}'
    standin.default = Behaviour(
        body=b"data: " + piece + b"\n\ndata: " + finish + b"\n\ndata: [DONE]\n\n",
        content_type="text/event-stream",
    )
    chunks: list[CompletionChunk] = []

    await first_chunks(make_model(), chunks)

    assert "".join(c.text for c in chunks) == "so far"
    assert chunks[-1].ending is Ending.TOO_LONG


async def test_a_stream_that_ends_without_finish_reason_says_it_was_cut(
    make_model: MakeModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(cut_after_chunks=2)
    chunks: list[CompletionChunk] = []

    with capture_logs() as logs:
        await first_chunks(make_model(), chunks)

    assert [c.text for c in chunks] == ["echo: ", "what ", ""]
    assert chunks[-1].ending is Ending.CUT
    [finished] = [e for e in logs if e["event"] == "llm_request_finished"]
    assert finished["ending"] == "cut" and finished["log_level"] == "warning"

"""OpenAIChatModel against the stand-in: completions, streams, what goes on the wire."""

from __future__ import annotations

from collections.abc import Callable

from structlog.testing import capture_logs

from adapters.llm_openai import OpenAIChatModel
from domain.models import ChatMessage, CompletionChunk, Ending, GenerationOptions, Role, Usage
from tests.standins.openai_server import Behaviour, ErrorReply, OpenAIStandin

MakeModel = Callable[..., OpenAIChatModel]

CONVERSATION = (
    ChatMessage(Role.SYSTEM, "You are terse."),
    ChatMessage(Role.USER, "first question"),
    ChatMessage(Role.ASSISTANT, "first answer"),
    ChatMessage(Role.USER, "how are you today"),
)


async def collect(model: OpenAIChatModel, **kwargs: object) -> list[CompletionChunk]:
    return [chunk async for chunk in model.stream(CONVERSATION, model="standin-model", **kwargs)]  # type: ignore[arg-type]


async def test_complete_returns_the_reply_with_reported_usage(model: OpenAIChatModel) -> None:
    completion = await model.complete(CONVERSATION, model="standin-model")

    assert completion.text == "echo: how are you today"
    # the stand-in counts words (+4 per message) and reply words
    assert completion.usage == Usage(prompt_tokens=27, completion_tokens=5)


async def test_complete_sends_model_messages_options_and_bearer_key(
    model: OpenAIChatModel, standin: OpenAIStandin, api_key: str
) -> None:
    await model.complete(
        CONVERSATION,
        model="my-model",
        options=GenerationOptions(temperature=0.2, max_tokens=64),
    )

    (request,) = standin.chat_requests
    assert request.bearer == api_key
    assert request.json["model"] == "my-model"
    assert request.json["messages"] == [
        {"role": "system", "content": "You are terse."},
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "how are you today"},
    ]
    assert request.json["temperature"] == 0.2
    assert request.json["max_tokens"] == 64
    assert not request.json.get("stream")


async def test_complete_without_options_leaves_sampling_to_the_server(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    await model.complete(CONVERSATION, model="standin-model")

    body = standin.chat_requests[0].json
    assert "temperature" not in body
    assert "max_tokens" not in body


async def test_complete_from_a_server_without_usage_has_unknown_counts(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(report_usage=False)

    completion = await model.complete(CONVERSATION, model="standin-model")

    assert completion.text == "echo: how are you today"
    assert completion.usage == Usage()


async def test_stream_yields_pieces_in_order_then_an_empty_usage_chunk(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    chunks = await collect(model, options=GenerationOptions(temperature=0.0))

    assert [c.text for c in chunks] == ["echo: ", "how ", "are ", "you ", "today", ""]
    assert all(c.usage is None for c in chunks[:-1])
    assert chunks[-1].usage == Usage(prompt_tokens=27, completion_tokens=5)
    body = standin.chat_requests[0].json
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["temperature"] == 0.0


async def test_stream_from_a_server_ignoring_stream_options_has_no_usage_chunk(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    standin.default = Behaviour(report_usage=False)

    chunks = await collect(model)

    assert "".join(c.text for c in chunks) == "echo: how are you today"
    assert all(c.usage is None for c in chunks)
    *pieces, last = chunks
    assert all(c.text for c in pieces)
    assert (last.text, last.ending) == ("", Ending.COMPLETE)  # only says how it ended


async def test_stream_falls_back_when_the_server_refuses_stream_options(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    refusal = ErrorReply(400, "Unrecognized request argument supplied: stream_options")
    standin.script(Behaviour(error=refusal, report_usage=False))
    standin.default = Behaviour(report_usage=False)

    first = await collect(model)
    second = await collect(model)

    assert "".join(c.text for c in first) == "echo: how are you today"
    assert "".join(c.text for c in second) == "echo: how are you today"
    sent = [r.json.get("stream_options") for r in standin.chat_requests]
    assert sent == [{"include_usage": True}, None, None]  # refused once, then remembered


async def test_stream_abandoned_early_leaves_the_model_usable(
    model: OpenAIChatModel, standin: OpenAIStandin
) -> None:
    stream = model.stream(CONVERSATION, model="standin-model")
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]

    completion = await model.complete(CONVERSATION, model="standin-model")

    assert first.text == "echo: "
    assert completion.text == "echo: how are you today"


async def test_finished_requests_are_logged_with_counts_but_no_text_or_key(
    make_model: MakeModel, api_key: str
) -> None:
    model = make_model()
    with capture_logs() as logs:
        await model.complete(CONVERSATION, model="standin-model")
        await collect(model)

    finished = [e for e in logs if e["event"] == "llm_request_finished"]
    assert [e["stream"] for e in finished] == [False, True]
    for event in finished:
        assert event["model"] == "standin-model"
        assert event["prompt_tokens"] == 27
        assert event["completion_tokens"] == 5
        assert event["latency_ms"] >= 0
    text = repr(logs)
    assert "how are you today" not in text
    assert api_key not in text

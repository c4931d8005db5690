"""One contract for every ChatModel: the fake and the real adapter must not drift.

Each test runs against ``FakeChatModel`` and against ``OpenAIChatModel`` talking
real HTTP to the local OpenAI-compatible stand-in, both given the same reply function.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import pytest

from adapters.llm_openai import OpenAIChatModel
from domain.models import ChatMessage, CompletionChunk, Ending, GenerationOptions, Role
from domain.ports import ChatModel
from tests.fakes.llm import FakeChatModel
from tests.standins.openai_server import OpenAIStandin

Reply = Callable[[Sequence[ChatMessage]], str]
MakeChatModel = Callable[[Reply], ChatModel]


def echo(messages: Sequence[ChatMessage]) -> str:
    users = [m.content for m in messages if m.role is Role.USER]
    return f"echo: {users[-1]}" if users else "echo:"


def transcript(messages: Sequence[ChatMessage]) -> str:
    """Every message, in order, with its role: shows what reached the model."""
    return " | ".join(f"{m.role.value}={m.content}" for m in messages)


def multilingual(messages: Sequence[ChatMessage]) -> str:
    return "Привет, мир! 你好 🌍\nsecond line\ttabbed  double  spaced "


def silent(messages: Sequence[ChatMessage]) -> str:
    return ""


REPLIES = [
    pytest.param(echo, id="echo"),
    pytest.param(transcript, id="transcript"),
    pytest.param(multilingual, id="multilingual"),
    pytest.param(silent, id="empty"),
]

CONVERSATION = (
    ChatMessage(Role.SYSTEM, "Be brief."),
    ChatMessage(Role.USER, "Hello there"),
    ChatMessage(Role.ASSISTANT, "Hi! How can I help?"),
    ChatMessage(Role.USER, "Tell me about the weather, please."),
)


@pytest.fixture(params=["fake", "openai"])
async def make_chat_model(request: pytest.FixtureRequest) -> AsyncIterator[MakeChatModel]:
    if request.param == "fake":
        yield FakeChatModel
        return
    models: list[OpenAIChatModel] = []
    async with OpenAIStandin() as server:

        def make(reply: Reply) -> ChatModel:
            server.reply = reply
            model = OpenAIChatModel(
                base_url=server.base_url, api_key="sk-contract", timeout=5.0, max_retries=0
            )
            models.append(model)
            return model

        yield make
        for model in models:
            await model.aclose()


async def stream_all(
    model: ChatModel, messages: Sequence[ChatMessage], **kwargs: object
) -> list[CompletionChunk]:
    return [chunk async for chunk in model.stream(messages, model="contract-model", **kwargs)]  # type: ignore[arg-type]


@pytest.mark.parametrize("reply", REPLIES)
async def test_complete_returns_exactly_the_reply(
    make_chat_model: MakeChatModel, reply: Reply
) -> None:
    model = make_chat_model(reply)

    completion = await model.complete(CONVERSATION, model="contract-model")

    assert completion.text == reply(CONVERSATION)


@pytest.mark.parametrize("reply", REPLIES)
async def test_stream_concatenates_to_the_complete_text(
    make_chat_model: MakeChatModel, reply: Reply
) -> None:
    model = make_chat_model(reply)

    completion = await model.complete(CONVERSATION, model="contract-model")
    chunks = await stream_all(model, CONVERSATION)

    assert "".join(c.text for c in chunks) == completion.text


@pytest.mark.parametrize("reply", REPLIES)
async def test_stream_pieces_are_non_empty_until_the_final_usage_chunk(
    make_chat_model: MakeChatModel, reply: Reply
) -> None:
    model = make_chat_model(reply)

    chunks = await stream_all(model, CONVERSATION)

    *pieces, last = chunks
    assert all(p.text and p.usage is None and p.ending is None for p in pieces)
    assert last.text == ""
    assert last.usage is not None
    assert last.ending is Ending.COMPLETE


async def test_an_answer_that_the_model_finished_says_it_is_complete(
    make_chat_model: MakeChatModel,
) -> None:
    model = make_chat_model(echo)

    completion = await model.complete(CONVERSATION, model="contract-model")

    assert completion.ending is Ending.COMPLETE


async def test_usage_is_reported_and_agrees_between_complete_and_stream(
    make_chat_model: MakeChatModel,
) -> None:
    model = make_chat_model(echo)

    completion = await model.complete(CONVERSATION, model="contract-model")
    chunks = await stream_all(model, CONVERSATION)

    assert completion.usage.prompt_tokens is not None and completion.usage.prompt_tokens > 0
    assert completion.usage.completion_tokens is not None
    assert completion.usage.completion_tokens > 0
    assert chunks[-1].usage == completion.usage


async def test_every_message_reaches_the_model_in_order_with_its_role(
    make_chat_model: MakeChatModel,
) -> None:
    model = make_chat_model(transcript)

    completion = await model.complete(CONVERSATION, model="contract-model")

    assert completion.text == (
        "system=Be brief. | user=Hello there | assistant=Hi! How can I help? | "
        "user=Tell me about the weather, please."
    )


async def test_generation_options_are_accepted_without_changing_the_reply(
    make_chat_model: MakeChatModel,
) -> None:
    model = make_chat_model(echo)
    options = GenerationOptions(temperature=0.0, max_tokens=32)

    completion = await model.complete(CONVERSATION, model="contract-model", options=options)
    chunks = await stream_all(model, CONVERSATION, options=options)

    assert completion.text == "echo: Tell me about the weather, please."
    assert "".join(c.text for c in chunks) == completion.text


async def test_a_stream_can_be_left_early_and_the_model_still_answers(
    make_chat_model: MakeChatModel,
) -> None:
    model = make_chat_model(echo)

    stream = model.stream(CONVERSATION, model="contract-model")
    first = await anext(stream)
    await stream.aclose()  # type: ignore[attr-defined]
    completion = await model.complete(CONVERSATION, model="contract-model")

    assert completion.text.startswith(first.text)
    assert completion.text == "echo: Tell me about the weather, please."


async def test_check_reports_a_reachable_model(make_chat_model: MakeChatModel) -> None:
    model = make_chat_model(echo)

    assert await model.check() is None

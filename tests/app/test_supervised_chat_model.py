"""The embedded server's chat model waits for a restart instead of failing during one."""

from __future__ import annotations

import pytest

from app.local_llm import DIED_MID_ANSWER, RESTARTING, SupervisedChatModel
from domain.errors import ModelUnavailable
from domain.models import ChatMessage, CompletionChunk, Role
from tests.fakes.llm import FakeChatModel

QUESTION = [ChatMessage(role=Role.USER, content="hello there")]


class Supervisor:
    """A supervisor whose server is down (``looks_healthy``: it has not noticed yet, until
    a request fails); it comes back on the next wait if ``returns``."""

    def __init__(
        self,
        model: FakeChatModel,
        *,
        returns: bool,
        gave_up: bool = False,
        looks_healthy: bool = False,
    ) -> None:
        self.model = model
        self.returns = returns
        self.restarting = not gave_up and not looks_healthy
        self.looks_healthy = looks_healthy
        self.restarts = 0
        self.restart_within = 5.0
        self.waits: list[tuple[float, bool]] = []

    async def wait_ready(self, seconds: float, *, failed: bool = False) -> bool:
        self.waits.append((seconds, failed))
        if self.looks_healthy and not failed:
            return True
        if self.looks_healthy:  # the failed request made it look: dead, being restarted
            self.looks_healthy, self.restarting = False, True
        if self.returns and self.restarting:
            self.restarts += 1
            self.restarting = False
            self.model.unavailable = None  # it serves again
            return True
        return not self.restarting and self.model.unavailable is None


async def answer(model: SupervisedChatModel) -> str:
    return "".join([chunk.text async for chunk in model.stream(QUESTION, model="m")])


async def test_a_request_failing_as_the_server_dies_is_sent_again_once_it_is_back() -> None:
    inner = FakeChatModel(unavailable="down")
    supervisor = Supervisor(inner, returns=True, looks_healthy=True)
    assert await answer(SupervisedChatModel(inner, supervisor)) == "echo: hello there"
    assert supervisor.waits == [(5.0, False), (5.0, True)]
    assert supervisor.restarts == 1


async def test_while_it_restarts_too_long_the_user_is_told_it_is_restarting() -> None:
    inner = FakeChatModel(unavailable="down")
    with pytest.raises(ModelUnavailable) as raised:
        await answer(SupervisedChatModel(inner, Supervisor(inner, returns=False)))
    assert raised.value.user_message == RESTARTING
    assert inner.calls == []  # nothing was sent to a server that is not there


async def test_a_server_that_gave_up_fails_the_request_with_its_own_error() -> None:
    inner = FakeChatModel(unavailable="down")
    supervised = SupervisedChatModel(inner, Supervisor(inner, returns=False, gave_up=True))
    with pytest.raises(ModelUnavailable) as raised:
        await supervised.complete(QUESTION, model="m")
    assert raised.value.user_message == "The language model is not reachable right now."
    assert await supervised.check() == "down"


async def test_a_restarted_server_answers_the_question_that_waited_for_it() -> None:
    inner = FakeChatModel(unavailable="down")
    supervisor = Supervisor(inner, returns=True)
    assert await answer(SupervisedChatModel(inner, supervisor)) == "echo: hello there"
    assert supervisor.restarts == 1 and len(inner.calls) == 1


class BreaksMidAnswer(FakeChatModel):
    """Streams one piece, then the connection breaks (the server was killed)."""

    async def stream(self, messages, *, model, options=None):  # type: ignore[no-untyped-def]
        yield CompletionChunk(text="Once upon")
        raise ModelUnavailable("The language model cannot be reached right now.")


async def test_an_answer_broken_by_the_server_dying_says_so_and_is_not_sent_again() -> None:
    inner = BreaksMidAnswer()
    supervisor = Supervisor(inner, returns=False, looks_healthy=True)
    shown: list[str] = []
    with pytest.raises(ModelUnavailable) as raised:
        async for chunk in SupervisedChatModel(inner, supervisor).stream(QUESTION, model="m"):
            shown.append(chunk.text)
    assert shown == ["Once upon"]
    assert raised.value.user_message == DIED_MID_ANSWER

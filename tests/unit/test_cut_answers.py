"""Answers cut off: capped, out of time or broken off — shown so, stored so, never learned."""

from __future__ import annotations

import asyncio

import pytest

from domain.errors import ModelTimeout, ModelUnavailable
from domain.exporting import ExportFormat, write
from domain.models import Actor, Ending, Place, Prediction, Rating
from domain.services.chat import ChatPolicy, ChatService, Question
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewService
from tests.fakes import FakeChatModel, FakeDatabase, inline_offload
from tests.unit.conftest import FixedClock

pytestmark = pytest.mark.faults

PLACE = Place(conversation_id="channel-1", channel_id="channel-1")
CAP = 40


async def make_chat(
    db: FakeDatabase, llm: FakeChatModel, clock: FixedClock, **policy: object
) -> ChatService:
    models = ModelService(uow=db.unit_of_work, clock=clock)
    await models.ensure_base("base-llm")
    return ChatService(
        uow=db.unit_of_work,
        llm=llm,
        models=models,
        policy=ChatPolicy(max_answer_chars=CAP, **policy),  # type: ignore[arg-type]
        clock=clock,
    )


async def streamed(chat: ChatService, text: str, author: Actor) -> tuple[str, Prediction | None]:
    stream = chat.stream(Question(text=text, author=author, place=PLACE))
    shown = "".join([piece async for piece in stream])
    return shown, stream.prediction


@pytest.mark.parametrize(
    ("length", "ending"),
    [(CAP - 1, Ending.COMPLETE), (CAP, Ending.COMPLETE), (CAP + 1, Ending.TOO_LONG)],
)
async def test_an_answer_is_cut_at_the_cap_and_only_past_it(
    db: FakeDatabase, clock: FixedClock, member: Actor, length: int, ending: Ending
) -> None:
    llm = FakeChatModel(lambda messages: "x" * length)
    chat = await make_chat(db, llm, clock)

    shown, prediction = await streamed(chat, "how long?", member)

    assert prediction is not None and prediction.ending is ending
    assert shown == prediction.answer == "x" * min(length, CAP)
    assert db.committed.predictions[prediction.id].ending is ending


async def test_a_whole_answer_past_the_cap_is_cut_too(
    db: FakeDatabase, clock: FixedClock, member: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(lambda messages: "y" * 500), clock)

    prediction = await chat.answer(Question(text="and whole?", author=member, place=PLACE))

    assert (prediction.answer, prediction.ending) == ("y" * CAP, Ending.TOO_LONG)


async def test_a_stream_that_broke_off_is_stored_as_cut(
    db: FakeDatabase, clock: FixedClock, member: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(ending=Ending.CUT), clock)

    shown, prediction = await streamed(chat, "tell me", member)

    assert shown == "echo: tell me"
    assert prediction is not None and not prediction.complete
    assert prediction.ending is Ending.CUT


async def test_a_stream_that_broke_off_before_any_text_is_a_model_failure(
    db: FakeDatabase, clock: FixedClock, member: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(lambda messages: "", ending=Ending.CUT), clock)

    with pytest.raises(ModelUnavailable, match="stopped before it answered"):
        await streamed(chat, "anything?", member)

    assert db.committed.predictions == {}


async def test_the_deadline_bounds_the_whole_answer_and_stores_nothing(
    db: FakeDatabase, clock: FixedClock, member: Actor
) -> None:
    llm = FakeChatModel(lambda messages: "s " * 100, delay=0.05)  # 100 pieces: 5 s
    chat = await make_chat(db, llm, clock, answer_deadline=0.3)
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(ModelTimeout, match="took too long"):
        await streamed(chat, "take your time", member)
    llm.delay = 5.0  # a whole answer after 5 s
    with pytest.raises(ModelTimeout):
        await chat.answer(Question(text="whole, then", author=member, place=PLACE))

    assert loop.time() - started < 3.0  # two deadlines of 0.3 s, far below 2 × 5 s
    assert db.committed.predictions == {}


async def test_a_cut_answer_is_rated_and_corrected_but_never_learned_from(
    db: FakeDatabase, clock: FixedClock, member: Actor, trainer: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(ending=Ending.CUT), clock)
    feedback = FeedbackService(uow=db.unit_of_work, clock=clock)
    _, cut = await streamed(chat, "what is it", member)
    assert cut is not None

    rated = await feedback.rate(cut.id, member, Rating.UP)
    corrected = await feedback.correct(cut.id, trainer, "The whole, right answer.")

    assert rated.answer_cut_off and corrected.answer_cut_off
    assert db.committed.feedback[0].rating is Rating.UP  # the rating itself is kept
    [example] = db.committed.examples["corrections"]
    assert (example.answer, example.rejected) == ("The whole, right answer.", None)
    assert write(ExportFormat.DPO, [example]).count == 0  # never a side of a pair
    sft = write(ExportFormat.SFT, [example]).data.decode()
    assert "The whole, right answer." in sft and cut.answer not in sft


async def test_a_downvoted_cut_answer_approved_in_review_is_not_the_rejected_side(
    db: FakeDatabase, clock: FixedClock, member: Actor, trainer: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(ending=Ending.CUT), clock)
    feedback = FeedbackService(uow=db.unit_of_work, clock=clock)
    review = ReviewService(uow=db.unit_of_work, offload=inline_offload, clock=clock)
    _, cut = await streamed(chat, "what is it", member)
    assert cut is not None
    await feedback.rate(cut.id, member, Rating.DOWN)
    [proposal] = await review.pending(trainer)

    await review.edit_and_approve(proposal.id, trainer, "The answer a trainer wrote.")

    [example] = db.committed.examples["corrections"]
    assert (example.answer, example.rejected) == ("The answer a trainer wrote.", None)


async def test_a_whole_answer_stays_the_rejected_side_of_its_correction(
    db: FakeDatabase, clock: FixedClock, member: Actor, trainer: Actor
) -> None:
    chat = await make_chat(db, FakeChatModel(), clock)
    feedback = FeedbackService(uow=db.unit_of_work, clock=clock)
    _, whole = await streamed(chat, "what is it", member)
    assert whole is not None

    corrected = await feedback.correct(whole.id, trainer, "Better.")

    assert not corrected.answer_cut_off
    [example] = db.committed.examples["corrections"]
    assert example.rejected == "echo: what is it"


async def test_an_evaluation_answer_is_capped_and_bounded_by_the_deadline_too(
    db: FakeDatabase, clock: FixedClock
) -> None:
    llm = FakeChatModel(lambda messages: "y" * (CAP * 50))  # a server ignoring max_tokens
    chat = await make_chat(db, llm, clock, answer_deadline=0.3)
    base = await ModelService(uow=db.unit_of_work, clock=clock).active()

    text, _ = await chat.answer_once("how long?", version=base)
    assert text == "y" * CAP

    llm.delay = 5.0
    started = asyncio.get_running_loop().time()
    with pytest.raises(ModelTimeout, match="took too long"):
        await chat.answer_once("take your time", version=base)
    assert asyncio.get_running_loop().time() - started < 2.0

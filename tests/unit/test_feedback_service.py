"""FeedbackService: ratings, comments and corrections that become examples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from domain.models import (
    Actor,
    ChatMessage,
    Correction,
    ExampleSource,
    ModelVersion,
    Place,
    Prediction,
    ProposalKind,
    ProposalStatus,
    Rating,
    ReviewMode,
    Role,
)
from domain.prompting import ANSWERS_FLAG
from domain.services.chat import ChatPolicy, ChatService, Question
from domain.services.feedback import CorrectionOutcome, FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewPolicy, ReviewService
from tests.fakes import (
    FakeChatModel,
    FakeDatabase,
    FakeExampleMemory,
    FakeUnitOfWork,
    inline_offload,
)
from tests.fakes.llm import taught_entries
from tests.unit.conftest import FixedClock

PLACE = Place(conversation_id="channel-1", channel_id="channel-1")
OUTSIDER = Actor(id="someone-else", name="Someone else")


@pytest.fixture
async def models(db: FakeDatabase, clock: FixedClock) -> ModelService:
    service = ModelService(uow=db.unit_of_work, clock=clock)
    await service.ensure_base("base-llm")
    return service


@pytest.fixture
def chat(
    db: FakeDatabase,
    llm: FakeChatModel,
    models: ModelService,
    example_memory: FakeExampleMemory,
    clock: FixedClock,
) -> ChatService:
    return ChatService(
        uow=db.unit_of_work,
        llm=llm,
        models=models,
        policy=ChatPolicy(system_prompt="Be helpful."),
        memory=example_memory,
        clock=clock,
    )


@pytest.fixture
def feedback(db: FakeDatabase, clock: FixedClock) -> FeedbackService:
    return FeedbackService(uow=db.unit_of_work, clock=clock, max_comment_chars=50)


@pytest.fixture
async def answered(chat: ChatService, member: Actor) -> Prediction:
    """The member asked a question and the bot answered it."""
    return await chat.answer(Question("What is the capital of Australia?", member, PLACE))


def nothing_corrected(db: FakeDatabase) -> bool:
    state = db.committed
    return state.corrections == [] and state.datasets == {} and state.examples == {}


# ----------------------------------------------------------------- references


async def test_a_prediction_resolves_by_its_id_or_its_message_id(
    feedback: FeedbackService, chat: ChatService, answered: Prediction
) -> None:
    assert (await feedback.resolve(answered.id)).id == answered.id
    await chat.attach_message(answered.id, "msg-1")
    assert (await feedback.resolve(" msg-1 ")).id == answered.id


async def test_an_unknown_reference_is_not_found_with_a_clear_message(
    feedback: FeedbackService,
) -> None:
    with pytest.raises(NotFound, match="can't find that answer"):
        await feedback.resolve("msg-404")
    with pytest.raises(NotFound):
        await feedback.resolve("  ")


# ----------------------------------------------------------------- ratings & comments


async def test_ratings_are_stored_against_the_prediction(
    feedback: FeedbackService,
    chat: ChatService,
    answered: Prediction,
    member: Actor,
    trainer: Actor,
    db: FakeDatabase,
) -> None:
    await chat.attach_message(answered.id, "msg-1")
    up = await feedback.rate("msg-1", member, Rating.UP)
    down = await feedback.rate(answered.id, trainer, Rating.DOWN)
    assert db.committed.feedback == [up.feedback, down.feedback]
    assert [(f.prediction_id, f.author, f.rating) for f in db.committed.feedback] == [
        (answered.id, member, Rating.UP),
        (answered.id, trainer, Rating.DOWN),
    ]


async def test_rating_an_unknown_answer_stores_nothing(
    feedback: FeedbackService, member: Actor, db: FakeDatabase
) -> None:
    with pytest.raises(NotFound):
        await feedback.rate("msg-404", member, Rating.UP)
    assert db.committed.feedback == []


async def test_comments_are_trimmed_and_stored_with_or_without_an_answer(
    feedback: FeedbackService, answered: Prediction, member: Actor, db: FakeDatabase
) -> None:
    general = await feedback.comment(member, "  Love the bot!  ")
    specific = await feedback.comment(member, "\ttoo short\n", ref=answered.id)
    assert db.committed.feedback == [general, specific]
    assert (general.text, general.prediction_id, general.rating) == ("Love the bot!", None, None)
    assert (specific.text, specific.prediction_id) == ("too short", answered.id)


async def test_empty_or_overlong_comments_are_refused(
    feedback: FeedbackService, member: Actor, db: FakeDatabase
) -> None:
    with pytest.raises(InvalidInput, match="feedback is empty"):
        await feedback.comment(member, " \n ")
    with pytest.raises(LimitExceeded, match="limit is 50"):
        await feedback.comment(member, "x" * 51)
    with pytest.raises(NotFound):
        await feedback.comment(member, "fine text", ref="msg-404")
    assert db.committed.feedback == []


# ----------------------------------------------------------------- corrections


def assert_correction_stored(
    db: FakeDatabase, outcome: CorrectionOutcome, answered: Prediction, better: str
) -> Correction:
    assert not outcome.pending and outcome.proposal is None
    correction = outcome.correction
    assert correction is not None
    assert db.committed.corrections == [correction]
    assert correction.prediction_id == answered.id
    assert correction.corrected_answer == better
    assert correction.dataset == "corrections"
    assert db.committed.datasets["corrections"].name == "corrections"
    [example] = db.committed.examples["corrections"]
    assert example.id == correction.example_id
    assert example.messages == (ChatMessage(Role.USER, "What is the capital of Australia?"),)
    assert example.prompt == answered.prompt
    assert example.rejected == answered.answer == "echo: What is the capital of Australia?"
    assert example.answer == better
    assert example.source is ExampleSource.CORRECTION
    assert example.provenance is not None
    assert example.provenance.approved_by == correction.author
    assert example.provenance.prediction_id == answered.id
    assert f"correction of answer {answered.id[:8]}" in example.provenance.detail
    return correction


async def test_a_trainer_corrects_someone_elses_answer_by_message_id(
    feedback: FeedbackService,
    chat: ChatService,
    answered: Prediction,
    trainer: Actor,
    db: FakeDatabase,
) -> None:
    await chat.attach_message(answered.id, "msg-7")
    correction = assert_correction_stored(
        db, await feedback.correct("msg-7", trainer, "  Canberra.  "), answered, "Canberra."
    )
    assert correction.author == trainer
    assert db.committed.proposals == {}


async def test_a_members_correction_waits_for_review_and_teaches_nothing(
    feedback: FeedbackService, answered: Prediction, member: Actor, db: FakeDatabase
) -> None:
    outcome = await feedback.correct(answered.id, member, "  Canberra.  ")
    assert outcome.pending and outcome.correction is None
    proposal = outcome.proposal
    assert proposal is not None
    assert db.committed.proposals == {proposal.id: proposal}
    assert proposal.kind is ProposalKind.CORRECTION
    assert proposal.status is ProposalStatus.PENDING
    assert (proposal.question, proposal.answer, proposal.proposed_answer) == (
        answered.prompt,
        answered.answer,
        "Canberra.",
    )
    assert proposal.proposer == member and proposal.dataset == "corrections"
    assert nothing_corrected(db)


async def test_in_open_mode_a_members_correction_is_learned_at_once(
    db: FakeDatabase, clock: FixedClock, answered: Prediction, member: Actor
) -> None:
    feedback = FeedbackService(
        uow=db.unit_of_work, review=ReviewPolicy(mode=ReviewMode.OPEN), clock=clock
    )
    correction = assert_correction_stored(
        db, await feedback.correct(answered.id, member, "Canberra."), answered, "Canberra."
    )
    assert correction.author == member
    [example] = db.committed.examples["corrections"]
    assert example.provenance is not None and "open review mode" in example.provenance.detail


async def test_in_trainers_only_mode_a_member_cannot_correct(
    db: FakeDatabase, clock: FixedClock, answered: Prediction, member: Actor, trainer: Actor
) -> None:
    review = ReviewService(uow=db.unit_of_work, offload=inline_offload)
    await review.set_mode(trainer, answered.place.guild_id, "trainers-only")
    feedback = FeedbackService(uow=db.unit_of_work, clock=clock)
    with pytest.raises(PermissionDenied, match="only trainers teach"):
        await feedback.correct(answered.id, member, "Canberra.")
    assert nothing_corrected(db) and db.committed.proposals == {}
    await feedback.correct(answered.id, trainer, "Canberra.")
    assert len(db.committed.examples["corrections"]) == 1


async def test_a_member_cannot_propose_more_than_the_daily_limit(
    db: FakeDatabase, clock: FixedClock, answered: Prediction, member: Actor, trainer: Actor
) -> None:
    feedback = FeedbackService(
        uow=db.unit_of_work, review=ReviewPolicy(proposals_per_day=2), clock=clock
    )
    await feedback.correct(answered.id, member, "Canberra.")
    await feedback.correct(answered.id, member, "It is Canberra.")
    with pytest.raises(LimitExceeded, match="2 proposals today"):
        await feedback.correct(answered.id, member, "Canberra, of course.")
    assert len(db.committed.proposals) == 2
    await feedback.correct(answered.id, trainer, "Canberra!")  # trainers are not limited
    clock.advance(timedelta(days=1, seconds=1))
    assert (await feedback.correct(answered.id, member, "Canberra, of course.")).pending


async def test_corrections_go_to_the_configured_dataset_and_reuse_it(
    db: FakeDatabase, clock: FixedClock, answered: Prediction, trainer: Actor
) -> None:
    feedback = FeedbackService(uow=db.unit_of_work, corrections_dataset="fixes", clock=clock)
    await feedback.correct(answered.id, trainer, "Canberra.")
    await feedback.correct(answered.id, trainer, "It is Canberra.")
    assert list(db.committed.datasets) == ["fixes"]
    assert [e.answer for e in db.committed.examples["fixes"]] == ["Canberra.", "It is Canberra."]


async def test_a_downvote_puts_the_answer_in_the_queue_once(
    feedback: FeedbackService, answered: Prediction, member: Actor, trainer: Actor, db: FakeDatabase
) -> None:
    await feedback.rate(answered.id, member, Rating.DOWN)
    await feedback.rate(answered.id, member, Rating.DOWN)
    [proposal] = db.committed.proposals.values()
    assert proposal.kind is ProposalKind.DOWNVOTE and proposal.proposed_answer is None
    # a trainer's correction of that answer settles it
    await feedback.correct(answered.id, trainer, "Canberra.")
    settled = db.committed.proposals[proposal.id]
    assert settled.status is ProposalStatus.APPROVED and settled.decided_by == trainer
    assert settled.example_id == db.committed.examples["corrections"][0].id
    # a corrected answer does not come back to the queue
    await feedback.rate(answered.id, OUTSIDER, Rating.DOWN)
    assert len(db.committed.proposals) == 1


async def test_someone_else_cannot_correct_and_nothing_is_stored(
    feedback: FeedbackService, answered: Prediction, db: FakeDatabase
) -> None:
    with pytest.raises(PermissionDenied, match="person who asked the question or a trainer"):
        await feedback.correct(answered.id, OUTSIDER, "Canberra.")
    assert nothing_corrected(db) and db.committed.proposals == {}


async def test_who_may_correct_is_known_before_a_correction_is_written(
    feedback: FeedbackService, answered: Prediction, member: Actor, db: FakeDatabase
) -> None:
    assert (await feedback.correctable(answered.id, member)).id == answered.id
    with pytest.raises(PermissionDenied, match="person who asked the question or a trainer"):
        await feedback.correctable(answered.id, OUTSIDER)
    with pytest.raises(NotFound):
        await feedback.correctable("no-such-answer", member)
    assert nothing_corrected(db)


async def test_an_empty_or_unchanged_correction_is_refused(
    feedback: FeedbackService, answered: Prediction, member: Actor, db: FakeDatabase
) -> None:
    with pytest.raises(InvalidInput, match="correction is empty"):
        await feedback.correct(answered.id, member, "   ")
    with pytest.raises(InvalidInput, match="same as the original answer"):
        await feedback.correct(answered.id, member, f"  {answered.answer} ")
    with pytest.raises(NotFound):
        await feedback.correct("msg-404", member, "Canberra.")
    with pytest.raises(LimitExceeded, match="too long"):
        await feedback.correct(answered.id, member, "x" * 20_001)
    assert nothing_corrected(db) and db.committed.proposals == {}


async def test_a_correction_that_fails_half_way_leaves_nothing_behind(
    db: FakeDatabase, clock: FixedClock, answered: Prediction, trainer: Actor
) -> None:
    class FailingUnitOfWork(FakeUnitOfWork):
        def _bind(self) -> None:
            super()._bind()

            async def broken(correction: Correction) -> None:
                raise RuntimeError("disk full")

            self.feedback.add_correction = broken  # type: ignore[method-assign]

    failing: Callable[[], FakeUnitOfWork] = lambda: FailingUnitOfWork(db)  # noqa: E731
    feedback = FeedbackService(uow=failing, clock=clock)
    with pytest.raises(RuntimeError):
        await feedback.correct(answered.id, trainer, "Canberra.")
    assert nothing_corrected(db)


async def test_a_corrected_answer_shapes_the_next_answer_to_the_same_question(
    feedback: FeedbackService,
    chat: ChatService,
    models: ModelService,
    llm: FakeChatModel,
    example_memory: FakeExampleMemory,
    answered: Prediction,
    member: Actor,
    trainer: Actor,
    db: FakeDatabase,
    clock: FixedClock,
) -> None:
    await feedback.correct(answered.id, trainer, "Canberra.")
    # what a training job does: turn the corrections dataset into a memory
    example_memory.put("mem-1", db.committed.examples["corrections"])
    version = await models.register(
        ModelVersion("base-llm@mem-1", "base-llm", clock(), memory="mem-1")
    )
    await models.activate(version.name, trainer)
    await chat.answer(Question("what's the capital of australia", member, PLACE))
    assert taught_entries(llm.last_messages) == [
        {"question": "What is the capital of Australia?", "answer": "Canberra.", ANSWERS_FLAG: True}
    ]
    # the wrong exchange of this conversation is no longer in the prompt
    assert llm.last_messages[1:] == (ChatMessage(Role.USER, "what's the capital of australia"),)

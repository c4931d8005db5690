"""ReviewService: trainers decide which proposals become examples."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from domain.models import (
    Actor,
    ChatMessage,
    Dataset,
    Example,
    ExampleSource,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Role,
)
from domain.services.review import ReviewService
from tests.fakes import FakeDatabase, inline_offload
from tests.unit.conftest import START, FixedClock


def _proposal(
    pid: str, *, proposer: Actor, answer: str | None = "Paris.", offset: int = 0
) -> Proposal:
    return Proposal(
        id=pid,
        kind=ProposalKind.CORRECTION if answer else ProposalKind.DOWNVOTE,
        prediction_id=f"pred-{pid}",
        question="What is the capital of France?",
        answer="Lyon.",
        proposer=proposer,
        created_at=START + timedelta(minutes=offset),
        dataset="corrections",
        proposed_answer=answer,
    )


@pytest.fixture
def review(db: FakeDatabase, clock: FixedClock) -> ReviewService:
    return ReviewService(uow=db.unit_of_work, offload=inline_offload, clock=clock)


async def _store(db: FakeDatabase, *proposals: Proposal) -> None:
    async with db.unit_of_work() as uow:
        for p in proposals:
            await uow.proposals.add(p)
        await uow.commit()


async def test_approving_writes_the_example_with_provenance(
    db: FakeDatabase, review: ReviewService, member: Actor, trainer: Actor
) -> None:
    await _store(db, _proposal("aa11", proposer=member))
    decision = await review.approve("aa", trainer)
    assert decision.proposal.status is ProposalStatus.APPROVED
    async with db.unit_of_work() as uow:
        [example] = await uow.datasets.examples("corrections")
        stored = await uow.proposals.get("aa11")
    assert example.answer == "Paris."
    assert example.source is ExampleSource.CORRECTION
    assert example.provenance is not None
    assert example.provenance.proposed_by == member
    assert example.provenance.approved_by == trainer
    assert stored is not None and stored.example_id == example.id
    with pytest.raises(Conflict):
        await review.approve("aa11", trainer)


async def test_rejected_proposal_never_reaches_the_dataset(
    db: FakeDatabase, review: ReviewService, member: Actor, trainer: Actor
) -> None:
    await _store(db, _proposal("bb22", proposer=member))
    decision = await review.reject("bb22", trainer, reason="wrong city")
    assert decision.proposal.reason == "wrong city"
    async with db.unit_of_work() as uow:
        assert await uow.datasets.examples("corrections") == []
    assert await review.pending(trainer) == []
    with pytest.raises(Conflict):
        await review.approve("bb22", trainer)


async def test_members_cannot_review_and_see_only_their_own(
    db: FakeDatabase, review: ReviewService, member: Actor, trainer: Actor
) -> None:
    other = Actor(id="member-2", name="Other")
    await _store(db, _proposal("cc33", proposer=member), _proposal("dd44", proposer=other))
    for call in (
        review.pending(member),
        review.show("cc33", member),
        review.approve("cc33", member),
        review.reject("cc33", member),
    ):
        with pytest.raises(PermissionDenied):
            await call
    assert [p.id for p in await review.mine(member)] == ["cc33"]


async def test_downvote_needs_an_answer_and_queue_is_oldest_first(
    db: FakeDatabase, review: ReviewService, member: Actor, trainer: Actor
) -> None:
    await _store(
        db,
        _proposal("ee55", proposer=member, answer=None, offset=5),
        _proposal("ff66", proposer=member, offset=1),
    )
    assert [p.id for p in await review.pending(trainer)] == ["ff66", "ee55"]
    with pytest.raises(InvalidInput):
        await review.approve("ee55", trainer)
    decision = await review.edit_and_approve("ee55", trainer, "Paris, of course.")
    assert decision.example is not None and decision.example.answer == "Paris, of course."
    with pytest.raises(NotFound):
        await review.approve("0000", trainer)


async def test_show_flags_a_conflicting_example(
    db: FakeDatabase, review: ReviewService, member: Actor, trainer: Actor
) -> None:
    await _store(db, _proposal("ab12", proposer=member), _proposal("ab13", proposer=member))
    with pytest.raises(InvalidInput):
        await review.show("ab1", trainer)  # ambiguous prefix
    async with db.unit_of_work() as uow:
        await uow.datasets.add(Dataset(name="corrections", created_at=START))
        await uow.datasets.add_examples(
            [
                Example(
                    id="x1",
                    dataset="corrections",
                    messages=(ChatMessage(Role.USER, "What is the capital of France?"),),
                    answer="Marseille.",
                    source=ExampleSource.CORRECTION,
                    created_at=START,
                )
            ]
        )
        await uow.commit()
    view = await review.show("ab12", trainer)
    assert [(r.example.id, r.conflicting) for r in view.related] == [("x1", True)]

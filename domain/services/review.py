"""The review queue: trainers decide which proposals the bot learns.

A proposal is pending until a trainer approves it (it becomes an example of the
corrections dataset, with provenance) or rejects it (it never reaches a dataset).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

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
    Provenance,
    ReviewMode,
    Role,
    new_id,
    utcnow,
)
from domain.ports import Offload, UnitOfWork, UnitOfWorkFactory
from domain.text import similarity

log = structlog.get_logger()

CORRECTIONS_DESCRIPTION = "Corrected answers from the chat (made automatically)."
SIMILAR_AT = 0.5  # how alike a dataset prompt must be to be shown beside a proposal
MODE_KEY = "review.mode:"  # + guild id ("-" for the terminal): a guild's own review mode


@dataclass(frozen=True, slots=True)
class ReviewPolicy:
    """Who may teach the bot (``app`` fills it from ``ReviewSettings``)."""

    mode: ReviewMode = ReviewMode.REVIEW  # for a guild that did not choose one
    proposals_per_day: int = 20  # per member; trainers are not limited


async def mode_for(uow: UnitOfWork, policy: ReviewPolicy, guild_id: str | None) -> ReviewMode:
    """The review mode of a guild: its own choice, else the configured default."""
    chosen = await uow.state.get(MODE_KEY + (guild_id or "-"))
    try:
        return ReviewMode(chosen) if chosen else policy.mode
    except ValueError:  # a mode from a newer version: the safe default
        return ReviewMode.REVIEW


async def learn(
    uow: UnitOfWork,
    *,
    dataset: str,
    question: str,
    answer: str,
    rejected: str | None,
    provenance: Provenance,
) -> Example:
    """Add an approved correction to ``dataset`` (created when missing); not committed."""
    now = provenance.approved_at or utcnow()
    if await uow.datasets.get(dataset) is None:
        await uow.datasets.add(
            Dataset(name=dataset, created_at=now, description=CORRECTIONS_DESCRIPTION)
        )
    example = Example(
        id=new_id(),
        dataset=dataset,
        messages=(ChatMessage(Role.USER, question),),
        answer=answer,
        source=ExampleSource.CORRECTION,
        created_at=now,
        rejected=rejected,
        provenance=provenance,
    )
    await uow.datasets.add_examples([example])
    return example


async def _rejected_side(uow: UnitOfWork, proposal: Proposal) -> str | None:
    """The answer a proposal replaces, unless it was cut off (never learned from)."""
    prediction = await uow.predictions.get(proposal.prediction_id)
    if prediction is not None and not prediction.complete:
        return None
    return proposal.answer


@dataclass(frozen=True, slots=True)
class RelatedExample:
    """What the dataset already says about a proposal's question."""

    example: Example
    similarity: float
    conflicting: bool  # its answer differs from the proposed one


@dataclass(frozen=True, slots=True)
class ProposalView:
    proposal: Proposal
    related: tuple[RelatedExample, ...] = ()


@dataclass(frozen=True, slots=True)
class Decision:
    """What the edge tells the proposer after a trainer decided."""

    proposal: Proposal
    example: Example | None = None  # the example it became, when approved


class ReviewService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        offload: Offload,
        policy: ReviewPolicy | None = None,
        max_answer_chars: int = 20_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._policy = policy or ReviewPolicy()
        self._offload = offload
        self._max_answer = max_answer_chars
        self._clock = clock

    @property
    def policy(self) -> ReviewPolicy:
        return self._policy

    async def mode(self, guild_id: str | None) -> ReviewMode:
        async with self._uow() as uow:
            return await mode_for(uow, self._policy, guild_id)

    async def set_mode(self, actor: Actor, guild_id: str | None, mode: str) -> ReviewMode:
        """Choose who may teach the bot in a guild (trainers only)."""
        _check_trainer(actor)
        try:
            chosen = ReviewMode(mode.strip().lower())
        except ValueError:
            names = ", ".join(m.value for m in ReviewMode)
            raise InvalidInput(
                f"There is no review mode {mode!r}: choose one of {names}."
            ) from None
        async with self._uow() as uow:
            await uow.state.set(MODE_KEY + (guild_id or "-"), chosen.value)
            await uow.commit()
        log.info("review_mode_set", guild_id=guild_id, mode=chosen.value)
        return chosen

    async def count_pending(self, actor: Actor, *, guild_id: str | None = None) -> int:
        _check_trainer(actor)
        async with self._uow() as uow:
            return await uow.proposals.count_pending(guild_id=guild_id)

    async def pending(
        self, actor: Actor, *, guild_id: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[Proposal]:
        """Pending proposals, oldest first (trainers only)."""
        _check_trainer(actor)
        async with self._uow() as uow:
            return await uow.proposals.pending(guild_id=guild_id, offset=offset, limit=limit)

    async def mine(self, actor: Actor, *, limit: int = 20) -> list[Proposal]:
        """The actor's own proposals, newest first; nobody sees anyone else's."""
        async with self._uow() as uow:
            return await uow.proposals.by_proposer(actor.id, limit=limit)

    async def show(self, ref: str, actor: Actor) -> ProposalView:
        _check_trainer(actor)
        async with self._uow() as uow:
            proposal = await _find(uow, ref)
            examples = await uow.datasets.examples(proposal.dataset)  # approved ones
        # a whole dataset compared word by word: CPU work, off the event loop
        related = await self._offload(lambda: _related(proposal, examples))
        return ProposalView(proposal, related)

    async def approve(self, ref: str, actor: Actor) -> Decision:
        return await self._approve(ref, actor, answer=None)

    async def edit_and_approve(self, ref: str, actor: Actor, answer: str) -> Decision:
        body = answer.strip()
        if not body:
            raise InvalidInput("The answer is empty: write the right answer first.")
        if len(body) > self._max_answer:
            raise InvalidInput(
                f"The answer is too long ({len(body)} characters); the limit is {self._max_answer}."
            )
        return await self._approve(ref, actor, answer=body)

    async def reject(self, ref: str, actor: Actor, reason: str | None = None) -> Decision:
        _check_trainer(actor)
        why = (reason or "").strip()[:500] or None
        async with self._uow() as uow:
            proposal = _undecided(await _find(uow, ref))
            decided = replace(
                proposal,
                status=ProposalStatus.REJECTED,
                decided_by=actor,
                decided_at=self._clock(),
                reason=why,
            )
            await uow.proposals.update(decided)
            await uow.commit()
        log.info("proposal_rejected", proposal_id=proposal.id, with_reason=why is not None)
        return Decision(decided)

    async def _approve(self, ref: str, actor: Actor, *, answer: str | None) -> Decision:
        _check_trainer(actor)
        async with self._uow() as uow:
            proposal = _undecided(await _find(uow, ref))
            final = answer or proposal.proposed_answer
            if final is None:
                raise InvalidInput(
                    "Nobody proposed an answer for this one: edit it and write the right answer."
                )
            now = self._clock()
            example = await learn(
                uow,
                dataset=proposal.dataset,
                question=proposal.question,
                answer=final,
                rejected=await _rejected_side(uow, proposal),
                provenance=Provenance(
                    origin=ExampleSource.CORRECTION,
                    detail=f"proposal {proposal.id[:8]} by {proposal.proposer.name}",
                    proposed_by=proposal.proposer,
                    approved_by=actor,
                    approved_at=now,
                    proposal_id=proposal.id,
                    prediction_id=proposal.prediction_id,
                ),
            )
            decided = replace(
                proposal,
                status=ProposalStatus.APPROVED,
                decided_by=actor,
                decided_at=now,
                example_id=example.id,
                proposed_answer=proposal.proposed_answer
                if proposal.kind is ProposalKind.CORRECTION
                else final,
            )
            await uow.proposals.update(decided)
            await uow.commit()
        log.info("proposal_approved", proposal_id=proposal.id, edited=answer is not None)
        return Decision(decided, example)


def _check_trainer(actor: Actor) -> None:
    if not actor.is_trainer:
        raise PermissionDenied("Only trainers can review what the bot learns.")


def _undecided(proposal: Proposal) -> Proposal:
    if proposal.status is not ProposalStatus.PENDING:
        who = proposal.decided_by.name if proposal.decided_by else "someone"
        raise Conflict(f"This proposal was already {proposal.status.value} by {who}.")
    return proposal


async def _find(uow: UnitOfWork, ref: str) -> Proposal:
    key = ref.strip().lower()
    if key and all(c in "0123456789abcdef" for c in key):
        found = await uow.proposals.get(key)
        if found is not None:
            return found
        ids = await uow.proposals.with_prefix(key, limit=2)
        if len(ids) > 1:
            raise InvalidInput("More than one proposal starts with that: give more of the id.")
        if ids:
            found = await uow.proposals.get(ids[0])
            if found is not None:
                return found
    raise NotFound("There is no proposal with that id.", ref=key[:40])


def _related(proposal: Proposal, examples: Sequence[Example]) -> tuple[RelatedExample, ...]:
    """The dataset's examples closest to the proposal's question, at most five."""
    related = []
    for example in examples:
        score = similarity(proposal.question, example.prompt)
        if score >= SIMILAR_AT:
            conflicting = proposal.proposed_answer is not None and _norm(example.answer) != _norm(
                proposal.proposed_answer
            )
            related.append(RelatedExample(example, score, conflicting))
    related.sort(key=lambda r: -r.similarity)
    return tuple(related[:5])


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()

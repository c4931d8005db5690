"""Feedback on answers: ratings, comments and corrections.

What the bot learns is decided by trainers: a trainer's correction becomes an
example at once; a member's correction (in the guild's ``review`` mode) and any 👎
become proposals in the review queue (:mod:`domain.services.review`).

An answer that was cut off (``Prediction.complete`` is false) is never learned
from: a rating of it is stored as feedback like any other, and a correction of it
becomes an example whose answer is the correction, but the cut-off text is not
kept as its rejected side (it shows a broken stream, not what the model would
say). The outcomes say so, so that front ends can tell the user.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import structlog

from domain.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from domain.models import (
    Actor,
    Correction,
    Example,
    ExampleSource,
    Feedback,
    Prediction,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Provenance,
    Rating,
    ReviewMode,
    new_id,
    utcnow,
)
from domain.ports import UnitOfWork, UnitOfWorkFactory
from domain.services.review import ReviewPolicy, learn, mode_for

log = structlog.get_logger()

DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class RatingOutcome:
    """A stored rating, and whether the rated answer was cut off (never learned from)."""

    feedback: Feedback
    answer_cut_off: bool = False


@dataclass(frozen=True, slots=True)
class CorrectionOutcome:
    """What a correction became: an example at once, or a proposal for the trainers."""

    dataset: str
    correction: Correction | None = None  # learned: the example is ``correction.example_id``
    proposal: Proposal | None = None  # waiting for a trainer's decision
    answer_cut_off: bool = False  # the corrected answer was cut off: not kept as rejected

    @property
    def pending(self) -> bool:
        return self.correction is None


class FeedbackService:
    """Feedback about a prediction, which is referred to by its id or by the id of
    the message that carried it (a *prediction reference*)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        corrections_dataset: str = "corrections",
        review: ReviewPolicy | None = None,
        max_comment_chars: int = 4000,
        max_correction_chars: int = 20_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._dataset = corrections_dataset
        self._review = review or ReviewPolicy()
        self._max_comment = max_comment_chars
        self._max_correction = max_correction_chars
        self._clock = clock

    @property
    def corrections_dataset(self) -> str:
        return self._dataset

    async def resolve(self, ref: str) -> Prediction:
        """The prediction ``ref`` points at (``NotFound`` with a clear message)."""
        async with self._uow() as uow:
            return await _resolve(uow, ref)

    async def rate(self, ref: str, actor: Actor, rating: Rating) -> RatingOutcome:
        try:
            rating = Rating(rating)
        except ValueError:
            raise InvalidInput("A rating is 👍 or 👎.") from None
        async with self._uow() as uow:
            prediction = await _resolve(uow, ref)
            feedback = Feedback(
                id=new_id(),
                author=actor,
                created_at=self._clock(),
                prediction_id=prediction.id,
                rating=rating,
            )
            await uow.feedback.add(feedback)
            queued = rating is Rating.DOWN and await self._queue_downvote(uow, prediction, actor)
            await uow.commit()
        log.info("answer_rated", prediction_id=prediction.id, rating=int(rating), queued=queued)
        return RatingOutcome(feedback, answer_cut_off=not prediction.complete)

    async def _queue_downvote(self, uow: UnitOfWork, prediction: Prediction, actor: Actor) -> bool:
        """Put an answer rated 👎 in the review queue, once, so a trainer can write the
        right answer; not when it is already there or corrected, nor past the daily limit."""
        if await uow.feedback.corrections_for(prediction.id):
            return False
        if await uow.proposals.for_prediction(prediction.id):
            return False
        if not actor.is_trainer and await self._proposals_today(uow, actor) >= self._limit:
            return False
        await uow.proposals.add(self._proposal(prediction, actor, ProposalKind.DOWNVOTE, None))
        return True

    async def comment(self, actor: Actor, text: str, ref: str | None = None) -> Feedback:
        """Free-text feedback, about one answer when ``ref`` is given."""
        body = _clean(text, what="feedback", limit=self._max_comment)
        async with self._uow() as uow:
            prediction_id = None if ref is None else (await _resolve(uow, ref)).id
            feedback = Feedback(
                id=new_id(),
                author=actor,
                created_at=self._clock(),
                prediction_id=prediction_id,
                text=body,
            )
            await uow.feedback.add(feedback)
            await uow.commit()
        log.info("feedback_received", prediction_id=prediction_id, length=len(body))
        return feedback

    async def correctable(self, ref: str, actor: Actor) -> Prediction:
        """The answer ``ref`` points at, if ``actor`` may correct it — asked before they
        write a correction (``NotFound``, ``PermissionDenied``)."""
        async with self._uow() as uow:
            prediction = await _resolve(uow, ref)
        _check_may_correct(prediction, actor)
        return prediction

    async def correct(self, ref: str, actor: Actor, corrected_answer: str) -> CorrectionOutcome:
        """A better answer for one answer, all or nothing.

        Only the author of the question or a trainer may correct an answer. A
        trainer's correction (or anyone's in a guild in ``open`` mode) becomes an
        example of the corrections dataset at once, with the question as its prompt,
        the correction as its answer and the original as rejected. A member's
        correction in ``review`` mode becomes a pending proposal (at most
        ``proposals_per_day`` a day); in ``trainers-only`` mode it is refused.
        """
        answer = _clean(corrected_answer, what="correction", limit=self._max_correction)
        async with self._uow() as uow:
            prediction = await _resolve(uow, ref)
            _check_may_correct(prediction, actor)
            if " ".join(answer.split()) == " ".join(prediction.answer.split()):
                raise InvalidInput(
                    "The correction is the same as the original answer: write the better answer."
                )
            mode = await mode_for(uow, self._review, prediction.place.guild_id)
            if actor.is_trainer or mode is ReviewMode.OPEN:
                outcome = await self._learn(uow, prediction, actor, answer, mode)
            elif mode is ReviewMode.TRAINERS_ONLY:
                raise PermissionDenied(
                    "Here only trainers teach the bot: rate the answer 👎 and a trainer "
                    "will see it."
                )
            else:
                outcome = await self._propose(uow, prediction, actor, answer)
            await uow.commit()
        log.info(
            "answer_corrected",
            prediction_id=prediction.id,
            dataset=self._dataset,
            pending=outcome.pending,
            by_trainer=actor.is_trainer,
            mode=mode.value,
        )
        return outcome

    async def _learn(
        self, uow: UnitOfWork, prediction: Prediction, actor: Actor, answer: str, mode: ReviewMode
    ) -> CorrectionOutcome:
        now = self._clock()
        why = "" if actor.is_trainer else f" ({mode.value} review mode)"
        example = await learn(
            uow,
            dataset=self._dataset,
            question=prediction.prompt,
            answer=answer,
            rejected=prediction.answer if prediction.complete else None,
            provenance=Provenance(
                origin=ExampleSource.CORRECTION,
                detail=f"correction of answer {prediction.id[:8]}{why}",
                approved_by=actor,
                approved_at=now,
                prediction_id=prediction.id,
            ),
        )
        correction = Correction(
            id=new_id(),
            prediction_id=prediction.id,
            author=actor,
            corrected_answer=answer,
            example_id=example.id,
            dataset=self._dataset,
            created_at=now,
        )
        await uow.feedback.add_correction(correction)
        await self._settle(uow, prediction, actor, example, now)
        return CorrectionOutcome(
            self._dataset, correction=correction, answer_cut_off=not prediction.complete
        )

    async def _settle(
        self, uow: UnitOfWork, prediction: Prediction, actor: Actor, example: Example, now: datetime
    ) -> None:
        """An answer corrected for good leaves the queue: its pending proposals are
        decided by this correction."""
        for proposal in await uow.proposals.for_prediction(prediction.id):
            if proposal.status is ProposalStatus.PENDING:
                await uow.proposals.update(
                    replace(
                        proposal,
                        status=ProposalStatus.APPROVED
                        if proposal.kind is ProposalKind.DOWNVOTE
                        else ProposalStatus.REJECTED,
                        decided_by=actor,
                        decided_at=now,
                        reason=None
                        if proposal.kind is ProposalKind.DOWNVOTE
                        else "A trainer corrected this answer differently.",
                        example_id=example.id,
                    )
                )

    async def _propose(
        self, uow: UnitOfWork, prediction: Prediction, actor: Actor, answer: str
    ) -> CorrectionOutcome:
        made = await self._proposals_today(uow, actor)
        if made >= self._limit:
            raise LimitExceeded(
                f"You have made {made} proposals today, the most a member can make in a "
                "day: try again tomorrow.",
                limit=self._limit,
            )
        proposal = self._proposal(prediction, actor, ProposalKind.CORRECTION, answer)
        await uow.proposals.add(proposal)
        return CorrectionOutcome(
            self._dataset, proposal=proposal, answer_cut_off=not prediction.complete
        )

    @property
    def _limit(self) -> int:
        return self._review.proposals_per_day

    async def _proposals_today(self, uow: UnitOfWork, actor: Actor) -> int:
        return await uow.proposals.count_since(actor.id, self._clock() - DAY)

    def _proposal(
        self, prediction: Prediction, actor: Actor, kind: ProposalKind, answer: str | None
    ) -> Proposal:
        return Proposal(
            id=new_id(),
            kind=kind,
            prediction_id=prediction.id,
            question=prediction.prompt,
            answer=prediction.answer,
            proposer=actor,
            created_at=self._clock(),
            dataset=self._dataset,
            guild_id=prediction.place.guild_id,
            proposed_answer=answer,
        )


def _check_may_correct(prediction: Prediction, actor: Actor) -> None:
    if actor.id != prediction.author.id and not actor.is_trainer:
        raise PermissionDenied(
            "Only the person who asked the question or a trainer can correct this answer."
        )


async def _resolve(uow: UnitOfWork, ref: str) -> Prediction:
    key = ref.strip()
    if key:
        prediction = await uow.predictions.get(key) or await uow.predictions.by_message(key)
        if prediction is not None:
            return prediction
    raise NotFound(
        "I can't find that answer: use the id of an answer or of the message that carried it.",
        ref=key[:100],
    )


def _clean(text: str, *, what: str, limit: int) -> str:
    body = text.strip()
    if not body:
        raise InvalidInput(f"The {what} is empty: write something first.")
    if len(body) > limit:
        raise LimitExceeded(
            f"The {what} is too long ({len(body)} characters); the limit is {limit}.",
            length=len(body),
            limit=limit,
        )
    return body

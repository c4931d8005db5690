"""Feedback on answers: ratings, comments and corrections that become examples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import structlog

from domain.errors import InvalidInput, LimitExceeded, NotFound, PermissionDenied
from domain.models import (
    Actor,
    ChatMessage,
    Correction,
    Dataset,
    Example,
    ExampleSource,
    Feedback,
    Prediction,
    Rating,
    Role,
    new_id,
    utcnow,
)
from domain.ports import UnitOfWork, UnitOfWorkFactory

log = structlog.get_logger()

CORRECTIONS_DESCRIPTION = "Corrected answers from the chat (made automatically)."


class FeedbackService:
    """Feedback about a prediction, which is referred to by its id or by the id of
    the message that carried it (a *prediction reference*)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        corrections_dataset: str = "corrections",
        max_comment_chars: int = 4000,
        max_correction_chars: int = 20_000,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._dataset = corrections_dataset
        self._dataset_exists = False  # set once the corrections dataset is known to exist
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

    async def rate(self, ref: str, actor: Actor, rating: Rating) -> Feedback:
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
            await uow.commit()
        log.info("answer_rated", prediction_id=prediction.id, rating=int(rating))
        return feedback

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

    async def correct(self, ref: str, actor: Actor, corrected_answer: str) -> Correction:
        """Store a better answer and turn it into an example, all or nothing.

        Only the author of the question or a trainer may correct an answer. The
        example (in the corrections dataset, created when missing) has the question
        as its prompt, the correction as its answer and the original as rejected.
        """
        answer = _clean(corrected_answer, what="correction", limit=self._max_correction)
        async with self._uow() as uow:
            prediction = await _resolve(uow, ref)
            _check_may_correct(prediction, actor)
            if " ".join(answer.split()) == " ".join(prediction.answer.split()):
                raise InvalidInput(
                    "The correction is the same as the original answer: write the better answer."
                )
            now = self._clock()
            created = False
            if not self._dataset_exists and await uow.datasets.get(self._dataset) is None:
                await uow.datasets.add(
                    Dataset(name=self._dataset, created_at=now, description=CORRECTIONS_DESCRIPTION)
                )
                created = True
            example = Example(
                id=new_id(),
                dataset=self._dataset,
                messages=(ChatMessage(Role.USER, prediction.prompt),),
                answer=answer,
                source=ExampleSource.CORRECTION,
                created_at=now,
                rejected=prediction.answer,
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
            await uow.datasets.add_examples([example])
            await uow.feedback.add_correction(correction)
            await uow.commit()
        # Datasets are never deleted, so once it exists the check can be skipped.
        self._dataset_exists = True
        log.info(
            "answer_corrected",
            dataset_created=created,
            prediction_id=prediction.id,
            example_id=example.id,
            dataset=self._dataset,
            by_trainer=actor.is_trainer and actor.id != prediction.author.id,
        )
        return correction


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

"""Conversations: answer a question with history, demonstrations and the active model.

One turn costs one unit of work to read the history and one to store the answer
as a :class:`~domain.models.Prediction`; the active version is cached by
:class:`~domain.services.models.ModelService`. Prompt assembly is in
:mod:`domain.prompting`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter
from types import TracebackType
from typing import Self

import structlog

from domain.errors import InvalidInput, LimitExceeded, ModelTimeout, ModelUnavailable, NotFound
from domain.models import (
    Actor,
    ChatMessage,
    CompletionChunk,
    Ending,
    Exchange,
    GenerationOptions,
    ModelVersion,
    Place,
    Prediction,
    Usage,
    new_id,
    utcnow,
)
from domain.ports import ChatModel, ExampleMemory, UnitOfWorkFactory
from domain.prompting import (
    Demonstrations,
    build_messages,
    drop_superseded,
    pick_demonstrations,
    select_history,
)
from domain.services.models import ModelService

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ChatPolicy:
    """How a question becomes a prompt (``app`` fills it from ``ChatSettings``)."""

    system_prompt: str = ""
    max_history_turns: int = 10
    max_history_chars: int = 6000  # prompt + answer characters of the kept turns
    max_question_chars: int = 4000  # longer questions are refused
    demonstrations: int = 4  # examples retrieved from the version's memory
    correction_match: float = 0.8  # word similarity at which an example answers the question
    semantic_match: float | None = None  # the same by meaning, when the memory measures it
    memory_timeout: float = 2.0  # seconds; a slower memory is skipped for the turn
    max_answer_chars: int = 8000  # an answer is cut off here (a server may ignore max_tokens)
    answer_deadline: float = 120.0  # seconds for one whole answer, whatever the model does
    options: GenerationOptions = field(default_factory=GenerationOptions)


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    author: Actor
    place: Place


@dataclass(frozen=True, slots=True)
class _Turn:
    prompt: str
    version: ModelVersion
    messages: tuple[ChatMessage, ...]
    demonstrations: Demonstrations
    history_turns: int


class AnswerStream:
    """An answer arriving piece by piece: ``async for piece in stream``.

    When the model's stream ends, the answer is stored and ``prediction`` is set
    (before the ``async for`` loop ends); ``prediction.ending`` says whether it is
    whole or was cut off — the model's stream stopped before the model said it had
    finished (``CUT``), or it reached ``max_answer_chars`` or the model's
    ``max_tokens`` (``TOO_LONG``) — and every front end shows that. A half answer
    is never stored otherwise: if the consumer stops early (``break`` then
    ``aclose()``, or ``async with stream``), the model fails mid-way or the answer
    outlives ``answer_deadline`` (``ModelTimeout``), ``prediction`` stays ``None``
    and the conversation's history does not include the turn; the model's failure
    propagates as its :class:`~domain.errors.DomainError` (``ModelUnavailable`` …).
    ``text`` holds what has arrived so far.
    """

    def __init__(self, pieces: Callable[[AnswerStream], AsyncGenerator[str, None]]) -> None:
        self.prediction: Prediction | None = None
        self._parts: list[str] = []
        self._pieces = pieces(self)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> str:
        piece = await self._pieces.__anext__()
        self._parts.append(piece)
        return piece

    async def aclose(self) -> None:
        """Stop: the model's stream is closed and nothing is stored."""
        await self._pieces.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class ChatService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        llm: ChatModel,
        models: ModelService,
        policy: ChatPolicy,
        memory: ExampleMemory | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._llm = llm
        self._models = models
        self._policy = policy
        self._memory = memory
        self._clock = clock

    @property
    def policy(self) -> ChatPolicy:
        return self._policy

    async def answer(self, question: Question) -> Prediction:
        """Answer in the question's conversation and store the prediction."""
        prompt = self.validate(question.text)
        started = perf_counter()
        async with self._deadline():
            turn = await self._prepare(prompt, question.place.conversation_id)
            completion = await self._llm.complete(
                turn.messages, model=turn.version.llm_model, options=self._policy.options
            )
        text, ending = completion.text, completion.ending
        if len(text) > self._policy.max_answer_chars:
            text, ending = text[: self._policy.max_answer_chars], Ending.TOO_LONG
        latency_ms = (perf_counter() - started) * 1000
        return await self._store(question, turn, text, completion.usage, latency_ms, ending)

    def stream(self, question: Question) -> AnswerStream:
        """Answer piece by piece; see :class:`AnswerStream` for what is stored when."""
        prompt = self.validate(question.text)
        return AnswerStream(lambda stream: self._stream_pieces(question, prompt, stream))

    async def answer_once(self, prompt: str, *, version: ModelVersion) -> tuple[str, Usage]:
        """One answer from ``version`` without history; nothing is stored. The answer's
        deadline and ``max_answer_chars`` hold here too (evaluations use it)."""
        text = self.validate(prompt)
        async with self._deadline():
            demonstrations = await self._demonstrations(version, text)
            messages = build_messages(
                system_prompt=self._policy.system_prompt,
                question=text,
                demonstrations=demonstrations,
            )
            completion = await self._llm.complete(
                messages, model=version.llm_model, options=self._policy.options
            )
        return completion.text[: self._policy.max_answer_chars], completion.usage

    async def attach_message(self, prediction_id: str, message_id: str) -> None:
        """Remember the message that carried the answer (feedback can point at it)."""
        async with self._uow() as uow:
            if await uow.predictions.get(prediction_id) is None:
                raise NotFound("That answer is not known.", prediction_id=prediction_id)
            await uow.predictions.attach_message(prediction_id, message_id)
            await uow.commit()

    async def forget(self, conversation_id: str) -> int:
        """Start the conversation afresh; returns how many turns stop counting."""
        async with self._uow() as uow:
            forgotten = await uow.predictions.forget(conversation_id)
            await uow.commit()
        log.info("conversation_forgotten", conversation_id=conversation_id, turns=forgotten)
        return forgotten

    # ----------------------------------------------------------------- internals

    async def _stream_pieces(
        self, question: Question, prompt: str, stream: AnswerStream
    ) -> AsyncGenerator[str, None]:
        started = perf_counter()
        deadline = asyncio.get_running_loop().time() + self._policy.answer_deadline
        async with self._deadline(deadline):
            turn = await self._prepare(prompt, question.place.conversation_id)
        chunks = aiter(
            self._llm.stream(
                turn.messages, model=turn.version.llm_model, options=self._policy.options
            )
        )
        usage, ending = Usage(), Ending.COMPLETE
        room = self._policy.max_answer_chars  # characters the answer may still take
        parts: list[str] = []
        try:
            while True:
                async with self._deadline(deadline):
                    chunk: CompletionChunk | None = await anext(chunks, None)
                if chunk is None:
                    break
                if chunk.usage is not None:
                    usage = chunk.usage
                if chunk.ending is not None:
                    ending = chunk.ending
                if not chunk.text:
                    continue
                piece = chunk.text[:room]
                if piece:
                    room -= len(piece)
                    parts.append(piece)
                    yield piece
                if len(piece) < len(chunk.text):  # past max_answer_chars: stop reading
                    ending = Ending.TOO_LONG
                    break
        finally:
            closer: Callable[[], Awaitable[object]] | None = getattr(chunks, "aclose", None)
            if closer is not None:  # stop the model's stream when the consumer stops
                await closer()
        if ending is Ending.CUT and not parts:
            raise ModelUnavailable(
                "The language model stopped before it answered. Please try again."
            )
        latency_ms = (perf_counter() - started) * 1000
        stream.prediction = await self._store(
            question, turn, "".join(parts), usage, latency_ms, ending
        )

    def _deadline(self, when: float | None = None) -> _Deadline:
        """``async with``: ``ModelTimeout`` once the answer's deadline passes."""
        if when is None:
            when = asyncio.get_running_loop().time() + self._policy.answer_deadline
        return _Deadline(when, self._policy.answer_deadline)

    def validate(self, text: str) -> str:
        """The question as it will be asked; raises ``InvalidInput``/``LimitExceeded``."""
        prompt = text.strip()
        if not prompt:
            raise InvalidInput("Ask something first: the message is empty.")
        limit = self._policy.max_question_chars
        if len(prompt) > limit:
            raise LimitExceeded(
                f"That message is too long ({len(prompt)} characters); the limit is {limit}.",
                length=len(prompt),
                limit=limit,
            )
        return prompt

    async def _prepare(self, prompt: str, conversation_id: str) -> _Turn:
        version = await self._models.active()
        policy = self._policy
        history: list[Exchange] = []
        if policy.max_history_turns > 0 and policy.max_history_chars > 0:
            async with self._uow() as uow:
                recent = await uow.predictions.history(conversation_id, policy.max_history_turns)
            history = select_history(
                recent, max_turns=policy.max_history_turns, max_chars=policy.max_history_chars
            )
        demonstrations = await self._demonstrations(version, prompt)
        history = drop_superseded(history, prompt, demonstrations, match=policy.correction_match)
        messages = build_messages(
            system_prompt=policy.system_prompt,
            question=prompt,
            history=history,
            demonstrations=demonstrations,
        )
        return _Turn(prompt, version, messages, demonstrations, len(history))

    async def _demonstrations(self, version: ModelVersion, question: str) -> Demonstrations:
        """Examples from the version's memory; a failing memory gives none."""
        if version.memory is None or self._memory is None or self._policy.demonstrations <= 0:
            return Demonstrations()
        try:
            async with asyncio.timeout(self._policy.memory_timeout):
                retrieved = await self._memory.search(
                    version.memory, question, k=self._policy.demonstrations
                )
        except Exception as exc:  # a broken memory must not break chat
            log.warning(
                "memory_search_failed",
                version=version.name,
                memory=version.memory,
                error_type=type(exc).__name__,
            )
            return Demonstrations()
        return pick_demonstrations(
            retrieved,
            question,
            correction_match=self._policy.correction_match,
            semantic_match=self._policy.semantic_match,
        )

    async def _store(
        self,
        question: Question,
        turn: _Turn,
        answer: str,
        usage: Usage,
        latency_ms: float,
        ending: Ending = Ending.COMPLETE,
    ) -> Prediction:
        prediction = Prediction(
            id=new_id(),
            conversation_id=question.place.conversation_id,
            prompt=turn.prompt,
            context=turn.messages,
            answer=answer,
            model_version=turn.version.name,
            latency_ms=latency_ms,
            usage=usage,
            author=question.author,
            place=question.place,
            created_at=self._clock(),
            ending=ending,
        )
        async with self._uow() as uow:
            await uow.predictions.add(prediction)
            await uow.commit()
        log.debug(
            "question_answered",
            prediction_id=prediction.id,
            conversation_id=prediction.conversation_id,
            version=prediction.model_version,
            latency_ms=round(latency_ms, 1),
            history_turns=turn.history_turns,
            demonstrations=len(turn.demonstrations.examples),
            taught_match=turn.demonstrations.match is not None,
        )
        if not prediction.complete:
            log.warning(
                "answer_cut_off",
                prediction_id=prediction.id,
                ending=ending.value,
                chars=len(answer),
            )
        return prediction


class _Deadline:
    """An ``asyncio.timeout_at`` whose expiry is the model's ``ModelTimeout``.

    Entered afresh around each step of a stream (never across a ``yield``), so the
    time the consumer spends between pieces counts but the cancellation only ever
    hits our own await.
    """

    def __init__(self, when: float, seconds: float) -> None:
        self._timeout = asyncio.timeout_at(when)
        self._seconds = seconds

    async def __aenter__(self) -> None:
        await self._timeout.__aenter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            await self._timeout.__aexit__(exc_type, exc, tb)
        except TimeoutError:
            log.warning("answer_deadline_passed", seconds=self._seconds)
            raise ModelTimeout(
                "The language model took too long to answer. Please try again.",
                seconds=self._seconds,
            ) from None

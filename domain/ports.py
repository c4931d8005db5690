"""Ports: what the domain needs from the outside world, in domain types only.

Adapters implement these structurally (no inheritance needed); tests pass the
working in-memory fakes from ``tests/fakes``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Protocol, Self, TypeVar

from domain.models import (
    Artifact,
    Audio,
    ChatMessage,
    Completion,
    CompletionChunk,
    Correction,
    Dataset,
    EvalComparison,
    EvalRun,
    Example,
    Exchange,
    Feedback,
    GenerationOptions,
    JobOwner,
    ModelVersion,
    Prediction,
    Proposal,
    Removal,
    RetrievedExample,
    Speech,
    TrainingJob,
    TrainingOption,
    TrainingOutcome,
    Transcript,
)

_T = TypeVar("_T")

# --------------------------------------------------------------------------- storage


class PredictionRepository(Protocol):
    async def add(self, prediction: Prediction) -> None: ...
    async def get(self, prediction_id: str) -> Prediction | None: ...
    async def by_message(self, message_id: str) -> Prediction | None: ...
    async def attach_message(self, prediction_id: str, message_id: str) -> None: ...
    async def recent(self, conversation_id: str, limit: int) -> list[Prediction]:
        """The newest ``limit`` predictions of a conversation, oldest first."""
        ...

    async def history(self, conversation_id: str, limit: int) -> list[Exchange]:
        """Like ``recent`` but only the prompts and answers (cheap: no context)."""
        ...

    async def forget(self, conversation_id: str) -> int:
        """Drop the conversation from memory (predictions stay for training).

        Returns how many predictions stop counting as history.
        """
        ...


class FeedbackRepository(Protocol):
    async def add(self, feedback: Feedback) -> None: ...
    async def for_prediction(self, prediction_id: str) -> list[Feedback]: ...
    async def add_correction(self, correction: Correction) -> None: ...
    async def corrections_for(self, prediction_id: str) -> list[Correction]: ...


class DatasetRepository(Protocol):
    async def add(self, dataset: Dataset) -> None: ...
    async def get(self, name: str) -> Dataset | None:
        """The dataset with its current ``example_count``."""
        ...

    async def all(self) -> list[Dataset]:
        """Every dataset, by name, with counts."""
        ...

    async def add_examples(self, examples: Sequence[Example]) -> None:
        """Store examples (their datasets exist); all of them or none."""
        ...

    async def examples(
        self,
        name: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        include_removed: bool = False,
    ) -> list[Example]:
        """Examples of a dataset in insertion order; removed ones only when asked."""
        ...

    async def example(self, example_id: str) -> Example | None:
        """One example of any dataset, removed or not."""
        ...

    async def example_ids_with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids of examples that start with ``prefix`` (hex digits only), at most ``limit``."""
        ...

    async def remove_example(self, example_id: str, removal: Removal) -> None:
        """Mark an example removed (kept, never trained on or exported again)."""
        ...


class ProposalRepository(Protocol):
    async def add(self, proposal: Proposal) -> None: ...
    async def get(self, proposal_id: str) -> Proposal | None: ...
    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids of proposals that start with ``prefix`` (hex digits only), at most ``limit``."""
        ...

    async def update(self, proposal: Proposal) -> None: ...
    async def pending(
        self, *, guild_id: str | None = None, offset: int = 0, limit: int = 20
    ) -> list[Proposal]:
        """Pending proposals, oldest first; of one guild when ``guild_id`` is given."""
        ...

    async def count_pending(self, *, guild_id: str | None = None) -> int: ...
    async def by_proposer(self, proposer_id: str, *, limit: int = 20) -> list[Proposal]:
        """One member's proposals, newest first."""
        ...

    async def count_since(self, proposer_id: str, since: datetime) -> int:
        """How many proposals the member made since ``since``."""
        ...

    async def for_prediction(self, prediction_id: str) -> list[Proposal]:
        """Proposals about one answer, oldest first."""
        ...


class StateRepository(Protocol):
    """Small named values: the selected dataset, the active model version."""

    async def get(self, key: str) -> str | None: ...
    async def set(self, key: str, value: str | None) -> None: ...


class JobRepository(Protocol):
    async def add(self, job: TrainingJob, snapshot: Sequence[Example]) -> None:
        """Store a new job and the frozen copy of the examples it trains on."""
        ...

    async def get(self, job_id: str) -> TrainingJob | None: ...
    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids of jobs that start with ``prefix`` (hex digits only), at most ``limit``."""
        ...

    async def update(self, job: TrainingJob) -> None: ...
    async def all(self, *, limit: int = 20) -> list[TrainingJob]:
        """Newest first."""
        ...

    async def unfinished(self) -> list[TrainingJob]:
        """Jobs queued or running, oldest first."""
        ...

    async def beat(self, owner_token: str, at: datetime) -> int:
        """Set ``heartbeat_at`` of the unfinished jobs owned by ``owner_token``; how many."""
        ...

    async def release(self, owner_token: str) -> int:
        """The unfinished jobs owned by ``owner_token`` are owned by nobody; how many."""
        ...

    async def take_over(self, job: TrainingJob, *, owner_token: str | None) -> bool:
        """Store ``job`` (like ``update``) only if the stored one is unfinished and still
        owned by ``owner_token`` (``None``: by nobody); whether it was stored."""
        ...

    async def snapshot(self, job_id: str) -> list[Example]: ...
    async def snapshot_has(self, job_id: str, example_id: str) -> bool:
        """Whether the job trained on that example."""
        ...


class ModelVersionRepository(Protocol):
    async def add(self, version: ModelVersion) -> None: ...
    async def get(self, name: str) -> ModelVersion | None: ...
    async def all(self) -> list[ModelVersion]:
        """Oldest first."""
        ...

    async def record_activation(self, name: str, actor_id: str, at: datetime) -> None: ...
    async def activations(self, *, limit: int = 20) -> list[str]:
        """Names of the last activated versions, newest first (repeats kept)."""
        ...


class EvalRepository(Protocol):
    async def add(self, run: EvalRun) -> None: ...
    async def get(self, run_id: str) -> EvalRun | None: ...
    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        """Ids of runs that start with ``prefix`` (hex digits only), at most ``limit``."""
        ...

    async def all(self, *, model_version: str | None = None, limit: int = 20) -> list[EvalRun]:
        """Newest first."""
        ...

    async def running(self) -> list[EvalRun]:
        """Runs whose status is ``running``, oldest first."""
        ...

    async def beat(self, owner_token: str, at: datetime) -> int:
        """Set ``heartbeat_at`` of the running runs owned by ``owner_token``; how many."""
        ...

    async def take_over(self, run: EvalRun, *, owner_token: str | None) -> bool:
        """Store ``run`` (like ``add``) only if the stored one is not complete and still
        owned by ``owner_token``; whether it was stored."""
        ...


class UnitOfWork(Protocol):
    """One transaction over every repository.

    ``async with uow: ...; await uow.commit()``; leaving without commit rolls back.
    """

    @property
    def predictions(self) -> PredictionRepository: ...
    @property
    def feedback(self) -> FeedbackRepository: ...
    @property
    def datasets(self) -> DatasetRepository: ...
    @property
    def state(self) -> StateRepository: ...
    @property
    def jobs(self) -> JobRepository: ...
    @property
    def models(self) -> ModelVersionRepository: ...
    @property
    def evals(self) -> EvalRepository: ...
    @property
    def proposals(self) -> ProposalRepository: ...

    async def __aenter__(self) -> Self: ...
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    async def commit(self) -> None: ...
    async def rollback(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]


# --------------------------------------------------------------------------- language model


class ChatModel(Protocol):
    """An OpenAI-compatible chat completion endpoint."""

    async def complete(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> Completion: ...

    def stream(
        self,
        messages: Sequence[ChatMessage],
        *,
        model: str,
        options: GenerationOptions | None = None,
    ) -> AsyncIterator[CompletionChunk]: ...

    async def check(self) -> str | None:
        """None when the endpoint answers; otherwise one line saying what to configure."""
        ...


# --------------------------------------------------------------------------- memory & training


class ExampleMemory(Protocol):
    """Retrieval over the examples a training job turned into a memory."""

    async def search(self, memory: str, query: str, *, k: int) -> list[RetrievedExample]:
        """At most ``k`` of the most relevant examples of ``memory`` for ``query``, best
        first (``score`` never rises down the list), each example as it was trained on.

        Nothing relevant (or a query of punctuation only, or ``k <= 0``) gives ``[]``.
        A memory that does not exist raises ``NotFound``; a name no memory can have
        raises a ``DomainError`` saying so. Once the memory's owner has closed it
        (``aclose()``, which may be called twice), a search raises ``RuntimeError``.
        """
        ...


ProgressReporter = Callable[[float, str], Awaitable[None]]
"""``await report(fraction, message)``; fraction in 0..1."""


class JobReporter(Protocol):
    """What the training service hands a backend as ``report``: a ``ProgressReporter``
    that can also store the provider's id of the job and say why a job is stopped.

    - ``await report(fraction, message)``: progress (clamped, never backwards).
    - ``await report.record_external_id(id)``: stored on the job at once
      (``TrainingJob.external_id``), so that ``resume`` finds it after a restart.
    - ``report.cancel_requested``: when ``asyncio.CancelledError`` arrives, True if a
      trainer cancelled the job (stop the provider's job too), False if the process
      is shutting down (leave it running: the job is resumed at the next start).
    """

    async def __call__(self, fraction: float, message: str) -> None: ...
    async def record_external_id(self, external_id: str) -> None: ...
    @property
    def cancel_requested(self) -> bool: ...


class TrainingBackend(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def supports_resume(self) -> bool: ...
    @property
    def options(self) -> Sequence[TrainingOption]:
        """Job options beyond the common ones (``activate``)."""
        ...

    async def train(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: JobReporter,
    ) -> TrainingOutcome:
        """Train on the snapshot and say what it made.

        Progress goes to ``report`` (0..1, never backwards, 1.0 once done). An empty
        snapshot raises ``TrainingFailed``. Cancellation arrives as
        ``asyncio.CancelledError`` and propagates: after a trainer's cancel
        (``report.cancel_requested``) nothing the job made is left to use; after a
        shutdown, work a provider does for the job is left running for ``resume``.
        """
        ...

    async def resume(
        self,
        job: TrainingJob,
        examples: Sequence[Example],
        *,
        base: ModelVersion,
        report: JobReporter,
    ) -> TrainingOutcome:
        """Carry on a job that was running when the process stopped.

        ``job.external_id`` is what ``report.record_external_id`` stored, if anything.
        A job the backend already finished gives the same outcome again (never a
        second model or memory); one that had not got far is trained from the snapshot.
        """
        ...


# --------------------------------------------------------------------------- files


class ArtifactStore(Protocol):
    """Files addressed by validated names, never outside the store."""

    async def write(self, name: str, data: bytes) -> Artifact: ...
    async def read(self, name: str) -> bytes:
        """``NotFound`` when nothing has the name; ``PermissionDenied`` when something
        the store will not hand out has it (a planted link, a folder, a FIFO)."""
        ...

    async def all(self) -> list[Artifact]: ...
    async def exists(self, name: str) -> bool: ...


# --------------------------------------------------------------------------- reports


class ChartRenderer(Protocol):
    """Draws an evaluation run or a comparison of two runs as a PNG image."""

    async def render(self, subject: EvalRun | EvalComparison) -> bytes:
        """PNG bytes; the drawing happens off the event loop."""
        ...


# --------------------------------------------------------------------------- speech


class SpeechToText(Protocol):
    async def transcribe(self, audio: Audio, *, language: str | None = None) -> Transcript:
        """What is said in ``audio``: in ``language`` (a code such as ``en``) when given,
        else in the language heard, which ``Transcript.language`` names. The segments'
        texts, joined by spaces, are the text; they lie within ``duration`` seconds.

        Refused with ``SpeechError`` (``params["reason"]``): an empty clip (``empty``),
        one over the adapter's size limit (``too_big``, ``limit_bytes``), bytes that are
        no sound file (``not_audio``), a clip after the adapter was closed (``closed``).
        A real recogniser also refuses clips over its length limit (``too_long``),
        clips with no speech in them (``no_speech``) and clips beyond its queue (``busy``).
        """
        ...


class TextToSpeech(Protocol):
    def synthesize(self, text: str, *, language: str | None = None) -> AsyncIterator[Speech]:
        """Speech sentence by sentence, so playback can start after the first."""
        ...


# --------------------------------------------------------------------------- processes


class ProcessProbe(Protocol):
    """Whether the process that owns a job still runs, as far as this host can tell."""

    def alive(self, owner: JobOwner) -> bool | None:
        """``False``: it surely stopped (this host, no such pid); ``True``: a process with
        that pid runs here; ``None``: it cannot tell (another host)."""
        ...


# --------------------------------------------------------------------------- work off the loop


class Offload(Protocol):
    """Runs a blocking, CPU-bound function outside the event loop (a bounded pool)."""

    async def __call__(self, fn: Callable[[], _T]) -> _T: ...

"""Domain types: frozen dataclasses and enums, nothing else.

Identifiers are strings (uuid4 hex made by :func:`new_id`); times are aware UTC
datetimes. Sequences are tuples, so they cannot be changed through a value. One field
is a mapping (``TrainingJob.options``), a plain dict that nothing mutates after
construction: so not every value is hashable, and none is used as a dict key or in a
set.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime


def new_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- people


@dataclass(frozen=True, slots=True)
class Actor:
    """Whoever asks for something: a Discord member, a CLI user."""

    id: str
    name: str
    is_trainer: bool = False


@dataclass(frozen=True, slots=True)
class Place:
    """Where a message was asked. ``conversation_id`` keys the memory."""

    conversation_id: str
    guild_id: str | None = None
    channel_id: str | None = None
    thread_id: str | None = None


# --------------------------------------------------------------------------- chat


class Role(enum.StrEnum):
    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Ending(enum.StrEnum):
    """How an answer ended: whole, or cut off (and why)."""

    COMPLETE = "complete"
    CUT = "cut"  # the model's stream stopped before the model said the answer was finished
    TOO_LONG = "too_long"  # the answer reached a length limit (ours, or the model's max_tokens)


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    usage: Usage = Usage()
    ending: Ending = Ending.COMPLETE


@dataclass(frozen=True, slots=True)
class CompletionChunk:
    """One piece of a streamed completion; the last ones may carry usage and the
    ending (a stream that never says how it ended is taken as complete)."""

    text: str
    usage: Usage | None = None
    ending: Ending | None = None


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Prediction:
    """One answer the bot gave, with everything needed to learn from it."""

    id: str
    conversation_id: str
    prompt: str
    context: tuple[ChatMessage, ...]  # every message sent to the model
    answer: str
    model_version: str
    latency_ms: float
    usage: Usage
    author: Actor
    place: Place
    created_at: datetime
    message_id: str | None = None  # the message that carried the answer
    ending: Ending = Ending.COMPLETE  # cut off: shown so, never learned from

    @property
    def complete(self) -> bool:
        return self.ending is Ending.COMPLETE


@dataclass(frozen=True, slots=True)
class Exchange:
    """One question and the answer it got: a turn of a conversation's history."""

    prompt: str
    answer: str


class Rating(enum.IntEnum):
    DOWN = -1
    UP = 1


@dataclass(frozen=True, slots=True)
class Feedback:
    id: str
    author: Actor
    created_at: datetime
    prediction_id: str | None = None
    rating: Rating | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True)
class Correction:
    id: str
    prediction_id: str
    author: Actor
    corrected_answer: str
    example_id: str  # the dataset example it became
    dataset: str
    created_at: datetime


# --------------------------------------------------------------------------- datasets


class ExampleSource(enum.StrEnum):
    MANUAL = "manual"
    IMPORT = "import"
    CORRECTION = "correction"


@dataclass(frozen=True, slots=True)
class Provenance:
    """Where an example came from and who let it in.

    ``detail`` says it in words a trainer reads ("bot-help.jsonl line 3",
    "correction of answer 1f2e…", "proposal 9a8b… by Ann"); ``proposal_id`` and
    ``prediction_id`` point at what it was made from, when anything.
    """

    origin: ExampleSource
    detail: str = ""
    proposed_by: Actor | None = None
    approved_by: Actor | None = None
    approved_at: datetime | None = None
    proposal_id: str | None = None
    prediction_id: str | None = None


@dataclass(frozen=True, slots=True)
class Removal:
    """An example taken out of its dataset: kept, but never trained on or exported."""

    by: Actor
    at: datetime


@dataclass(frozen=True, slots=True)
class Example:
    """A teaching example.

    ``messages`` is the input (system/user/assistant turns ending with the user's
    message), ``answer`` the ideal reply, ``rejected`` a worse reply (preference
    data), ``label`` and ``name`` come from labelled sets.
    """

    id: str
    dataset: str
    messages: tuple[ChatMessage, ...]
    answer: str
    source: ExampleSource
    created_at: datetime
    rejected: str | None = None
    label: str | None = None
    name: str | None = None
    provenance: Provenance | None = None
    removed: Removal | None = None

    @property
    def prompt(self) -> str:
        for message in reversed(self.messages):
            if message.role is Role.USER:
                return message.content
        return ""


class ReviewMode(enum.StrEnum):
    """Who may teach the bot in a guild."""

    REVIEW = "review"  # a member's correction waits for a trainer's yes
    TRAINERS_ONLY = "trainers-only"  # only trainers correct answers
    OPEN = "open"  # a member's correction is learned at once (small private servers)


class ProposalKind(enum.StrEnum):
    CORRECTION = "correction"  # a member proposed a better answer
    DOWNVOTE = "downvote"  # an answer rated 👎 that nobody corrected yet


class ProposalStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Proposal:
    """Something a member would like the bot to learn, waiting for a trainer."""

    id: str
    kind: ProposalKind
    prediction_id: str
    question: str
    answer: str  # the bot's answer
    proposer: Actor
    created_at: datetime
    dataset: str  # where it goes once approved
    guild_id: str | None = None
    proposed_answer: str | None = None  # None for a 👎 nobody corrected
    status: ProposalStatus = ProposalStatus.PENDING
    decided_by: Actor | None = None
    decided_at: datetime | None = None
    reason: str | None = None  # why it was rejected
    example_id: str | None = None  # what it became


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    created_at: datetime
    description: str = ""
    example_count: int = 0  # examples that count (not removed)
    removed_count: int = 0


# --------------------------------------------------------------------------- training


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class JobOwner:
    """The process that holds a queued or running job: its host, pid and a random token.

    The token tells two processes apart that had the same pid (one after the other,
    or two services in one process); the host and pid let another process on the same
    host see at once that the owner is gone.
    """

    host: str
    pid: int
    token: str


@dataclass(frozen=True, slots=True)
class TrainingJob:
    id: str
    dataset: str
    backend: str
    status: JobStatus
    created_by: Actor
    created_at: datetime
    example_count: int  # size of the frozen snapshot
    options: Mapping[str, str] = field(default_factory=dict)
    progress: float = 0.0  # 0..1
    message: str = ""  # last progress message
    error: str | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    model_version: str | None = None  # produced on success
    base_model_version: str | None = None  # the version it trained from
    external_id: str | None = None  # e.g. a provider's fine-tuning job id
    cancel_requested: bool = False
    owner: JobOwner | None = None  # who holds it while unfinished; None: handed back
    heartbeat_at: datetime | None = None  # when the owner last said it still holds it


@dataclass(frozen=True, slots=True)
class TrainingOption:
    """A job option a backend accepts; empty ``choices`` means any short text."""

    name: str
    description: str = ""
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TrainingOutcome:
    """What a backend produced: the LLM model id and its memory, if any."""

    llm_model: str
    memory: str | None = None
    notes: str = ""


@dataclass(frozen=True, slots=True)
class ModelVersion:
    """A named thing the bot can answer with: LLM model id + optional memory."""

    name: str
    llm_model: str
    created_at: datetime
    memory: str | None = None
    job_id: str | None = None
    notes: str = ""


# --------------------------------------------------------------------------- memory


@dataclass(frozen=True, slots=True)
class RetrievedExample:
    """An example a memory found for a question. ``score`` ranks (its scale is the
    memory's own); ``similarity`` is the question's cosine similarity to the
    example's prompt (0..1) when the memory can measure it by meaning, else None."""

    example: Example
    score: float
    similarity: float | None = None


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True, slots=True)
class TestCase:
    """One question and what its answer is checked for.

    ``expected`` is the whole expected answer (``exact`` compares with it, and it is
    a required phrase); ``require`` are further phrases that must all appear;
    ``forbid`` are phrases none of which may appear.
    """

    __test__ = False  # not a pytest class

    input: str
    expected: str | None = None
    label: str | None = None
    name: str | None = None
    require: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()

    @property
    def required(self) -> tuple[str, ...]:
        """Every phrase the answer must contain: ``expected`` first, then ``require``."""
        return (self.expected, *self.require) if self.expected is not None else self.require


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: TestCase
    answer: str
    exact: bool
    contains: bool  # every required phrase appears (False when none is required)
    label_correct: bool | None  # None when the case has no label
    error: str | None = None
    missing: tuple[str, ...] = ()  # required phrases the answer lacks
    forbidden: tuple[str, ...] = ()  # forbidden phrases the answer has

    @property
    def passed(self) -> bool:
        if self.error is not None or self.forbidden:
            return False
        if self.label_correct is not None:
            return self.label_correct
        if self.case.required:
            return not self.missing and (self.exact or self.contains)
        return True  # only forbidden phrases to check, and none appeared


@dataclass(frozen=True, slots=True)
class EvalScores:
    cases: int
    passed: int
    exact: float
    contains: float
    label_accuracy: float | None
    errors: int

    @property
    def pass_rate(self) -> float:
        return self.passed / self.cases if self.cases else 0.0


class EvalStatus(enum.StrEnum):
    RUNNING = "running"  # answering; stored as it goes
    INTERRUPTED = "interrupted"  # its process stopped before the end: it can be resumed
    COMPLETE = "complete"


@dataclass(frozen=True, slots=True)
class EvalRun:
    id: str
    model_version: str
    created_at: datetime
    results: tuple[CaseResult, ...]
    scores: EvalScores  # of ``results``: the cases answered so far
    created_by: Actor
    name: str = ""
    status: EvalStatus = EvalStatus.COMPLETE
    pending: tuple[TestCase, ...] = ()  # the cases not answered yet
    owner: JobOwner | None = None  # the process answering it (while running)
    heartbeat_at: datetime | None = None  # when that process last said so


class CaseChange(enum.StrEnum):
    FIXED = "fixed"
    BROKEN = "broken"
    STILL_PASSING = "still_passing"
    STILL_FAILING = "still_failing"


@dataclass(frozen=True, slots=True)
class CaseComparison:
    input: str
    before: CaseResult
    after: CaseResult
    change: CaseChange


@dataclass(frozen=True, slots=True)
class EvalComparison:
    before: EvalRun
    after: EvalRun
    cases: tuple[CaseComparison, ...]
    pass_rate_delta: float
    unmatched: int  # cases present in only one run


# --------------------------------------------------------------------------- artifacts & audio


@dataclass(frozen=True, slots=True)
class Artifact:
    name: str
    size: int
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Audio:
    """Encoded audio as received (any container) with what is known about it."""

    data: bytes
    filename: str = "audio"
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class TranscriptSegment:
    start: float
    end: float
    text: str


@dataclass(frozen=True, slots=True)
class Transcript:
    text: str
    language: str
    duration: float
    segments: tuple[TranscriptSegment, ...] = ()


@dataclass(frozen=True, slots=True)
class Speech:
    """Synthesized speech: mono signed 16-bit little-endian PCM."""

    pcm: bytes
    sample_rate: int
    text: str

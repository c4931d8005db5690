"""In-memory storage with real transaction semantics.

A :class:`FakeDatabase` holds committed state; each :class:`FakeUnitOfWork`
reads and writes a private copy and keeps a journal of its writes, which
``commit()`` replays on the committed state. A unit of work left without commit
changes nothing, and two units of work committing in turn both land — as with
the SQL adapter.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from domain.errors import AlreadyExists, NotFound
from domain.models import (
    Correction,
    Dataset,
    EvalRun,
    EvalStatus,
    Example,
    Exchange,
    Feedback,
    ModelVersion,
    Prediction,
    Proposal,
    ProposalStatus,
    Removal,
    TrainingJob,
)


@dataclasses.dataclass
class _State:
    predictions: dict[str, Prediction] = dataclasses.field(default_factory=dict)
    forgotten: set[str] = dataclasses.field(default_factory=set)  # prediction ids
    feedback: list[Feedback] = dataclasses.field(default_factory=list)
    corrections: list[Correction] = dataclasses.field(default_factory=list)
    datasets: dict[str, Dataset] = dataclasses.field(default_factory=dict)
    examples: dict[str, list[Example]] = dataclasses.field(default_factory=dict)
    state: dict[str, str] = dataclasses.field(default_factory=dict)
    jobs: dict[str, TrainingJob] = dataclasses.field(default_factory=dict)
    snapshots: dict[str, list[Example]] = dataclasses.field(default_factory=dict)
    versions: dict[str, ModelVersion] = dataclasses.field(default_factory=dict)
    activations: list[str] = dataclasses.field(default_factory=list)
    evals: dict[str, EvalRun] = dataclasses.field(default_factory=dict)
    proposals: dict[str, Proposal] = dataclasses.field(default_factory=dict)

    def copy(self) -> _State:
        return _State(
            predictions=dict(self.predictions),
            forgotten=set(self.forgotten),
            feedback=list(self.feedback),
            corrections=list(self.corrections),
            datasets=dict(self.datasets),
            examples={k: list(v) for k, v in self.examples.items()},
            state=dict(self.state),
            jobs=dict(self.jobs),
            snapshots={k: list(v) for k, v in self.snapshots.items()},
            versions=dict(self.versions),
            activations=list(self.activations),
            evals=dict(self.evals),
            proposals=dict(self.proposals),
        )


_Mutate = Callable[[Callable[[_State], object]], None]


class FakeDatabase:
    def __init__(self) -> None:
        self.committed = _State()
        self.commits = 0

    def unit_of_work(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)


class _Predictions:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, prediction: Prediction) -> None:
        def op(s: _State) -> None:
            s.predictions[prediction.id] = prediction

        self._mutate(op)

    async def get(self, prediction_id: str) -> Prediction | None:
        return self._s.predictions.get(prediction_id)

    async def by_message(self, message_id: str) -> Prediction | None:
        for p in self._s.predictions.values():
            if p.message_id == message_id:
                return p
        return None

    async def attach_message(self, prediction_id: str, message_id: str) -> None:
        for other in self._s.predictions.values():
            if other.message_id == message_id and other.id != prediction_id:
                raise AlreadyExists("That message already carries another answer.")

        def op(s: _State) -> None:
            p = s.predictions.get(prediction_id)
            if p is not None:
                s.predictions[prediction_id] = dataclasses.replace(p, message_id=message_id)

        self._mutate(op)

    async def recent(self, conversation_id: str, limit: int) -> list[Prediction]:
        if limit <= 0:
            return []
        ps = [
            p
            for p in self._s.predictions.values()
            if p.conversation_id == conversation_id and p.id not in self._s.forgotten
        ]
        ps.sort(key=lambda p: p.created_at)
        return ps[-limit:]

    async def history(self, conversation_id: str, limit: int) -> list[Exchange]:
        return [Exchange(p.prompt, p.answer) for p in await self.recent(conversation_id, limit)]

    async def forget(self, conversation_id: str) -> int:
        ids = {
            p.id
            for p in self._s.predictions.values()
            if p.conversation_id == conversation_id and p.id not in self._s.forgotten
        }

        def op(s: _State) -> None:
            s.forgotten |= ids

        self._mutate(op)
        return len(ids)


class _Feedback:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, feedback: Feedback) -> None:
        if any(f.id == feedback.id for f in self._s.feedback):
            raise AlreadyExists("That feedback is already stored.")
        self._mutate(lambda s: s.feedback.append(feedback))

    async def for_prediction(self, prediction_id: str) -> list[Feedback]:
        return [f for f in self._s.feedback if f.prediction_id == prediction_id]

    async def add_correction(self, correction: Correction) -> None:
        if any(c.id == correction.id for c in self._s.corrections):
            raise AlreadyExists("That correction is already stored.")
        self._mutate(lambda s: s.corrections.append(correction))

    async def corrections_for(self, prediction_id: str) -> list[Correction]:
        return [c for c in self._s.corrections if c.prediction_id == prediction_id]


class _Datasets:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, dataset: Dataset) -> None:
        def op(s: _State) -> None:
            s.datasets[dataset.name] = dataclasses.replace(dataset, example_count=0)
            s.examples.setdefault(dataset.name, [])

        self._mutate(op)

    async def get(self, name: str) -> Dataset | None:
        d = self._s.datasets.get(name)
        if d is None:
            return None
        rows = self._s.examples.get(name, [])
        removed = sum(1 for e in rows if e.removed is not None)
        return dataclasses.replace(d, example_count=len(rows) - removed, removed_count=removed)

    async def all(self) -> list[Dataset]:
        out = []
        for name in sorted(self._s.datasets):
            d = await self.get(name)
            assert d is not None
            out.append(d)
        return out

    async def add_examples(self, examples: Sequence[Example]) -> None:
        for e in examples:
            if e.dataset not in self._s.datasets:
                raise NotFound(f"There is no dataset named {e.dataset!r}.")
        rows = list(examples)

        def op(s: _State) -> None:
            for e in rows:
                s.examples[e.dataset].append(e)

        self._mutate(op)

    async def examples(
        self,
        name: str,
        *,
        offset: int = 0,
        limit: int | None = None,
        include_removed: bool = False,
    ) -> list[Example]:
        rows = self._s.examples.get(name, [])
        if not include_removed:
            rows = [e for e in rows if e.removed is None]
        offset = max(offset, 0)
        end = None if limit is None else offset + max(limit, 0)
        return list(rows[offset:end])

    async def example(self, example_id: str) -> Example | None:
        for rows in self._s.examples.values():
            for e in rows:
                if e.id == example_id:
                    return e
        return None

    async def example_ids_with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        ids = sorted(e.id for rows in self._s.examples.values() for e in rows)
        return [i for i in ids if i.startswith(prefix)][: max(0, limit)]

    async def remove_example(self, example_id: str, removal: Removal) -> None:
        if await self.example(example_id) is None:
            raise NotFound("That example does not exist.")

        def op(s: _State) -> None:
            for rows in s.examples.values():
                for i, e in enumerate(rows):
                    if e.id == example_id and e.removed is None:
                        rows[i] = dataclasses.replace(e, removed=removal)

        self._mutate(op)


class _StateRepo:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def get(self, key: str) -> str | None:
        return self._s.state.get(key)

    async def set(self, key: str, value: str | None) -> None:
        def op(s: _State) -> None:
            if value is None:
                s.state.pop(key, None)
            else:
                s.state[key] = value

        self._mutate(op)


class _Jobs:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, job: TrainingJob, snapshot: Sequence[Example]) -> None:
        rows = list(snapshot)

        def op(s: _State) -> None:
            s.jobs[job.id] = job
            s.snapshots[job.id] = list(rows)

        self._mutate(op)

    async def get(self, job_id: str) -> TrainingJob | None:
        return self._s.jobs.get(job_id)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if not _is_hex(prefix):
            return []
        return [k for k in sorted(self._s.jobs) if k.startswith(prefix)][: max(0, limit)]

    async def update(self, job: TrainingJob) -> None:
        if job.id not in self._s.jobs:
            raise NotFound(f"There is no training job {job.id!r}.")

        def op(s: _State) -> None:
            s.jobs[job.id] = job

        self._mutate(op)

    async def all(self, *, limit: int = 20) -> list[TrainingJob]:
        jobs = sorted(self._s.jobs.values(), key=lambda j: j.created_at, reverse=True)
        return jobs[:limit]

    async def unfinished(self) -> list[TrainingJob]:
        jobs = [j for j in self._s.jobs.values() if not j.status.finished]
        return sorted(jobs, key=lambda j: j.created_at)

    async def beat(self, owner_token: str, at: datetime) -> int:
        return self._replace_owned(owner_token, heartbeat_at=at)

    async def release(self, owner_token: str) -> int:
        return self._replace_owned(owner_token, owner=None, heartbeat_at=None)

    def _replace_owned(self, owner_token: str, **changes: Any) -> int:
        owned = [
            j.id
            for j in self._s.jobs.values()
            if not j.status.finished and j.owner is not None and j.owner.token == owner_token
        ]

        def op(s: _State) -> None:
            for job_id in owned:
                s.jobs[job_id] = dataclasses.replace(s.jobs[job_id], **changes)

        self._mutate(op)
        return len(owned)

    async def take_over(self, job: TrainingJob, *, owner_token: str | None) -> bool:
        stored = self._s.jobs.get(job.id)
        if stored is None or stored.status.finished:
            return False
        if (stored.owner.token if stored.owner else None) != owner_token:
            return False

        def op(s: _State) -> None:
            s.jobs[job.id] = job

        self._mutate(op)
        return True

    async def snapshot_has(self, job_id: str, example_id: str) -> bool:
        return any(e.id == example_id for e in self._s.snapshots.get(job_id, []))

    async def snapshot(self, job_id: str) -> list[Example]:
        return list(self._s.snapshots.get(job_id, []))


class _Models:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, version: ModelVersion) -> None:
        def op(s: _State) -> None:
            s.versions[version.name] = version

        self._mutate(op)

    async def get(self, name: str) -> ModelVersion | None:
        return self._s.versions.get(name)

    async def all(self) -> list[ModelVersion]:
        return sorted(self._s.versions.values(), key=lambda v: v.created_at)

    async def record_activation(self, name: str, actor_id: str, at: datetime) -> None:
        self._mutate(lambda s: s.activations.append(name))

    async def activations(self, *, limit: int = 20) -> list[str]:
        return list(reversed(self._s.activations))[:limit]


class _Evals:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, run: EvalRun) -> None:
        def op(s: _State) -> None:
            s.evals[run.id] = run

        self._mutate(op)

    async def get(self, run_id: str) -> EvalRun | None:
        return self._s.evals.get(run_id)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if not _is_hex(prefix):
            return []
        return [k for k in sorted(self._s.evals) if k.startswith(prefix)][: max(0, limit)]

    async def running(self) -> list[EvalRun]:
        runs = [r for r in self._s.evals.values() if r.status is EvalStatus.RUNNING]
        return sorted(runs, key=lambda r: r.created_at)

    async def beat(self, owner_token: str, at: datetime) -> int:
        owned = [
            r.id
            for r in self._s.evals.values()
            if r.status is EvalStatus.RUNNING and r.owner and r.owner.token == owner_token
        ]

        def op(s: _State) -> None:
            for run_id in owned:
                s.evals[run_id] = dataclasses.replace(s.evals[run_id], heartbeat_at=at)

        self._mutate(op)
        return len(owned)

    async def take_over(self, run: EvalRun, *, owner_token: str | None) -> bool:
        stored = self._s.evals.get(run.id)
        if stored is None or stored.status is EvalStatus.COMPLETE:
            return False
        if (stored.owner.token if stored.owner else None) != owner_token:
            return False
        await self.add(run)
        return True

    async def all(self, *, model_version: str | None = None, limit: int = 20) -> list[EvalRun]:
        runs = [
            r
            for r in self._s.evals.values()
            if model_version is None or r.model_version == model_version
        ]
        runs.sort(key=lambda r: r.created_at, reverse=True)
        return runs[:limit]


class _Proposals:
    def __init__(self, s: _State, mutate: _Mutate) -> None:
        self._s = s
        self._mutate = mutate

    async def add(self, proposal: Proposal) -> None:
        def op(s: _State) -> None:
            s.proposals[proposal.id] = proposal

        self._mutate(op)

    async def update(self, proposal: Proposal) -> None:
        if proposal.id not in self._s.proposals:
            raise NotFound("That proposal does not exist.", proposal_id=proposal.id)
        await self.add(proposal)

    async def get(self, proposal_id: str) -> Proposal | None:
        return self._s.proposals.get(proposal_id)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if not _is_hex(prefix):
            return []
        return [k for k in sorted(self._s.proposals) if k.startswith(prefix)][: max(0, limit)]

    def _pending(self, guild_id: str | None) -> list[Proposal]:
        found = [
            p
            for p in self._s.proposals.values()
            if p.status is ProposalStatus.PENDING and (guild_id is None or p.guild_id == guild_id)
        ]
        return sorted(found, key=lambda p: p.created_at)

    async def pending(
        self, *, guild_id: str | None = None, offset: int = 0, limit: int = 20
    ) -> list[Proposal]:
        offset = max(offset, 0)
        return self._pending(guild_id)[offset : offset + max(limit, 0)]

    async def count_pending(self, *, guild_id: str | None = None) -> int:
        return len(self._pending(guild_id))

    async def by_proposer(self, proposer_id: str, *, limit: int = 20) -> list[Proposal]:
        mine = [p for p in self._s.proposals.values() if p.proposer.id == proposer_id]
        mine.sort(key=lambda p: p.created_at, reverse=True)
        return mine[: max(limit, 0)]

    async def count_since(self, proposer_id: str, since: datetime) -> int:
        return sum(
            1
            for p in self._s.proposals.values()
            if p.proposer.id == proposer_id and p.created_at >= since
        )

    async def for_prediction(self, prediction_id: str) -> list[Proposal]:
        found = [p for p in self._s.proposals.values() if p.prediction_id == prediction_id]
        return sorted(found, key=lambda p: p.created_at)


class FakeUnitOfWork:
    def __init__(self, db: FakeDatabase) -> None:
        self._db = db
        self._bind()

    def _bind(self) -> None:
        s = self._db.committed.copy()
        self._journal: list[Callable[[_State], object]] = []
        self.predictions = _Predictions(s, self._mutate)
        self.feedback = _Feedback(s, self._mutate)
        self.datasets = _Datasets(s, self._mutate)
        self.state = _StateRepo(s, self._mutate)
        self.jobs = _Jobs(s, self._mutate)
        self.models = _Models(s, self._mutate)
        self.evals = _Evals(s, self._mutate)
        self.proposals = _Proposals(s, self._mutate)
        self._work = s

    def _mutate(self, op: Callable[[_State], object]) -> None:
        op(self._work)
        self._journal.append(op)

    async def __aenter__(self) -> Self:
        self._bind()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        for op in self._journal:
            op(self._db.committed)
        self._db.commits += 1
        self._bind()

    async def rollback(self) -> None:
        self._bind()


def _is_hex(text: str) -> bool:
    return bool(text) and all(c in "0123456789abcdef" for c in text)

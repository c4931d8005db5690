"""Training jobs with their snapshots, model versions and evaluation runs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, delete, select, update

from adapters.storage_sql import mapping as m
from adapters.storage_sql.session import Session
from adapters.storage_sql.statements import is_hex, upsert
from adapters.storage_sql.tables import (
    eval_runs,
    job_examples,
    jobs,
    model_activations,
    model_versions,
)
from domain.errors import NotFound
from domain.models import EvalRun, EvalStatus, Example, JobStatus, ModelVersion, TrainingJob

_j = jobs.c
_UNFINISHED = [s.value for s in JobStatus if not s.finished]
_JOB_GET = select(jobs).where(_j.id == bindparam("id"))
# SET takes every column named in the parameters (all but ``id``).
_JOB_UPDATE = update(jobs).where(_j.id == bindparam("job_id"))
_JOBS_NEWEST = select(jobs).order_by(_j.created_at.desc(), _j.seq.desc()).limit(bindparam("limit"))
_JOBS_PREFIXED = (
    select(_j.id)
    .where(_j.id.startswith(bindparam("prefix")))
    .order_by(_j.id)
    .limit(bindparam("limit"))
)
_JOBS_UNFINISHED = select(jobs).where(_j.status.in_(_UNFINISHED)).order_by(_j.created_at, _j.seq)
_OWNED = (_j.owner_token == bindparam("token"), _j.status.in_(_UNFINISHED))
_JOBS_BEAT = update(jobs).where(*_OWNED).values(heartbeat_at=bindparam("beat_at"))
_JOBS_RELEASE = (
    update(jobs)
    .where(*_OWNED)
    .values(owner_host=None, owner_pid=None, owner_token=None, heartbeat_at=None)
)
# Compare-and-set: SET takes every column named in the parameters but these two.
_JOB_TAKE_OVER = update(jobs).where(
    _j.id == bindparam("job_id"),
    _j.status.in_(_UNFINISHED),
    _j.owner_token.is_not_distinct_from(bindparam("previous_token", type_=jobs.c.owner_token.type)),
)
_SNAPSHOT_DROP = delete(job_examples).where(job_examples.c.job_id == bindparam("job_id"))
_SNAPSHOT_ADD = job_examples.insert()
_SNAPSHOT = (
    select(job_examples)
    .where(job_examples.c.job_id == bindparam("job_id"))
    .order_by(job_examples.c.position)
)

_SNAPSHOT_HAS = (
    select(job_examples.c.position)
    .where(job_examples.c.job_id == bindparam("job_id"), job_examples.c.id == bindparam("id"))
    .limit(1)
)


class SqlJobs:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, job: TrainingJob, snapshot: Sequence[Example]) -> None:
        """Store a job and its snapshot (replacing both if the id exists)."""
        await self._s.write(upsert(jobs, self._s.dialect, "id"), m.job_params(job))
        await self._s.write(_SNAPSHOT_DROP, {"job_id": job.id})
        await self._s.write_many(
            _SNAPSHOT_ADD,
            snapshot,
            m.example_params,
            extra=lambda i: {"job_id": job.id, "position": i},
        )

    async def get(self, job_id: str) -> TrainingJob | None:
        row = (await self._s.read(_JOB_GET, {"id": job_id})).first()
        return None if row is None else m.job_of(row)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if limit <= 0 or not is_hex(prefix):  # nothing LIKE would read as a pattern
            return []
        result = await self._s.read(_JOBS_PREFIXED, {"prefix": prefix, "limit": limit})
        return [str(job_id) for job_id in result.scalars()]

    async def update(self, job: TrainingJob) -> None:
        params = m.job_params(job)
        params["job_id"] = params.pop("id")
        result = await self._s.write(_JOB_UPDATE, params)
        if result.rowcount == 0:
            raise NotFound("That training job does not exist.", job_id=job.id)

    async def beat(self, owner_token: str, at: datetime) -> int:
        result = await self._s.write(_JOBS_BEAT, {"token": owner_token, "beat_at": at})
        return int(result.rowcount)

    async def release(self, owner_token: str) -> int:
        result = await self._s.write(_JOBS_RELEASE, {"token": owner_token})
        return int(result.rowcount)

    async def take_over(self, job: TrainingJob, *, owner_token: str | None) -> bool:
        params = m.job_params(job)
        params["job_id"] = params.pop("id")
        params["previous_token"] = owner_token
        result = await self._s.write(_JOB_TAKE_OVER, params)
        return bool(result.rowcount == 1)

    async def all(self, *, limit: int = 20) -> list[TrainingJob]:
        if limit <= 0:
            return []
        return await self._s.read_mapped(_JOBS_NEWEST, {"limit": limit}, m.job_of, heavy=False)

    async def unfinished(self) -> list[TrainingJob]:
        return await self._s.read_mapped(_JOBS_UNFINISHED, {}, m.job_of, heavy=False)

    async def snapshot_has(self, job_id: str, example_id: str) -> bool:
        found = await self._s.read(_SNAPSHOT_HAS, {"job_id": job_id, "id": example_id})
        return found.first() is not None

    async def snapshot(self, job_id: str) -> list[Example]:
        return await self._s.read_mapped(_SNAPSHOT, {"job_id": job_id}, m.example_of, heavy=True)


_v = model_versions.c
_VERSION_GET = select(model_versions).where(_v.name == bindparam("name"))
_VERSIONS = select(model_versions).order_by(_v.created_at, _v.seq)
_ACTIVATE = model_activations.insert()
_ACTIVATIONS = (
    select(model_activations.c.name)
    .order_by(model_activations.c.seq.desc())
    .limit(bindparam("limit"))
)


class SqlModelVersions:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, version: ModelVersion) -> None:
        """Store a version (replacing the one with the same name)."""
        await self._s.write(
            upsert(model_versions, self._s.dialect, "name"), m.version_params(version)
        )

    async def get(self, name: str) -> ModelVersion | None:
        row = (await self._s.read(_VERSION_GET, {"name": name})).first()
        return None if row is None else m.version_of(row)

    async def all(self) -> list[ModelVersion]:
        return await self._s.read_mapped(_VERSIONS, {}, m.version_of, heavy=False)

    async def record_activation(self, name: str, actor_id: str, at: datetime) -> None:
        await self._s.write(_ACTIVATE, {"name": name, "actor_id": actor_id, "activated_at": at})

    async def activations(self, *, limit: int = 20) -> list[str]:
        if limit <= 0:
            return []
        result = await self._s.read(_ACTIVATIONS, {"limit": limit})
        return [str(name) for name in result.scalars()]


_r = eval_runs.c
_EVAL_GET = select(eval_runs).where(_r.id == bindparam("id"))
_EVALS = select(eval_runs).order_by(_r.created_at.desc(), _r.seq.desc()).limit(bindparam("limit"))
_EVALS_OF = _EVALS.where(_r.model_version == bindparam("model_version"))
_EVALS_UNFINISHED = _r.status != EvalStatus.COMPLETE.value
_EVALS_BEAT = (
    update(eval_runs)
    .where(_r.owner_token == bindparam("token"), _r.status == EvalStatus.RUNNING.value)
    .values(heartbeat_at=bindparam("beat_at"))
)
# Compare-and-set: SET takes every column named in the parameters but these two.
_EVAL_TAKE_OVER = update(eval_runs).where(
    _r.id == bindparam("run_id"),
    _EVALS_UNFINISHED,
    _r.owner_token.is_not_distinct_from(
        bindparam("previous_token", type_=eval_runs.c.owner_token.type)
    ),
)
_EVALS_RUNNING = (
    select(eval_runs).where(_r.status == EvalStatus.RUNNING.value).order_by(_r.created_at, _r.seq)
)
_EVALS_PREFIXED = (
    select(_r.id)
    .where(_r.id.startswith(bindparam("prefix")))
    .order_by(_r.id)
    .limit(bindparam("limit"))
)


class SqlEvals:
    def __init__(self, session: Session) -> None:
        self._s = session

    async def add(self, run: EvalRun) -> None:
        """Store a run (replacing the one with the same id)."""
        await self._s.write(upsert(eval_runs, self._s.dialect, "id"), m.eval_params(run))

    async def get(self, run_id: str) -> EvalRun | None:
        row = (await self._s.read(_EVAL_GET, {"id": run_id})).first()
        return None if row is None else m.eval_of(row)

    async def with_prefix(self, prefix: str, *, limit: int = 2) -> list[str]:
        if limit <= 0 or not is_hex(prefix):
            return []
        result = await self._s.read(_EVALS_PREFIXED, {"prefix": prefix, "limit": limit})
        return [str(run_id) for run_id in result.scalars()]

    async def running(self) -> list[EvalRun]:
        return await self._s.read_mapped(_EVALS_RUNNING, {}, m.eval_of, heavy=True)

    async def beat(self, owner_token: str, at: datetime) -> int:
        result = await self._s.write(_EVALS_BEAT, {"token": owner_token, "beat_at": at})
        return int(result.rowcount)

    async def take_over(self, run: EvalRun, *, owner_token: str | None) -> bool:
        params = m.eval_params(run)
        params["run_id"] = params.pop("id")
        params["previous_token"] = owner_token
        result = await self._s.write(_EVAL_TAKE_OVER, params)
        return bool(result.rowcount == 1)

    async def all(self, *, model_version: str | None = None, limit: int = 20) -> list[EvalRun]:
        if limit <= 0:
            return []
        # Runs carry every case result: parse them off the event loop.
        if model_version is None:
            return await self._s.read_mapped(_EVALS, {"limit": limit}, m.eval_of, heavy=True)
        params = {"limit": limit, "model_version": model_version}
        return await self._s.read_mapped(_EVALS_OF, params, m.eval_of, heavy=True)

"""The OpenAI stand-in plus files and fine-tuning jobs: real HTTP, no real waiting.

    async with FineTuneStandin(fine_tunable=("standin-model",)) as server:
        server.plan(JobPlan(steps=2))            # how the next created job goes
        server.hold_at = "running"               # jobs stop advancing there
        job = await server.reached("running")    # wait until one does
        server.release()                         # let them go on

``POST /v1/files`` takes a multipart upload (purpose ``fine-tune``) and checks each
JSONL line roughly as OpenAI does: a chat record (``messages``) or a preference
record (``input``, ``preferred_output``, ``non_preferred_output``), all of one kind;
anything else is a 400. ``/v1/fine_tuning/jobs`` creates, lists (``metadata[k]=v``
filter), retrieves and cancels jobs; ``/events`` lists their events, newest first.
A job moves one tick each time it is retrieved: ``validating_files`` → ``queued`` →
``running`` (one ``metrics`` event per step) → ``succeeded`` (the fine-tuned model is
then listed by ``/v1/models``) | ``failed`` (a method/file mismatch or a planned
failure) | ``cancelled``. Scripted errors and delays of the base stand-in apply.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.standins.openai_server import JSON_BODY, ErrorReply, OpenAIStandin

FILES_PATH = "/v1/files"
JOBS_PATH = "/v1/fine_tuning/jobs"
T0 = 1_750_000_000


@dataclass(frozen=True, slots=True)
class JobPlan:
    """How one job goes: ``steps`` training steps, or a failure at ``fail_at``."""

    steps: int = 3
    fail_at: str | None = None  # "validating_files" | "running": the job fails there
    error_code: str = "invalid_training_file"
    error_message: str = "The job failed due to an invalid training file."


@dataclass
class StandinFile:
    id: str
    filename: str
    data: bytes
    kind: str  # "sft" | "dpo"
    lines: int


@dataclass
class StandinJob:
    id: str
    model: str
    training_file: str
    method: str  # "supervised" | "dpo"
    plan: JobPlan
    created_at: int
    suffix: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    status: str = "validating_files"
    step: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    fine_tuned_model: str | None = None
    error: dict[str, Any] | None = None
    finished_at: int | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed", "cancelled")

    def wire(self) -> dict[str, Any]:
        hyper = {"n_epochs": "auto", "batch_size": "auto", "learning_rate_multiplier": "auto"}
        hyper |= self.hyperparameters
        return {
            "object": "fine_tuning.job",
            "id": self.id,
            "model": self.model,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "fine_tuned_model": self.fine_tuned_model,
            "organization_id": "org-standin",
            "result_files": [],
            "status": self.status,
            "validation_file": None,
            "training_file": self.training_file,
            "hyperparameters": hyper,
            "trained_tokens": None,
            "error": self.error,
            "seed": 42,
            "estimated_finish": None,
            "metadata": self.metadata or None,
            "method": {"type": self.method, self.method: {"hyperparameters": hyper}},
        }


def _line_kind(record: Any) -> str | None:
    """``sft`` or ``dpo`` for a well-formed record, else None."""
    if not isinstance(record, dict):
        return None

    def messages(value: Any) -> bool:
        return isinstance(value, list) and all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and "content" in m for m in value
        )

    if "messages" in record:
        chat = record["messages"]
        ok = messages(chat) and any(m["role"] == "assistant" for m in chat)
        return "sft" if ok else None
    pieces = ("input", "preferred_output", "non_preferred_output")
    if all(k in record for k in pieces):
        source = record["input"]
        ok = isinstance(source, dict) and messages(source.get("messages"))
        ok = ok and messages(record["preferred_output"])
        return "dpo" if ok and messages(record["non_preferred_output"]) else None
    return None


def check_jsonl(data: bytes) -> tuple[str, int]:
    """(kind, lines) of a training file; ``ValueError`` with OpenAI-like text otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("Invalid file format for Fine-Tuning API. Must be UTF-8.") from None
    kinds: set[str] = set()
    count = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            kind = _line_kind(json.loads(line))
        except json.JSONDecodeError:
            kind = None
        if kind is None:
            raise ValueError(
                f"Invalid file format for Fine-Tuning API. Line {number}: expected a JSON "
                "object with `messages`, or `input`, `preferred_output` and "
                "`non_preferred_output`."
            )
        kinds.add(kind)
        count += 1
    if count == 0:
        raise ValueError("Invalid file format for Fine-Tuning API. The file is empty.")
    if len(kinds) > 1:
        raise ValueError("Invalid file format for Fine-Tuning API. Mixed record formats.")
    return kinds.pop(), count


class FineTuneStandin(OpenAIStandin):
    def __init__(self, *, fine_tunable: tuple[str, ...] = ("standin-model",), **kw: Any) -> None:
        super().__init__(**kw)
        self.fine_tunable = set(fine_tunable)
        self.files: dict[str, StandinFile] = {}
        self.jobs: dict[str, StandinJob] = {}
        self.default_plan = JobPlan()
        self.hold_at: str | None = None  # jobs in this status stop advancing
        self._plans: deque[JobPlan] = deque()
        self._clock = T0
        self._changed = asyncio.Condition()

    def routes(self) -> list[web.RouteDef]:
        return [
            *super().routes(),
            web.post(FILES_PATH, self._upload),
            web.post(JOBS_PATH, self._create_job),
            web.get(JOBS_PATH, self._list_jobs),
            web.get(JOBS_PATH + "/{id}", self._retrieve_job),
            web.post(JOBS_PATH + "/{id}/cancel", self._cancel_job),
            web.get(JOBS_PATH + "/{id}/events", self._list_events),
        ]

    # ------------------------------------------------------------------ scripting

    def plan(self, *plans: JobPlan) -> None:
        """How the next created jobs go, one plan each, before ``default_plan``."""
        self._plans.extend(plans)

    def release(self) -> None:
        self.hold_at = None

    def advance(self, job_id: str, ticks: int = 1) -> None:
        for _ in range(ticks):
            self._tick(self.jobs[job_id])

    async def reached(self, status: str, *, within: float = 10.0) -> StandinJob:
        """The first job seen in ``status`` (waits for one, at most ``within`` s)."""

        def found() -> StandinJob | None:
            return next((j for j in self.jobs.values() if j.status == status), None)

        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(lambda: found() is not None)
        job = found()
        assert job is not None
        return job

    def uploads(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path == FILES_PATH)

    def created_jobs(self) -> int:
        return sum(1 for r in self.requests if r.method == "POST" and r.path == JOBS_PATH)

    # ------------------------------------------------------------------ state machine

    def _now(self) -> int:
        self._clock += 1
        return self._clock

    def _event(self, job: StandinJob, message: str, **data: Any) -> None:
        job.events.append(
            {
                "object": "fine_tuning.job.event",
                "id": f"ftevent-{uuid.uuid4().hex[:20]}",
                "created_at": self._now(),
                "level": "error" if job.status == "failed" else "info",
                "message": message,
                "data": data or None,
                "type": "metrics" if data else "message",
            }
        )

    def _end(self, job: StandinJob, status: str, message: str) -> None:
        job.status = status
        job.finished_at = self._now()
        if status == "failed":
            job.error = {"code": job.plan.error_code, "message": job.plan.error_message}
        self._event(job, message)

    def _tick(self, job: StandinJob) -> None:
        if job.finished or job.status == self.hold_at:
            return
        plan = job.plan
        if job.status == "validating_files":
            mismatch = self.files[job.training_file].kind != (
                "dpo" if job.method == "dpo" else "sft"
            )
            if mismatch:
                job.plan = plan = JobPlan(
                    error_message=f"Training file {job.training_file} does not match the "
                    f"{job.method} method's format."
                )
            if mismatch or plan.fail_at == "validating_files":
                self._end(job, "failed", plan.error_message)
                return
            job.status = "queued"
            self._event(job, "Files validated, moving job to queued state")
        elif job.status == "queued":
            job.status = "running"
            self._event(job, "Fine-tuning job started")
        elif job.step < plan.steps and plan.fail_at != "running":
            job.step += 1
            loss = round(1.0 / job.step, 3)
            self._event(
                job,
                f"Step {job.step}/{plan.steps}: training loss={loss}",
                step=job.step,
                total_steps=plan.steps,
                train_loss=loss,
            )
        elif plan.fail_at == "running":
            self._end(job, "failed", plan.error_message)
        else:
            suffix = job.suffix or ""
            job.fine_tuned_model = f"ft:{job.model}:standin:{suffix}:{job.id[-8:]}"
            self.models.append(job.fine_tuned_model)
            self._event(job, f"New fine-tuned model created: {job.fine_tuned_model}")
            self._end(job, "succeeded", "The job has successfully completed")

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ------------------------------------------------------------------ endpoints

    async def _upload(self, request: web.Request) -> web.Response:
        form = await request.post()
        upload = form.get("file")
        if form.get("purpose") != "fine-tune" or not isinstance(upload, web.FileField):
            return self._error(request, ErrorReply(400, "A `file` with purpose `fine-tune`."))
        data = upload.file.read()
        try:
            kind, lines = check_jsonl(data)
        except ValueError as exc:
            return self._error(request, ErrorReply(400, str(exc), "invalid_file_format"))
        file = StandinFile(f"file-{uuid.uuid4().hex[:24]}", upload.filename, data, kind, lines)
        self.files[file.id] = file
        return web.json_response(
            {
                "object": "file",
                "id": file.id,
                "bytes": len(data),
                "created_at": self._now(),
                "filename": file.filename,
                "purpose": "fine-tune",
                "status": "processed",
            }
        )

    async def _create_job(self, request: web.Request) -> web.Response:
        raw = request[JSON_BODY]
        body: dict[str, Any] = raw if isinstance(raw, dict) else {}
        model, file_id = body.get("model"), body.get("training_file")
        if model not in self.fine_tunable:
            message = f"Model {model} is not available for fine-tuning or does not exist."
            return self._error(request, ErrorReply(400, message, "model_not_available"))
        if file_id not in self.files:
            return self._error(request, ErrorReply(400, f"Invalid file ID: {file_id}."))
        method = body.get("method") or {"type": "supervised"}
        kind = method.get("type", "supervised")
        job = StandinJob(
            id=f"ftjob-{uuid.uuid4().hex[:24]}",
            model=model,
            training_file=file_id,
            method=kind,
            plan=self._plans.popleft() if self._plans else self.default_plan,
            created_at=self._now(),
            suffix=body.get("suffix"),
            metadata=dict(body.get("metadata") or {}),
            hyperparameters=dict((method.get(kind) or {}).get("hyperparameters") or {}),
        )
        self._event(job, f"Validating training file: {file_id}")
        self.jobs[job.id] = job
        await self._notify()
        return web.json_response(job.wire())

    async def _list_jobs(self, request: web.Request) -> web.Response:
        wanted = {
            key[len("metadata[") : -1]: value
            for key, value in request.query.items()
            if key.startswith("metadata[") and key.endswith("]")
        }
        found = [
            j.wire()
            for j in reversed(self.jobs.values())
            if all(j.metadata.get(k) == v for k, v in wanted.items())
        ]
        limit = int(request.query.get("limit", "20"))
        return web.json_response(
            {"object": "list", "data": found[:limit], "has_more": len(found) > limit}
        )

    def _job(self, request: web.Request) -> StandinJob | web.Response:
        job = self.jobs.get(request.match_info["id"])
        if job is None:
            message = f"Could not find fine-tuning job {request.match_info['id'][:40]}."
            return self._error(request, ErrorReply(404, message, "fine_tune_not_found"))
        return job

    async def _retrieve_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        self._tick(job)
        await self._notify()
        return web.json_response(job.wire())

    async def _cancel_job(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        if job.finished:
            message = f"Job has already completed: {job.status}."
            return self._error(request, ErrorReply(400, message))
        self._end(job, "cancelled", "The job was cancelled")
        await self._notify()
        return web.json_response(job.wire())

    async def _list_events(self, request: web.Request) -> web.Response:
        job = self._job(request)
        if isinstance(job, web.Response):
            return job
        newest_first = list(reversed(job.events))
        after = request.query.get("after")
        if after:
            ids = [e["id"] for e in newest_first]
            newest_first = newest_first[ids.index(after) + 1 :] if after in ids else []
        limit = int(request.query.get("limit", "20"))
        return web.json_response(
            {
                "object": "list",
                "data": newest_first[:limit],
                "has_more": len(newest_first) > limit,
            }
        )

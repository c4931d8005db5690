"""Evaluation ("test"): run test cases against a model version, score, store, compare.

Cases are answered through :meth:`ChatService.answer_once` (the version's memory
applies, nothing is stored as a prediction) with at most ``concurrency`` answers
in flight. A failing case is recorded on its result and the run goes on; when the
language model is unavailable for every case tried (the first ``give_up_after``
attempts without any answer), the run fails with that message instead of
storing a run of errors. Reports are markdown and JSON artifacts, plus a PNG
chart when a :class:`~domain.ports.ChartRenderer` is given.

A run is stored as it goes (``running``, at most every ``save_interval`` seconds once
a case is answered, with the cases still ``pending``), owned by this process, which
refreshes its heartbeat like a training job's owner. A run stopped by a signal is
stored ``interrupted``; one whose process was killed is marked so by the next
:meth:`get` or :meth:`all` (``domain.services.training_owner``), and :meth:`resume`
answers its pending cases.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from domain.artifacts import safe_stem
from domain.errors import Conflict, DomainError, InvalidInput, ModelUnavailable, PermissionDenied
from domain.ids import by_id_or_prefix
from domain.models import (
    Actor,
    Artifact,
    CaseResult,
    EvalComparison,
    EvalRun,
    EvalStatus,
    JobOwner,
    ModelVersion,
    TestCase,
    new_id,
    utcnow,
)
from domain.ports import ArtifactStore, ChartRenderer, ProcessProbe, UnitOfWorkFactory
from domain.reports import comparison_markdown, comparison_to_json, run_markdown, run_to_json
from domain.scoring import compare_runs, failed_case, score_case, summarise
from domain.services.chat import ChatService
from domain.services.models import ModelService
from domain.services.training_owner import Ownership

log = structlog.get_logger()

EvalProgress = Callable[[float, str], Awaitable[None]]
"""``await report(fraction, message)`` after every answered case."""

UNEXPECTED_CASE_ERROR = "The answer failed because of an unexpected error (see the bot's log)."


class _Attempts:
    """Trips when the model was unavailable for the first ``give_up_after`` cases tried."""

    def __init__(self, give_up_after: int) -> None:
        self.give_up_after = give_up_after
        self.answered = 0
        self.unavailable: list[ModelUnavailable] = []
        self.tripped = False

    def record(self, error: Exception | None) -> None:
        if error is None:
            self.answered += 1
        elif isinstance(error, ModelUnavailable):
            self.unavailable.append(error)
        if not self.answered and len(self.unavailable) >= self.give_up_after:
            self.tripped = True  # stays tripped: skipped cases have no result


class _RunState:
    """A run being answered: what it had, and a slot per pending case."""

    def __init__(self, run: EvalRun, *, stored: bool) -> None:
        self.run = run
        self.cases = list(run.pending)
        self.slots: list[CaseResult | None] = [None] * len(self.cases)
        self.answered = 0  # cases answered without an error, in this process
        self.stored = stored  # a row of it exists
        self.dirty = False  # results not stored yet
        self.saving = asyncio.Lock()  # one store at a time, in order
        self.last_save = -float("inf")

    @property
    def total(self) -> int:
        return len(self.run.results) + len(self.cases)

    def snapshot(self, status: EvalStatus, at: datetime) -> EvalRun:
        results = (*self.run.results, *(r for r in self.slots if r is not None))
        pending = tuple(c for c, r in zip(self.cases, self.slots, strict=True) if r is None)
        return dataclasses.replace(
            self.run,
            results=results,
            scores=summarise(list(results)),
            status=status,
            pending=pending,
            heartbeat_at=at,
        )


class EvaluationService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        chat: ChatService,
        models: ModelService,
        artifacts: ArtifactStore,
        concurrency: int = 4,
        give_up_after: int = 8,
        charts: ChartRenderer | None = None,
        owner: JobOwner | None = None,
        processes: ProcessProbe | None = None,
        heartbeat_interval: float = 5.0,
        save_interval: float = 1.0,
        clock: Callable[[], datetime] = utcnow,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """``owner``, ``processes``, ``heartbeat_interval``: as for ``TrainingService``;
        ``save_interval``: seconds between two stores of a run's results so far."""
        if concurrency < 1 or give_up_after < 1:
            raise ValueError("concurrency and give_up_after must be at least 1")
        self._ownership = Ownership(
            owner or JobOwner(host="", pid=0, token=new_id()),
            interval=heartbeat_interval,
            processes=processes,
        )
        self._save_interval = save_interval
        self._monotonic = monotonic
        self._sleep = sleep
        self._held: set[str] = set()  # ids of the runs this process answers
        self._uow = uow
        self._chat = chat
        self._models = models
        self._artifacts = artifacts
        self._concurrency = concurrency
        self._give_up_after = give_up_after
        self._charts = charts
        self._clock = clock

    async def run(
        self,
        cases: Sequence[TestCase],
        actor: Actor,
        *,
        version: str | None = None,
        name: str = "",
        report: EvalProgress | None = None,
    ) -> EvalRun:
        """Answer and score every case with ``version`` (default: the active one)."""
        if not actor.is_trainer:
            raise PermissionDenied("Only trainers can run evaluations.")
        if not cases:
            raise InvalidInput("There are no test cases to run.")
        target = await (self._models.get(version) if version else self._models.active())
        now = self._clock()
        run = EvalRun(
            id=new_id(),
            model_version=target.name,
            created_at=now,
            results=(),
            scores=summarise([]),
            created_by=actor,
            name=name.strip()[:100],
            status=EvalStatus.RUNNING,
            pending=tuple(cases),
            owner=self.owner,
            heartbeat_at=now,
        )
        log.info("evaluation_started", run_id=run.id, model_version=target.name, cases=len(cases))
        return await self._carry_on(_RunState(run, stored=False), target, report)

    async def resume(
        self, run_id: str, actor: Actor, *, report: EvalProgress | None = None
    ) -> EvalRun:
        """Answer the pending cases of an interrupted run, with its model version."""
        if not actor.is_trainer:
            raise PermissionDenied("Only trainers can run evaluations.")
        run = await self.get(run_id)
        short = run.id[:8]
        if run.status is EvalStatus.COMPLETE:
            raise Conflict(f"The evaluation run {short} is complete; there is nothing to resume.")
        if run.status is EvalStatus.RUNNING:
            where = f"process {run.owner.pid}" if run.owner else "another process"
            raise Conflict(
                f"The evaluation run {short} is still running in {where}; "
                "resume it once that process has stopped."
            )
        target = await self._models.get(run.model_version)
        claimed = dataclasses.replace(
            run, status=EvalStatus.RUNNING, owner=self.owner, heartbeat_at=self._clock()
        )
        if not await self._take_over(claimed, previous=run.owner):
            raise Conflict(f"Another process resumed the evaluation run {short} first.")
        log.info("evaluation_resumed", run_id=run.id, pending=len(run.pending))
        return await self._carry_on(_RunState(claimed, stored=True), target, report)

    @property
    def owner(self) -> JobOwner:
        """This process, as the runs it answers name it."""
        return self._ownership.owner

    async def _carry_on(
        self, state: _RunState, target: ModelVersion, report: EvalProgress | None
    ) -> EvalRun:
        run_id = state.run.id
        self._held.add(run_id)
        beating = asyncio.create_task(self._beat(state), name=f"evaluation-heartbeat-{run_id}")
        try:
            await self._answer_all(state, target, report)
        except ModelUnavailable:  # it never answered: keep no result of this attempt
            await _stopped(beating)
            if state.stored:
                state.slots = [None] * len(state.slots)
                await self._store(state.snapshot(EvalStatus.INTERRUPTED, self._clock()))
            raise
        except asyncio.CancelledError:  # stopped (a signal, Ctrl-C): keep what it did
            await _stopped(beating)
            if state.stored or any(state.slots):
                await self._store(state.snapshot(EvalStatus.INTERRUPTED, self._clock()))
                log.info("evaluation_interrupted", run_id=run_id)
            raise
        finally:
            await _stopped(beating)
            self._held.discard(run_id)
        final = state.snapshot(EvalStatus.COMPLETE, self._clock())
        await self._store(final)
        log.info(
            "evaluation_finished",
            run_id=run_id,
            model_version=target.name,
            passed=final.scores.passed,
            cases=final.scores.cases,
            errors=final.scores.errors,
        )
        return final

    async def _store(self, run: EvalRun) -> None:
        async with self._uow() as uow:
            await uow.evals.add(run)
            await uow.commit()

    async def _save_progress(self, state: _RunState, *, due: bool = False) -> None:
        """Store the results so far, at most every ``save_interval`` seconds (``due``:
        now, if there is anything new)."""
        now = self._monotonic()
        if not state.dirty or not (state.stored or state.answered):
            return
        if not due and now - state.last_save < self._save_interval:
            return
        state.last_save = now
        state.stored = True
        state.dirty = False
        await self._store(state.snapshot(EvalStatus.RUNNING, self._clock()))

    async def _beat(self, state: _RunState) -> None:
        """Every heartbeat: store what is new (a slow case holds no result back), or
        say that this process still answers the run."""
        while True:
            await self._sleep(self._ownership.interval)
            try:
                if state.dirty and (state.stored or state.answered):
                    async with state.saving:
                        await self._save_progress(state, due=True)
                    continue
                async with self._uow() as uow:
                    await uow.evals.beat(self.owner.token, self._clock())
                    await uow.commit()
            except Exception:
                log.exception("evaluation_heartbeat_failed")

    async def _sweep(self) -> None:
        """Mark interrupted the running runs whose process stopped."""
        async with self._uow() as uow:
            running = await uow.evals.running()
        now = self._clock()
        for run in running:
            if run.id in self._held:
                continue
            if run.owner is not None and not self._ownership.gone(
                run.owner, run.heartbeat_at, now=now
            ):
                continue
            stopped = dataclasses.replace(run, status=EvalStatus.INTERRUPTED)
            if await self._take_over(stopped, previous=run.owner):
                log.info("evaluation_marked_interrupted", run_id=run.id)

    async def _take_over(self, run: EvalRun, *, previous: JobOwner | None) -> bool:
        async with self._uow() as uow:
            token = previous.token if previous else None
            stored = await uow.evals.take_over(run, owner_token=token)
            await uow.commit()
        return stored

    async def get(self, run_id: str) -> EvalRun:
        """The run with this id, or with the only id that starts with it."""
        await self._sweep()
        async with self._uow() as uow:
            return await by_id_or_prefix(
                run_id.strip(),
                get=uow.evals.get,
                ids_starting=lambda prefix: uow.evals.with_prefix(prefix, limit=2),
                what="evaluation run",
            )

    async def all(self, *, model_version: str | None = None, limit: int = 20) -> list[EvalRun]:
        """Stored runs, newest first."""
        await self._sweep()
        async with self._uow() as uow:
            return await uow.evals.all(model_version=model_version, limit=limit)

    async def compare(self, before_id: str, after_id: str) -> EvalComparison:
        """Case-by-case changes between two stored runs."""
        return compare_runs(await self.get(before_id), await self.get(after_id))

    async def write_report(self, subject: EvalRun | EvalComparison) -> list[Artifact]:
        """Write the markdown and JSON reports, and a PNG chart when a renderer is given.

        Returns them in that order; a chart that fails to render is logged and left out.
        """
        stamp = self._clock().strftime("%Y%m%d-%H%M%S")
        if isinstance(subject, EvalRun):
            stem = f"eval-{safe_stem(subject.model_version)}-{stamp}-{subject.id[:6]}"
            markdown, document = run_markdown(subject), run_to_json(subject)
        else:
            before = safe_stem(subject.before.model_version)[:40]
            after = safe_stem(subject.after.model_version)[:40]
            stem = f"compare-{before}-vs-{after}-{stamp}-{subject.after.id[:6]}"
            markdown, document = comparison_markdown(subject), comparison_to_json(subject)
        body = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        artifacts = [
            await self._artifacts.write(f"{stem}.md", markdown.encode()),
            await self._artifacts.write(f"{stem}.json", body.encode()),
        ]
        chart = await self._chart(subject)
        if chart is not None:
            artifacts.append(await self._artifacts.write(f"{stem}.png", chart))
        log.info("evaluation_report_written", names=[a.name for a in artifacts])
        return artifacts

    # ----------------------------------------------------------------- internals

    async def _chart(self, subject: EvalRun | EvalComparison) -> bytes | None:
        if self._charts is None:
            return None
        try:
            return await self._charts.render(subject)
        except Exception:
            log.exception("evaluation_chart_failed")
            return None

    async def _answer_all(
        self, state: _RunState, version: ModelVersion, report: EvalProgress | None
    ) -> None:
        """Fill ``state``'s slots; raise the model's error when it never answered."""
        cases = state.cases
        limit = asyncio.Semaphore(self._concurrency)
        attempts = _Attempts(min(self._give_up_after, max(1, len(cases))))
        done = len(state.run.results)

        async def one(index: int, case: TestCase) -> None:
            nonlocal done
            async with limit:
                if attempts.tripped:
                    return
                result, error = await self._answer(case, version)
                attempts.record(error)
            state.slots[index] = result
            state.answered += error is None
            state.dirty = True
            done += 1
            if not state.saving.locked():
                async with state.saving:
                    await self._save_progress(state)
            if report is not None:
                await _report(report, done / state.total, f"{done} of {state.total} cases")

        await asyncio.gather(*(one(i, case) for i, case in enumerate(cases)))
        if attempts.tripped:
            log.warning("evaluation_model_unavailable", model_version=version.name)
            raise attempts.unavailable[0]

    async def _answer(
        self, case: TestCase, version: ModelVersion
    ) -> tuple[CaseResult, Exception | None]:
        try:
            answer, _usage = await self._chat.answer_once(case.input, version=version)
        except DomainError as exc:
            return failed_case(case, exc.user_message), exc
        except Exception as exc:
            log.exception("evaluation_case_crashed")
            return failed_case(case, UNEXPECTED_CASE_ERROR), exc
        return score_case(case, answer), None


async def _stopped(task: asyncio.Task[None]) -> None:
    """Cancel ``task`` and wait until it has stopped (no store of it comes later)."""
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def _report(report: EvalProgress, fraction: float, message: str) -> None:
    try:
        await report(fraction, message)
    except Exception:
        log.exception("evaluation_progress_listener_failed")

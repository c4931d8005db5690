"""Evaluation ("test"): run test cases against a model version, score, store, compare.

Cases are answered through :meth:`ChatService.answer_once` (the version's memory
applies, nothing is stored as a prediction) with at most ``concurrency`` answers
in flight. A failing case is recorded on its result and the run goes on; when the
language model is unavailable for every case tried (the first ``give_up_after``
attempts without any answer), the run fails with that message instead of
storing a run of errors. Reports are markdown and JSON artifacts, plus a PNG
chart when a :class:`~domain.ports.ChartRenderer` is given.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog

from domain.artifacts import safe_stem
from domain.errors import DomainError, InvalidInput, ModelUnavailable, PermissionDenied
from domain.ids import by_id_or_prefix
from domain.models import (
    Actor,
    Artifact,
    CaseResult,
    EvalComparison,
    EvalRun,
    ModelVersion,
    TestCase,
    new_id,
    utcnow,
)
from domain.ports import ArtifactStore, ChartRenderer, UnitOfWorkFactory
from domain.reports import comparison_markdown, comparison_to_json, run_markdown, run_to_json
from domain.scoring import compare_runs, failed_case, score_case, summarise
from domain.services.chat import ChatService
from domain.services.models import ModelService

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
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if concurrency < 1 or give_up_after < 1:
            raise ValueError("concurrency and give_up_after must be at least 1")
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
        log.info("evaluation_started", model_version=target.name, cases=len(cases))
        results = await self._answer_all(list(cases), target, report)
        run = EvalRun(
            id=new_id(),
            model_version=target.name,
            created_at=self._clock(),
            results=tuple(results),
            scores=summarise(results),
            created_by=actor,
            name=name.strip()[:100],
        )
        async with self._uow() as uow:
            await uow.evals.add(run)
            await uow.commit()
        log.info(
            "evaluation_finished",
            run_id=run.id,
            model_version=target.name,
            passed=run.scores.passed,
            cases=run.scores.cases,
            errors=run.scores.errors,
        )
        return run

    async def get(self, run_id: str) -> EvalRun:
        """The run with this id, or with the only id that starts with it."""
        async with self._uow() as uow:
            return await by_id_or_prefix(
                run_id.strip(),
                get=uow.evals.get,
                ids_starting=lambda prefix: uow.evals.with_prefix(prefix, limit=2),
                what="evaluation run",
            )

    async def all(self, *, model_version: str | None = None, limit: int = 20) -> list[EvalRun]:
        """Stored runs, newest first."""
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
        self, cases: list[TestCase], version: ModelVersion, report: EvalProgress | None
    ) -> list[CaseResult]:
        limit = asyncio.Semaphore(self._concurrency)
        attempts = _Attempts(min(self._give_up_after, len(cases)))
        results: list[CaseResult | None] = [None] * len(cases)
        done = 0

        async def one(index: int, case: TestCase) -> None:
            nonlocal done
            async with limit:
                if attempts.tripped:
                    return
                result, error = await self._answer(case, version)
                attempts.record(error)
            results[index] = result
            done += 1
            if report is not None:
                await _report(report, done / len(cases), f"{done} of {len(cases)} cases")

        await asyncio.gather(*(one(i, case) for i, case in enumerate(cases)))
        if attempts.tripped:
            log.warning("evaluation_model_unavailable", model_version=version.name)
            raise attempts.unavailable[0]
        return [r for r in results if r is not None]

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


async def _report(report: EvalProgress, fraction: float, message: str) -> None:
    try:
        await report(fraction, message)
    except Exception:
        log.exception("evaluation_progress_listener_failed")

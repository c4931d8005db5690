"""The evaluation service writes the chart next to the markdown and JSON reports."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.charts import MatplotlibChartRenderer
from domain.models import EvalComparison, EvalRun
from domain.ports import ChartRenderer
from domain.scoring import compare_runs
from domain.services.chat import ChatPolicy, ChatService
from domain.services.evaluation import EvaluationService
from domain.services.models import ModelService
from tests.adapters.charts.runs import AFTER, BEFORE, CASES, TRAINER
from tests.fakes import FakeArtifactStore, FakeChatModel, FakeDatabase

NOW = datetime(2025, 6, 2, 10, 30, tzinfo=UTC)


async def service(
    charts: ChartRenderer | None,
) -> tuple[EvaluationService, FakeArtifactStore]:
    db = FakeDatabase()
    models = ModelService(uow=db.unit_of_work)
    await models.ensure_base("standin-model")
    chat = ChatService(uow=db.unit_of_work, llm=FakeChatModel(), models=models, policy=ChatPolicy())
    artifacts = FakeArtifactStore(clock=lambda: NOW)
    evaluation = EvaluationService(
        uow=db.unit_of_work,
        chat=chat,
        models=models,
        artifacts=artifacts,
        charts=charts,
        clock=lambda: NOW,
    )
    return evaluation, artifacts


async def test_a_run_report_comes_with_its_chart(renderer: MatplotlibChartRenderer) -> None:
    evaluation, artifacts = await service(renderer)
    run = await evaluation.run(CASES, TRAINER)

    written = await evaluation.write_report(run)

    stem = f"eval-standin-model-20250602-103000-{run.id[:6]}"
    assert [a.name for a in written] == [f"{stem}.md", f"{stem}.json", f"{stem}.png"]
    png = await artifacts.read(f"{stem}.png")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and written[2].size == len(png)


async def test_a_comparison_report_comes_with_its_chart(
    renderer: MatplotlibChartRenderer,
) -> None:
    evaluation, artifacts = await service(renderer)

    written = await evaluation.write_report(compare_runs(BEFORE, AFTER))

    assert [a.name.rsplit(".", 1)[1] for a in written] == ["md", "json", "png"]
    assert written[2].name.startswith("compare-standin-model-vs-ft-standin-model")
    assert (await artifacts.read(written[2].name)).startswith(b"\x89PNG")


async def test_without_a_renderer_the_report_is_markdown_and_json_only() -> None:
    evaluation, artifacts = await service(None)

    written = await evaluation.write_report(BEFORE)

    assert [a.name.rsplit(".", 1)[1] for a in written] == ["md", "json"]
    assert len(artifacts.files) == 2


class BrokenRenderer:
    async def render(self, subject: EvalRun | EvalComparison) -> bytes:
        raise RuntimeError("no fonts")


async def test_a_chart_that_fails_to_render_leaves_the_text_reports_intact() -> None:
    evaluation, artifacts = await service(BrokenRenderer())

    written = await evaluation.write_report(AFTER)

    assert [a.name.rsplit(".", 1)[1] for a in written] == ["md", "json"]
    assert sorted(artifacts.files) == sorted(a.name for a in written)

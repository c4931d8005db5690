"""PNG charts of evaluation runs and comparisons: real matplotlib, checked as images."""

from __future__ import annotations

import dataclasses
import struct

from adapters.charts import MatplotlibChartRenderer
from adapters.charts.drawing import HEIGHT, WIDTH, metric_values
from domain.scoring import compare_runs
from tests.adapters.charts.runs import AFTER, BEFORE

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which a valid PNG has first."""
    assert data[:8] == PNG_SIGNATURE
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


async def test_a_run_is_drawn_as_a_png_of_the_fixed_size(
    renderer: MatplotlibChartRenderer,
) -> None:
    png = await renderer.render(AFTER)

    assert png_size(png) == (WIDTH, HEIGHT)
    assert png.endswith(b"IEND\xaeB`\x82")


async def test_a_comparison_is_drawn_at_the_same_size(renderer: MatplotlibChartRenderer) -> None:
    png = await renderer.render(compare_runs(BEFORE, AFTER))

    assert png_size(png) == (WIDTH, HEIGHT)


async def test_different_runs_give_different_charts_and_the_same_run_the_same_one(
    renderer: MatplotlibChartRenderer,
) -> None:
    before, after, again = (
        await renderer.render(BEFORE),
        await renderer.render(AFTER),
        await renderer.render(AFTER),
    )
    renamed = await renderer.render(dataclasses.replace(AFTER, model_version="another-version"))

    assert before != after
    assert after == again
    assert renamed != after  # the title names the version


async def test_a_comparison_chart_changes_with_its_runs(renderer: MatplotlibChartRenderer) -> None:
    forward = await renderer.render(compare_runs(BEFORE, AFTER))
    backward = await renderer.render(compare_runs(AFTER, BEFORE))

    assert forward != backward


async def test_cyrillic_names_and_runs_without_labels_are_drawn(
    renderer: MatplotlibChartRenderer,
) -> None:
    unlabelled = dataclasses.replace(
        BEFORE,
        model_version="модель-до-обучения",
        name="вопросы о командах",
        scores=dataclasses.replace(BEFORE.scores, label_accuracy=None),
    )

    png = await renderer.render(unlabelled)

    assert png_size(png) == (WIDTH, HEIGHT)
    assert metric_values(unlabelled.scores)[3] is None


def test_metric_values_are_percentages_in_chart_order() -> None:
    s = BEFORE.scores

    assert metric_values(s) == [s.pass_rate * 100, s.exact * 100, s.contains * 100, 0.0]
    assert metric_values(s)[0] == 40.0

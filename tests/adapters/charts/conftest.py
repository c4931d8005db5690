"""Fixtures: one chart renderer per test module (matplotlib loads once)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from adapters.charts import MatplotlibChartRenderer


@pytest.fixture
async def renderer() -> AsyncIterator[MatplotlibChartRenderer]:
    charts = MatplotlibChartRenderer()
    yield charts
    await charts.aclose()

"""Evaluation charts (PNG) for reports: a run's scores, or before/after of a comparison.

Needs the ``charts`` extra (matplotlib).
"""

from adapters.charts.renderer import MatplotlibChartRenderer

__all__ = ["MatplotlibChartRenderer"]

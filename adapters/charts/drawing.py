"""Evaluation charts drawn with matplotlib's Agg canvas: blocking, CPU-bound work.

Only the object-oriented API is used (``Figure`` + ``FigureCanvasAgg``, no
``pyplot``), so no global state is touched and drawing from a worker thread is
safe. Every image has the same size (:data:`WIDTH` × :data:`HEIGHT` pixels).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from domain.models import CaseChange, EvalComparison, EvalRun, EvalScores
from domain.scoring import change_counts

WIDTH, HEIGHT, DPI = 960, 540, 96
NAME_CHARS = 40
METRICS = ("pass rate", "exact", "contains", "label accuracy")
BEFORE_COLOUR, AFTER_COLOUR, RUN_COLOUR = "#9aa5b1", "#2f6fdf", "#2f6fdf"
CHANGE_COLOURS = {
    CaseChange.FIXED: "#2e9d5b",
    CaseChange.BROKEN: "#d64545",
    CaseChange.STILL_PASSING: "#8fc9a5",
    CaseChange.STILL_FAILING: "#c9a08f",
}


def short(name: str, limit: int = NAME_CHARS) -> str:
    flat = " ".join(name.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def metric_values(scores: EvalScores) -> list[float | None]:
    """Percentages in :data:`METRICS` order; None where a metric does not apply."""
    label = None if scores.label_accuracy is None else scores.label_accuracy * 100
    return [scores.pass_rate * 100, scores.exact * 100, scores.contains * 100, label]


def render_png(subject: EvalRun | EvalComparison) -> bytes:
    """The chart of a run or of a comparison, as PNG bytes."""
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    if isinstance(subject, EvalRun):
        _draw_run(figure, subject)
    else:
        _draw_comparison(figure, subject)
    FigureCanvasAgg(figure)  # the Agg canvas draws it; no global backend is set
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _percent_axis(axes: Axes) -> None:
    axes.set_ylim(0, 112)
    axes.set_yticks([0, 25, 50, 75, 100])
    axes.set_yticklabels(["0%", "25%", "50%", "75%", "100%"])
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _bars(
    axes: Axes,
    positions: Sequence[float],
    values: Sequence[float | None],
    *,
    width: float,
    colour: str,
    label: str | None = None,
) -> None:
    heights = [v or 0.0 for v in values]
    axes.bar(positions, heights, width=width, color=colour, label=label)
    for x, value in zip(positions, values, strict=True):
        text = "n/a" if value is None else f"{value:.0f}%"
        axes.text(x, (value or 0.0) + 2, text, ha="center", va="bottom", fontsize=9)


def _draw_run(figure: Figure, run: EvalRun) -> None:
    s = run.scores
    title = f"Evaluation of {short(run.model_version)}"
    if run.name:
        title += f" — {short(run.name, 30)}"
    figure.suptitle(title, fontsize=14, fontweight="bold")
    axes = figure.add_subplot(1, 1, 1)
    _bars(axes, range(len(METRICS)), metric_values(s), width=0.6, colour=RUN_COLOUR)
    axes.set_xticks(range(len(METRICS)))
    axes.set_xticklabels(METRICS)
    _percent_axis(axes)
    stamp = run.created_at.strftime("%Y-%m-%d %H:%M UTC")
    axes.set_title(
        f"{_count(s.cases, 'case')} · {s.passed} passed · {_count(s.errors, 'error')} · {stamp}",
        fontsize=10,
    )
    figure.subplots_adjust(left=0.08, right=0.97, top=0.84, bottom=0.1)


def _draw_comparison(figure: Figure, comparison: EvalComparison) -> None:
    before, after = comparison.before, comparison.after
    delta = comparison.pass_rate_delta * 100
    figure.suptitle(
        f"{short(before.model_version, 32)} → {short(after.model_version, 32)}: "
        f"pass rate {delta:+.1f} points",
        fontsize=14,
        fontweight="bold",
    )
    grid = figure.add_gridspec(1, 2, width_ratios=(3, 2), wspace=0.3)
    scores = figure.add_subplot(grid[0, 0])
    width = 0.38
    left = [i - width / 2 for i in range(len(METRICS))]
    right = [i + width / 2 for i in range(len(METRICS))]
    _bars(
        scores,
        left,
        metric_values(before.scores),
        width=width,
        colour=BEFORE_COLOUR,
        label=f"before: {short(before.model_version, 28)}",
    )
    _bars(
        scores,
        right,
        metric_values(after.scores),
        width=width,
        colour=AFTER_COLOUR,
        label=f"after: {short(after.model_version, 28)}",
    )
    scores.set_xticks(range(len(METRICS)))
    scores.set_xticklabels(METRICS)
    _percent_axis(scores)
    scores.legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=2, frameon=False)
    scores.set_title("Scores on the same cases", fontsize=10)

    changes = figure.add_subplot(grid[0, 1])
    counts = change_counts(comparison)
    kinds = list(CaseChange)
    values = [counts[k] for k in kinds]
    changes.barh(range(len(kinds)), values, color=[CHANGE_COLOURS[k] for k in kinds], height=0.6)
    changes.set_yticks(range(len(kinds)))
    changes.set_yticklabels([k.value.replace("_", " ") for k in kinds])
    changes.invert_yaxis()
    top = max([*values, 1])
    changes.set_xlim(0, top * 1.25)
    changes.xaxis.set_major_locator(MaxNLocator(integer=True))
    for y, value in enumerate(values):
        changes.text(value + top * 0.02, y, str(value), va="center", fontsize=10)
    for side in ("top", "right"):
        changes.spines[side].set_visible(False)
    note = f"{len(comparison.cases)} cases matched"
    if comparison.unmatched:
        note += f", {comparison.unmatched} unmatched"
    changes.set_title(f"Per-case changes ({note})", fontsize=10)
    figure.subplots_adjust(left=0.07, right=0.97, top=0.84, bottom=0.17)

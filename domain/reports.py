"""Evaluation reports: a run or a comparison as markdown (for people) and JSON (for tools).

Rendering only; :mod:`domain.scoring` computes what they show.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from domain.models import CaseChange, CaseResult, EvalComparison, EvalRun, EvalScores, TestCase
from domain.scoring import change_counts

REPORT_SCHEMA = 1
_CELL_LIMIT = 160


def cell(text: str | None, *, limit: int = _CELL_LIMIT) -> str:
    """Text made safe for one markdown table cell: no pipes or newlines, bounded."""
    if text is None or text == "":
        return "—"
    flat = " ".join(text.split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat.replace("\\", "\\\\").replace("|", "\\|")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _mark(value: bool | None) -> str:
    return "—" if value is None else ("✓" if value else "✗")


def _verdict(result: CaseResult) -> str:
    if result.error is not None:
        return f"error: {cell(result.error, limit=80)}"
    if result.passed:
        return "pass"
    why = []
    if result.missing and len(result.case.required) > 1:
        why.append("missing " + _phrase_list(result.missing))
    if result.forbidden:
        why.append("has forbidden " + _phrase_list(result.forbidden))
    return "fail" + (f" ({'; '.join(why)})" if why else "")


def _case_title(case: TestCase) -> str:
    return (
        f"**{cell(case.name, limit=40)}** {cell(case.input, limit=100)}"
        if case.name
        else cell(case.input, limit=120)
    )


def _phrase_list(phrases: Sequence[str]) -> str:
    return ", ".join(f"“{cell(p, limit=60)}”" for p in phrases)


def _expectation(case: TestCase) -> str:
    parts = []
    if case.expected is not None:
        parts.append(cell(case.expected, limit=100))
    if case.require:
        parts.append(
            ("also: " if case.expected is not None else "all of: ") + _phrase_list(case.require)
        )
    if case.forbid:
        parts.append("none of: " + _phrase_list(case.forbid))
    if case.label is not None:
        parts.append(f"label: {cell(case.label, limit=40)}")
    return "<br>".join(parts) or "—"


def _scores_json(scores: EvalScores) -> dict[str, object]:
    return {**dataclasses.asdict(scores), "pass_rate": scores.pass_rate}


def _result_json(result: CaseResult) -> dict[str, object]:
    case = result.case
    return {
        "name": case.name,
        "input": case.input,
        "expected": case.expected,
        "label": case.label,
        "require": list(case.require),
        "forbid": list(case.forbid),
        "answer": result.answer,
        "exact": result.exact,
        "contains": result.contains,
        "missing": list(result.missing),
        "forbidden": list(result.forbidden),
        "label_correct": result.label_correct,
        "passed": result.passed,
        "error": result.error,
    }


def _run_header_json(run: EvalRun) -> dict[str, object]:
    return {
        "id": run.id,
        "name": run.name,
        "model_version": run.model_version,
        "created_at": run.created_at.isoformat(),
        "created_by": run.created_by.name,
        "scores": _scores_json(run.scores),
    }


def run_to_json(run: EvalRun) -> dict[str, object]:
    """Everything about a run, including what a chart needs (scores per metric)."""
    return {
        "kind": "evaluation",
        "schema": REPORT_SCHEMA,
        "run": _run_header_json(run),
        "results": [_result_json(r) for r in run.results],
    }


def comparison_to_json(comparison: EvalComparison) -> dict[str, object]:
    """Both runs' scores, the per-case changes and their counts."""
    return {
        "kind": "comparison",
        "schema": REPORT_SCHEMA,
        "before": _run_header_json(comparison.before),
        "after": _run_header_json(comparison.after),
        "pass_rate_delta": comparison.pass_rate_delta,
        "unmatched": comparison.unmatched,
        "changes": {change.value: n for change, n in change_counts(comparison).items()},
        "cases": [
            {
                "name": pair.after.case.name,
                "input": pair.input,
                "change": pair.change.value,
                "before": _result_json(pair.before),
                "after": _result_json(pair.after),
            }
            for pair in comparison.cases
        ],
    }


def _run_line(run: EvalRun) -> str:
    stamp = run.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return f"model version `{cell(run.model_version)}` · run `{run.id}` · {stamp}"


def _forbidden_row(run: EvalRun) -> list[str]:
    """A summary row for the cases with forbidden phrases, when there are any."""
    checked = [r for r in run.results if r.case.forbid]
    if not checked:
        return []
    said = sum(1 for r in checked if r.forbidden)
    return [f"| said a forbidden phrase | {said} of {len(checked)} cases |"]


def run_markdown(run: EvalRun) -> str:
    s = run.scores
    lines = [
        f"# Evaluation{': ' + cell(run.name, limit=80) if run.name else ''}",
        "",
        _run_line(run) + f" · by {cell(run.created_by.name, limit=40)}",
        "",
        "| metric | value |",
        "|---|---|",
        f"| cases | {s.cases} |",
        f"| passed | {s.passed} ({_pct(s.pass_rate)}) |",
        f"| exact | {_pct(s.exact)} |",
        f"| contains | {_pct(s.contains)} |",
        f"| label accuracy | {_pct(s.label_accuracy)} |",
        f"| errors | {s.errors} |",
        *_forbidden_row(run),
        "",
        "## Cases",
        "",
        "| # | case | expected | answer | exact | contains | label | result |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, r in enumerate(run.results, 1):
        exact = _mark(r.exact) if r.case.expected is not None else "—"
        contains = _mark(r.contains) if r.case.required else "—"
        lines.append(
            f"| {i} | {_case_title(r.case)} | {_expectation(r.case)} | {cell(r.answer)} "
            f"| {exact} | {contains} | {_mark(r.label_correct)} | {_verdict(r)} |"
        )
    return "\n".join(lines) + "\n"


def comparison_markdown(comparison: EvalComparison) -> str:
    b, a = comparison.before.scores, comparison.after.scores
    counts = change_counts(comparison)
    delta = comparison.pass_rate_delta * 100
    lines = [
        f"# Comparison: `{cell(comparison.before.model_version)}` → "
        f"`{cell(comparison.after.model_version)}`",
        "",
        f"- before: {_run_line(comparison.before)}",
        f"- after: {_run_line(comparison.after)}",
        "",
        "| metric | before | after |",
        "|---|---|---|",
        f"| pass rate | {_pct(b.pass_rate)} | {_pct(a.pass_rate)} |",
        f"| exact | {_pct(b.exact)} | {_pct(a.exact)} |",
        f"| contains | {_pct(b.contains)} | {_pct(a.contains)} |",
        f"| label accuracy | {_pct(b.label_accuracy)} | {_pct(a.label_accuracy)} |",
        f"| errors | {b.errors} | {a.errors} |",
        "",
        f"Pass rate change: **{delta:+.1f} points**. "
        f"Fixed {counts[CaseChange.FIXED]}, broken {counts[CaseChange.BROKEN]}, "
        f"still passing {counts[CaseChange.STILL_PASSING]}, "
        f"still failing {counts[CaseChange.STILL_FAILING]}, "
        f"unmatched {comparison.unmatched}.",
        "",
        "## Cases",
        "",
        "| # | case | change | before | after |",
        "|---|---|---|---|---|",
    ]
    for i, pair in enumerate(comparison.cases, 1):
        lines.append(
            f"| {i} | {_case_title(pair.after.case)} | {pair.change.value.replace('_', ' ')} "
            f"| {_verdict(pair.before)}: {cell(pair.before.answer, limit=100)} "
            f"| {_verdict(pair.after)}: {cell(pair.after.answer, limit=100)} |"
        )
    return "\n".join(lines) + "\n"

"""Rendering domain values as short Discord markdown, in the user's language."""

from __future__ import annotations

from collections.abc import Sequence

import discord

from adapters.discord.attachments import size_text
from adapters.discord.i18n import t
from domain.models import (
    Artifact,
    CaseChange,
    Dataset,
    EvalComparison,
    EvalRun,
    Example,
    JobStatus,
    ModelVersion,
    Proposal,
    ProposalStatus,
    TrainingJob,
)
from domain.scoring import change_counts
from domain.services.datasets import DatasetView, Removed

_STATUS_ICON = {
    JobStatus.QUEUED: "⏳",
    JobStatus.RUNNING: "⚙️",
    JobStatus.SUCCEEDED: "✅",
    JobStatus.FAILED: "❌",
    JobStatus.CANCELLED: "🛑",
}
_PROPOSAL_ICON = {
    ProposalStatus.PENDING: "⏳",
    ProposalStatus.APPROVED: "✅",
    ProposalStatus.REJECTED: "❌",
}


def clip(text: str, width: int = 80) -> str:
    """One line of at most ``width`` characters, safe inside inline code."""
    line = " ".join(text.split()).replace("`", "ʹ")
    return line if len(line) <= width else line[: width - 1] + "…"


def bar(fraction: float, width: int = 12) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled)


def datasets(lang: str, found: Sequence[Dataset], selected: str | None) -> str:
    if not found:
        return t(lang, "dataset.none")
    lines = [t(lang, "dataset.list_title")]
    for d in found:
        mark = " ⭐" if d.name == selected else ""
        about = f" — {clip(d.description, 60)}" if d.description else ""
        lines.append(
            f"• `{d.name}`{mark}: {t(lang, 'dataset.count', count=d.example_count)}{about}"
        )
    if selected:
        lines.append(t(lang, "dataset.selected_note"))
    return "\n".join(lines)


def provenance(lang: str, example: Example) -> str:
    """Where an example came from and who let it in, in one line."""
    p = example.provenance
    if p is None:
        return t(lang, "dataset.before_provenance", source=example.source.value)
    parts = [clip(p.detail or p.origin.value, 90)]
    if p.approved_by is not None:
        when = f" {discord.utils.format_dt(p.approved_at, 'd')}" if p.approved_at else ""
        parts.append(t(lang, "dataset.approved_by", who=clip(p.approved_by.name, 40)) + when)
    return "; ".join(parts)


def dataset_view(lang: str, view: DatasetView) -> str:
    d = view.dataset
    lines = [f"**{d.name}** — {t(lang, 'dataset.count', count=d.example_count)}"]
    if d.description:
        lines.append(clip(d.description, 200))
    for number, example in enumerate(view.examples, 1):
        prompt, answer = clip(example.prompt, 60), clip(example.answer, 80)
        lines.append(f"{number}. `{example.id[:8]}` `{prompt}` → {answer}")
        if example.rejected:
            lines.append(f"   ✗ {clip(example.rejected, 80)}")
        lines.append(f"   ↳ {provenance(lang, example)}")
    if not view.examples:
        lines.append(t(lang, "dataset.empty"))
    return "\n".join(lines)


def removed(lang: str, gone: Removed) -> str:
    e = gone.example
    lines = [t(lang, "dataset.removed", id=e.id[:8], name=e.dataset, prompt=clip(e.prompt, 60))]
    if gone.active_version:
        lines.append(t(lang, "dataset.removed_active", version=gone.active_version, name=e.dataset))
    return "\n".join(lines)


def proposals(lang: str, mine: Sequence[Proposal]) -> str:
    """A member's own proposals with what became of them."""
    if not mine:
        return t(lang, "proposals.none")
    lines = [t(lang, "proposals.title")]
    for p in mine:
        answer = clip(p.proposed_answer, 60) if p.proposed_answer else t(lang, "proposals.downvote")
        status = t(lang, f"proposals.status.{p.status.value}")
        line = (
            f"{_PROPOSAL_ICON[p.status]} `{p.id[:8]}` {discord.utils.format_dt(p.created_at, 'd')}"
            f" · `{clip(p.question, 50)}` → {answer} · **{status}**"
        )
        if p.reason:
            line += f" ({t(lang, 'proposals.reason', reason=clip(p.reason, 120))})"
        lines.append(line)
    return "\n".join(lines)


def artifact(lang: str, found: Artifact) -> str:
    return t(lang, "files.written", name=found.name, size=size_text(found.size))


def job(lang: str, j: TrainingJob) -> str:
    icon = _STATUS_ICON[j.status]
    status = t(lang, f"job.status.{j.status.value}")
    lines = [
        t(
            lang,
            "job.title",
            id=j.id[:8],
            dataset=j.dataset,
            count=j.example_count,
            backend=j.backend,
        ),
        f"{icon} **{status}** `{bar(j.progress)}` {round(j.progress * 100)}%",
    ]
    if j.message and not j.status.finished:
        lines.append(f"-# {clip(j.message, 120)}")
    if j.status is JobStatus.SUCCEEDED and j.model_version:
        lines.append(t(lang, "job.produced", version=j.model_version))
    if j.error:
        lines.append(f"> {clip(j.error, 300)}")
    return "\n".join(lines)


def job_line(lang: str, j: TrainingJob) -> str:
    status = t(lang, f"job.status.{j.status.value}")
    made = f" → `{j.model_version}`" if j.model_version else ""
    when = j.created_at.strftime("%Y-%m-%d %H:%M")
    return f"{_STATUS_ICON[j.status]} `{j.id[:8]}` {j.dataset} · {status} · {when}{made}"


def jobs(lang: str, found: Sequence[TrainingJob]) -> str:
    if not found:
        return t(lang, "job.none")
    return "\n".join([t(lang, "job.list_title"), *(job_line(lang, j) for j in found)])


def versions(
    lang: str, found: Sequence[ModelVersion], active: str | None, base: str | None = None
) -> str:
    if not found:
        return t(lang, "model.none")
    lines = [t(lang, "model.list_title")]
    for v in reversed(found):
        mark = f" — **{t(lang, 'model.active')}**" if v.name == active else ""
        if v.name == base:
            mark += f" — {t(lang, 'model.base')}"
        notes = f" · {clip(v.notes, 60)}" if v.notes else ""
        lines.append(f"• `{v.name}`{mark}{notes}")
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def eval_run(lang: str, run: EvalRun, *, failures: int = 5) -> str:
    s = run.scores
    lines = [
        t(lang, "test.title", version=run.model_version, id=run.id[:8]),
        t(
            lang,
            "test.scores",
            passed=s.passed,
            cases=s.cases,
            rate=_pct(s.pass_rate),
            exact=_pct(s.exact),
            contains=_pct(s.contains),
        ),
    ]
    if s.label_accuracy is not None:
        lines.append(t(lang, "test.labels", accuracy=_pct(s.label_accuracy)))
    if s.errors:
        lines.append(t(lang, "test.errors", count=s.errors))
    failed = [r for r in run.results if not r.passed][:failures]
    for result in failed:
        got = result.error or result.answer
        line = f"✗ `{clip(result.case.input, 60)}` → {clip(got, 80)}"
        if result.missing:
            line += " · " + t(lang, "test.missing", phrases=_phrases(result.missing))
        if result.forbidden:
            line += " · " + t(lang, "test.forbidden", phrases=_phrases(result.forbidden))
        lines.append(line)
    return "\n".join(lines)


def _phrases(phrases: Sequence[str]) -> str:
    return ", ".join(f"“{clip(p, 30)}”" for p in phrases[:4]) + (" …" if len(phrases) > 4 else "")


def comparison(lang: str, c: EvalComparison) -> str:
    counts = change_counts(c)
    return t(
        lang,
        "test.compared",
        before=c.before.model_version,
        delta=f"{c.pass_rate_delta * 100:+.0f}",
        fixed=counts.get(CaseChange.FIXED, 0),
        broken=counts.get(CaseChange.BROKEN, 0),
    )

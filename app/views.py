"""Terminal views: one async function per command, a service call and a rendering.

No business rule lives here; every check happens in the domain services.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape as esc
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from app.session import Session
from domain.errors import InvalidInput
from domain.models import (
    Artifact,
    EvalComparison,
    EvalRun,
    EvalStatus,
    Example,
    JobOwner,
    JobStatus,
    Proposal,
    ProposalKind,
    TrainingJob,
    utcnow,
)
from domain.services.datasets import ExportFormat
from domain.services.evaluation import EvalProgress
from domain.testcases import TestSetLimits, parse_test_cases

if TYPE_CHECKING:
    from app.backup import BackupResult, RestoreResult
    from app.settings import Settings


def _short(text: str, width: int = 60) -> str:
    """One line of at most ``width`` characters, safe inside rich markup."""
    text = " ".join(text.split())
    return esc(text if len(text) <= width else text[: width - 1] + "…")


# --------------------------------------------------------------------------- datasets


async def dataset_list(s: Session) -> None:
    datasets = await s.container.datasets.all()
    selected = await s.container.datasets.selected()
    if not datasets:
        s.console.print("No datasets yet. Create one with `dataset create NAME`.")
        return
    table = Table("name", "examples", "description", title="Datasets")
    for d in datasets:
        mark = " (selected)" if selected and selected.name == d.name else ""
        table.add_row(esc(d.name) + mark, str(d.example_count), _short(d.description, 40))
    s.console.print(table)


async def dataset_create(s: Session, name: str, description: str) -> None:
    d = await s.container.datasets.create(name, s.actor, description=description)
    s.console.print(f"Created dataset [bold]{esc(d.name)}[/bold].")


async def dataset_show(s: Session, name: str, limit: int) -> None:
    view = await s.container.datasets.show(name, limit=limit)
    d = view.dataset
    removed = f" ({d.removed_count} removed)" if d.removed_count else ""
    s.console.print(
        f"[bold]{esc(d.name)}[/bold]: {d.example_count} examples{removed}. {esc(d.description)}"
    )
    table = Table("id", "prompt", "answer", "rejected", "provenance")
    for e in view.examples:
        table.add_row(
            e.id[:8],
            _short(e.prompt, 36),
            _short(e.answer, 36),
            _short(e.rejected or "", 24),
            esc(provenance_line(e)),
        )
    if view.examples:
        s.console.print(table)
        s.console.print("`dataset remove ID` takes an example out.", markup=False)


def provenance_line(e: Example) -> str:
    """Where an example came from and who let it in, in one line."""
    p = e.provenance
    if p is None:
        return f"{e.source.value} (before provenance was recorded)"
    parts = [p.detail or p.origin.value]
    if p.approved_by is not None:
        when = f" {p.approved_at:%Y-%m-%d %H:%M}" if p.approved_at else ""
        parts.append(f"approved by {p.approved_by.name}{when}")
    return "; ".join(parts)


async def dataset_remove(s: Session, example: str) -> None:
    removed = await s.container.datasets.remove_example(example, s.actor)
    e = removed.example
    s.console.print(
        f"Removed example {e.id[:8]} from [bold]{esc(e.dataset)}[/bold] "
        f"({_short(e.prompt, 50)}); it is kept as removed and never trained on again."
    )
    if removed.active_version:
        s.console.print(
            f"The active version [bold]{esc(removed.active_version)}[/bold] was trained on it: "
            f"run `train start {esc(e.dataset)}` to make a version without it."
        )


async def dataset_add(
    s: Session, name: str, prompt: str, answer: str, rejected: str | None, label: str | None
) -> None:
    await s.container.datasets.add_example(
        name, s.actor, prompt=prompt, answer=answer, rejected=rejected, label=label
    )
    s.console.print(f"Added one example to [bold]{esc(name)}[/bold].")


async def dataset_import(s: Session, name: str, path: Path) -> None:
    limit = s.container.settings.datasets.max_file_bytes
    size = (await asyncio.to_thread(path.stat)).st_size
    if size > limit:
        raise InvalidInput(f"{path.name} is {size:,} bytes; the limit is {limit:,} bytes.")
    data = await asyncio.to_thread(path.read_bytes)
    report = await s.container.datasets.import_file(name, s.actor, filename=path.name, data=data)
    s.console.print(
        f"Imported {report.added} examples into [bold]{esc(report.dataset.name)}[/bold] "
        f"(now {report.dataset.example_count})."
    )


async def dataset_select(s: Session, name: str) -> None:
    d = await s.container.datasets.select(name, s.actor)
    s.console.print(f"Selected [bold]{esc(d.name)}[/bold] for training.")


async def dataset_export(s: Session, name: str, fmt: str) -> None:
    try:
        export_format = ExportFormat(fmt.lower())
    except ValueError:
        raise InvalidInput(f"Unknown format {fmt!r}: use sft or dpo.") from None
    artifact = await s.container.datasets.export(name, s.actor, fmt=export_format)
    s.console.print(
        f"Wrote [bold]{esc(artifact.name)}[/bold] ({artifact.size:,} bytes) to the artifact store."
    )


async def dataset_archive(s: Session, name: str) -> None:
    artifact = await s.container.datasets.archive(name, s.actor)
    s.console.print(
        f"Wrote [bold]{esc(artifact.name)}[/bold] ({artifact.size:,} bytes) to the artifact store."
    )


# --------------------------------------------------------------------------- training


def _parse_options(pairs: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidInput(f"Options are key=value; got {pair!r}.")
        options[key.strip()] = value.strip()
    return options


def _job_line(job: TrainingJob, me: JobOwner, now: datetime) -> str:
    line = (
        f"{job.id}  {job.status.value:<9}  {job.dataset} "
        f"({job.example_count} examples, {job.backend})"
    )
    if job.status is JobStatus.RUNNING:
        line += f"  {job.progress:.0%} {job.message}"
    if not job.status.finished:
        line += f"  — {_holder(job, me, now)}"
    if job.model_version:
        line += f"  → {job.model_version}"
    if job.error:
        line += f"  error: {job.error}"
    return line


BOT_TAKES_OVER = "the bot's next start (`trainerbot run` or `trainerbot chat`) takes it over"
IF_IT_STOPS = (
    "If that process stops, the bot (`trainerbot run`, `trainerbot chat`) takes the job over; "
    "any other command marks it failed, interrupted."
)


def _holder(job: TrainingJob, me: JobOwner, now: datetime) -> str:
    """Who holds an unfinished job, and when it last said so."""
    owner = job.owner
    if owner is None:
        return f"handed back when the bot stopped: {BOT_TAKES_OVER}"
    where = "this process" if owner.token == me.token else f"process {owner.pid}"
    if owner.host and owner.host != me.host:
        where += f" on {owner.host}"
    state = "running" if job.status is JobStatus.RUNNING else "queued"
    if job.heartbeat_at is None:
        return f"{state} in {where}, no heartbeat yet"
    return f"{state} in {where}, last heartbeat {_age(now - job.heartbeat_at)} ago"


def _age(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


async def train_start(
    s: Session, dataset: str | None, backend: str | None, options: list[str]
) -> None:
    training = s.container.training
    job = await training.start(
        s.actor, dataset=dataset, backend=backend, options=_parse_options(options)
    )
    s.console.print(
        f"Started job [bold]{job.id}[/bold] on {esc(job.dataset)} ({job.example_count} examples)."
    )
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=s.console,
        transient=False,
    ) as progress:
        task = progress.add_task("queued", total=1.0)

        async def update(changed: TrainingJob) -> None:
            if changed.id == job.id:
                progress.update(
                    task,
                    completed=changed.progress,
                    description=changed.message or changed.status.value,
                )

        unsubscribe = training.watch(update)
        try:
            final = await training.wait(job.id)
        finally:
            unsubscribe()
        progress.update(task, completed=final.progress)
    _print_job_result(s, final)


def _print_job_result(s: Session, job: TrainingJob) -> None:
    if job.status is JobStatus.SUCCEEDED:
        s.console.print(
            f"[green]Job {job.id} succeeded[/green]: "
            f"model version [bold]{esc(job.model_version or '')}[/bold]."
        )
    elif job.status is JobStatus.FAILED:
        s.console.print(f"Job {job.id} failed: {job.error}", style="red", markup=False)
    else:
        s.console.print(f"Job {job.id} is {job.status.value}.")


async def train_status(s: Session, job_id: str) -> None:
    training = s.container.training
    job = await training.get(job_id)
    s.console.print(_job_line(job, training.owner, utcnow()), markup=False)
    if _held_elsewhere(job, training.owner):
        s.console.print(IF_IT_STOPS, markup=False)


async def train_cancel(s: Session, job_id: str) -> None:
    job = await s.container.training.cancel(job_id, s.actor)
    s.console.print(f"Job {job.id} is {job.status.value}.")


async def train_list(s: Session, limit: int) -> None:
    training = s.container.training
    jobs = await training.all(limit=limit)
    if not jobs:
        s.console.print("No training jobs yet. Start one with `train start`.")
    now = utcnow()
    for job in jobs:
        s.console.print(_job_line(job, training.owner, now), markup=False)
    if any(_held_elsewhere(j, training.owner) for j in jobs):
        s.console.print(IF_IT_STOPS, markup=False)


def _held_elsewhere(job: TrainingJob, me: JobOwner) -> bool:
    return not job.status.finished and job.owner is not None and job.owner != me


# --------------------------------------------------------------------------- evaluation


def print_run(s: Session, run: EvalRun) -> None:
    sc = run.scores
    s.console.print(
        f"Run [bold]{run.id}[/bold] on {esc(run.model_version)}: {sc.passed}/{sc.cases} passed "
        f"({sc.pass_rate:.0%}), exact {sc.exact:.0%}, contains {sc.contains:.0%}"
        + (f", label accuracy {sc.label_accuracy:.0%}" if sc.label_accuracy is not None else "")
        + (f", {sc.errors} errors" if sc.errors else "")
        + esc(_run_state(s, run))
    )


def _run_state(s: Session, run: EvalRun) -> str:
    """How far an unfinished run got, and what happens next."""
    if run.status is EvalStatus.COMPLETE:
        return ""
    of = f"{len(run.results)} of {len(run.results) + len(run.pending)} cases"
    if run.status is EvalStatus.INTERRUPTED:
        return f" — interrupted after {of}: `eval run --resume {run.id[:8]}` finishes it"
    me = s.container.evaluation.owner
    where = "this process"
    if run.owner is not None and run.owner.token != me.token:
        where = f"process {run.owner.pid}"
        if run.owner.host and run.owner.host != me.host:
            where += f" on {run.owner.host}"
    beat = f", last heartbeat {_age(utcnow() - run.heartbeat_at)} ago" if run.heartbeat_at else ""
    return f" — running in {where}, {of} so far{beat}"


async def eval_run(
    s: Session, path: Path | None, version: str | None, name: str, resume: str | None = None
) -> None:
    if resume is not None:
        if path is not None or version is not None or name:
            raise InvalidInput(
                "`eval run --resume RUN` goes on with the run's own cases and model version: "
                "leave out the file, --version and --name."
            )
        await _eval_with_progress(
            s, lambda report: s.container.evaluation.resume(resume, s.actor, report=report)
        )
        return
    if path is None:
        raise InvalidInput(
            "Name a test-set file to run, or `--resume RUN` to finish an interrupted run."
        )
    data = await asyncio.to_thread(path.read_bytes)
    settings = s.container.settings
    limits = TestSetLimits(  # bytes and text length as for a dataset file
        max_cases=settings.evaluation.max_cases,
        max_bytes=settings.datasets.max_file_bytes,
        max_chars=settings.datasets.max_text_chars,
    )
    cases = parse_test_cases(path.name, data, limits=limits)
    await _eval_with_progress(
        s,
        lambda report: s.container.evaluation.run(
            cases, s.actor, version=version, name=name, report=report
        ),
    )


async def _eval_with_progress(
    s: Session, start: Callable[[EvalProgress], Awaitable[EvalRun]]
) -> None:
    with Progress(
        TextColumn("evaluating"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        console=s.console,
        transient=True,
    ) as progress:
        task = progress.add_task("eval", total=1.0)

        async def report(fraction: float, message: str) -> None:
            progress.update(task, completed=fraction)

        run = await start(report)
    print_run(s, run)
    print_reports(s, await s.container.evaluation.write_report(run))


def print_reports(s: Session, artifacts: list[Artifact]) -> None:
    """The report files' names, and the folder they are in when they are on disk."""
    s.console.print("Report: " + ", ".join(a.name for a in artifacts), markup=False)
    root = getattr(s.container.artifacts, "root", None)  # the file system store has one
    if isinstance(root, Path):
        s.console.print(f"  in {os.path.abspath(root)}{os.sep}", markup=False)


def print_comparison(s: Session, cmp: EvalComparison) -> None:
    s.console.print(
        f"{cmp.before.model_version} → {cmp.after.model_version}: pass rate "
        f"{cmp.before.scores.pass_rate:.0%} → {cmp.after.scores.pass_rate:.0%} "
        f"({cmp.pass_rate_delta:+.0%})"
    )
    table = Table("case", "change", "before", "after")
    for c in cmp.cases:
        table.add_row(
            _short(c.input, 40),
            c.change.value,
            _short(c.before.answer, 30),
            _short(c.after.answer, 30),
        )
    s.console.print(table)
    if cmp.unmatched:
        s.console.print(f"{cmp.unmatched} cases appear in only one of the runs.")


async def eval_compare(s: Session, before: str, after: str) -> None:
    cmp = await s.container.evaluation.compare(before, after)
    print_comparison(s, cmp)
    print_reports(s, await s.container.evaluation.write_report(cmp))


async def eval_list(s: Session, limit: int) -> None:
    runs = await s.container.evaluation.all(limit=limit)
    if not runs:
        s.console.print("No evaluation runs yet.")
    for run in runs:
        print_run(s, run)


# --------------------------------------------------------------------------- models


async def models_list(s: Session) -> None:
    active = await s.container.models.active()
    base = await s.container.models.base_name()
    table = Table("version", "llm model", "memory", "job", "created")
    for v in await s.container.models.all():
        mark = "* " if v.name == active.name else "  "
        table.add_row(
            mark + esc(v.name) + (" (base)" if v.name == base else ""),
            esc(v.llm_model),
            v.memory or "",
            (v.job_id or "")[:8],
            f"{v.created_at:%Y-%m-%d %H:%M}",
        )
    s.console.print(table)
    s.console.print(
        "* answers now · (base): the language model without any taught memory; "
        "`base` names it, e.g. `eval run FILE --version base`, `models use base`.",
        markup=False,
    )


async def models_use(s: Session, name: str) -> None:
    v = await s.container.models.activate(name, s.actor)
    s.console.print(f"Now answering with [bold]{esc(v.name)}[/bold].")


async def models_rollback(s: Session) -> None:
    v = await s.container.models.rollback(s.actor)
    s.console.print(f"Rolled back; now answering with [bold]{esc(v.name)}[/bold].")


# --------------------------------------------------------------------------- review


def _proposal_line(p: Proposal) -> str:
    what = "👎, no answer proposed" if p.kind is ProposalKind.DOWNVOTE else "correction"
    return f"{p.id[:8]}  {p.created_at:%Y-%m-%d %H:%M}  {p.proposer.name}  ({what})"


async def review_list(s: Session, limit: int) -> None:
    pending = await s.container.review.pending(s.actor, limit=limit)
    total = await s.container.review.count_pending(s.actor)
    if not pending:
        s.console.print("Nothing waits for review.")
        return
    table = Table("id", "proposed", "by", "kind", "question", "proposed answer")
    for p in pending:
        table.add_row(
            p.id[:8],
            f"{p.created_at:%Y-%m-%d %H:%M}",
            esc(p.proposer.name),
            p.kind.value,
            _short(p.question, 36),
            _short(p.proposed_answer or "—", 36),
        )
    s.console.print(table)
    s.console.print(
        f"{total} pending, oldest first. `review show ID`, `review approve ID`, "
        "`review edit ID --answer TEXT`, `review reject ID [--reason TEXT]`.",
        markup=False,
    )


async def review_show(s: Session, ref: str) -> None:
    view = await s.container.review.show(ref, s.actor)
    p = view.proposal
    out = s.console
    out.print(_proposal_line(p) + f"  [{p.status.value}]", markup=False)
    out.print(f"[bold]Question:[/bold] {esc(p.question)}")
    out.print(f"[bold]Bot's answer:[/bold] {esc(p.answer)}")
    out.print(
        f"[bold]Proposed answer:[/bold] {esc(p.proposed_answer or '— (none: edit to write it)')}"
    )
    if p.reason:
        out.print(f"[bold]Reason:[/bold] {esc(p.reason)}")
    if view.related:
        out.print(f"[bold]The {esc(p.dataset)} dataset already says:[/bold]")
        for r in view.related:
            flag = "  [red]conflicts[/red]" if r.conflicting else ""
            out.print(f"  {r.example.id[:8]}  {_short(r.example.answer, 70)}{flag}")


async def review_approve(s: Session, ref: str) -> None:
    decision = await s.container.review.approve(ref, s.actor)
    _print_decision(s, decision.proposal, decision.example)


async def review_edit(s: Session, ref: str, answer: str) -> None:
    decision = await s.container.review.edit_and_approve(ref, s.actor, answer)
    _print_decision(s, decision.proposal, decision.example)


async def review_reject(s: Session, ref: str, reason: str | None) -> None:
    decision = await s.container.review.reject(ref, s.actor, reason)
    s.console.print(f"Rejected {decision.proposal.id[:8]}; it never reaches a dataset.")


async def review_mode(s: Session, mode: str | None, guild: str | None) -> None:
    where = f"guild {guild}" if guild else "the terminal"
    if mode is None:
        current = await s.container.review.mode(guild)
        s.console.print(f"Review mode for {esc(where)}: [bold]{current.value}[/bold].")
        return
    chosen = await s.container.review.set_mode(s.actor, guild, mode)
    s.console.print(f"Review mode for {esc(where)} is now [bold]{chosen.value}[/bold].")


def _print_decision(s: Session, p: Proposal, e: Example | None) -> None:
    into = f" into [bold]{esc(e.dataset)}[/bold] as example {e.id[:8]}" if e else ""
    s.console.print(f"Approved {p.id[:8]}{into}; `train start` makes a version that knows it.")


# --------------------------------------------------------------------------- backups


async def backup(console: Console, settings: Settings, path: Path | None, files_only: bool) -> None:
    from app.backup import write_backup  # SQLAlchemy and Alembic: not at CLI start-up

    result = await asyncio.to_thread(write_backup, settings, path, files_only=files_only)
    print_backup(console, result)


def _contents(files: list[str], database: str | None, revision: str | None) -> str:
    artifacts = sum(1 for f in files if f.startswith("artifacts/"))
    memories = {f.split("/")[1] for f in files if f.startswith("memories/mem-")}
    held = [f"the database (schema revision {revision})"] if database else []
    held += [_count(artifacts, "artifact"), _count(len(memories), "memory", "memories")]
    return ", ".join(held)


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def print_backup(console: Console, result: BackupResult) -> None:
    m = result.manifest
    files = [e.path for e in m.files]
    console.print(
        f"Wrote {os.path.abspath(result.path)} ({result.path.stat().st_size:,} bytes): "
        f"{_contents(files, m.database, m.schema_revision)}; {_count(len(files), 'file')}, each "
        "with its sha256 in manifest.json.",
        markup=False,
    )
    if m.database is None:
        console.print("Not included: the database (PostgreSQL: back it up with pg_dump).")
    console.print(
        "Not included: the model weights under models/ (`trainerbot models pull` fetches "
        "them again).",
        markup=False,
    )


async def restore(console: Console, settings: Settings, archive: Path, data_dir: Path) -> None:
    from app.backup import restore_backup

    result = await restore_backup(settings, archive, data_dir)
    print_restore(console, settings, archive, result)


def print_restore(
    console: Console, settings: Settings, archive: Path, result: RestoreResult
) -> None:
    m = result.manifest
    files = [e.path for e in m.files]
    console.print(
        f"Restored {archive.name} (made {m.created_at} by trainerbot {m.trainerbot_version}) "
        f"into {os.path.abspath(result.data_dir)}: "
        f"{_contents(files, m.database, m.schema_revision)}; every checksum matches "
        f"({_count(len(files), 'file')}).",
        markup=False,
    )
    if result.migrated_from is not None:
        console.print(
            f"The database was migrated from schema revision {result.migrated_from} to the "
            "current one.",
            markup=False,
        )
    if m.database is None:
        console.print("The archive holds no database: restore PostgreSQL with pg_restore.")
    if os.path.abspath(result.data_dir) != os.path.abspath(settings.data_dir):
        console.print(f"Use it with TRAINERBOT_DATA_DIR={result.data_dir}.", markup=False)
    console.print(
        "Model weights are not in backups: `trainerbot models pull` fetches the embedded "
        "model again.",
        markup=False,
    )

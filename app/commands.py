"""The management subcommands: ``dataset``, ``review``, ``train``, ``eval``, ``models``.

Every subcommand builds its work from a :class:`~app.session.Session` and hands
it to the runner in ``ctx.obj``: a one-shot runner outside the REPL, a deferred
one inside it — so ``trainerbot dataset list`` and ``/dataset list`` in the chat
are the same code. The ``trainerbot`` command line (``app.cli``) and the terminal
chat (``app.repl``) both import these groups from here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from app import views
from app.session import OneShotRunner, Runner, Work
from app.settings import Settings

dataset_app = typer.Typer(
    help="Curate datasets: create, import, export, archive.", no_args_is_help=True
)
train_app = typer.Typer(help="Training jobs on a dataset.", no_args_is_help=True)
eval_app = typer.Typer(
    help="Evaluate a model version on test cases and compare runs.", no_args_is_help=True
)
models_app = typer.Typer(
    help="Model versions: list, activate, roll back; pull the model files.", no_args_is_help=True
)
review_app = typer.Typer(
    help="The review queue: what members proposed the bot should learn.", no_args_is_help=True
)

GROUPS: tuple[tuple[str, typer.Typer], ...] = (
    ("dataset", dataset_app),
    ("review", review_app),
    ("train", train_app),
    ("eval", eval_app),
    ("models", models_app),
)

management = typer.Typer(
    name="trainerbot",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
"""The groups alone, as the terminal chat runs them (``/dataset list``)."""
for _name, _group in GROUPS:
    management.add_typer(_group, name=_name)


def _runner(ctx: typer.Context) -> Runner:
    obj = ctx.find_root().obj
    if obj is None:
        obj = OneShotRunner(Settings)
        ctx.find_root().obj = obj
    runner: Runner = obj
    return runner


def _go(ctx: typer.Context, work: Work) -> None:
    runner = _runner(ctx)
    runner.run(work)
    code = getattr(runner, "exit_code", 0)
    if code:
        raise typer.Exit(code)


# --------------------------------------------------------------------------- datasets


@dataset_app.command("list")
def dataset_list(ctx: typer.Context) -> None:
    """List datasets with their example counts."""
    _go(ctx, views.dataset_list)


@dataset_app.command("create")
def dataset_create(
    ctx: typer.Context,
    name: str,
    description: Annotated[str, typer.Option(help="What the dataset is for.")] = "",
) -> None:
    """Create an empty dataset."""
    _go(ctx, lambda s: views.dataset_create(s, name, description))


@dataset_app.command("show")
def dataset_show(
    ctx: typer.Context, name: str, limit: Annotated[int, typer.Option(min=1, max=100)] = 5
) -> None:
    """Show a dataset and its first examples."""
    _go(ctx, lambda s: views.dataset_show(s, name, limit))


@dataset_app.command("add")
def dataset_add(
    ctx: typer.Context,
    name: str,
    prompt: Annotated[str, typer.Option(help="The question.")],
    answer: Annotated[str, typer.Option(help="The ideal answer.")],
    rejected: Annotated[str | None, typer.Option(help="A worse answer (preference data).")] = None,
    label: Annotated[str | None, typer.Option(help="A label for classification sets.")] = None,
) -> None:
    """Add one example."""
    _go(ctx, lambda s: views.dataset_add(s, name, prompt, answer, rejected, label))


@dataset_app.command("import")
def dataset_import(
    ctx: typer.Context,
    name: str,
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
) -> None:
    """Import a JSONL, CSV, JSON, TXT or ZIP file (all or nothing)."""
    _go(ctx, lambda s: views.dataset_import(s, name, path))


@dataset_app.command("select")
def dataset_select(ctx: typer.Context, name: str) -> None:
    """Select the dataset that training uses by default."""
    _go(ctx, lambda s: views.dataset_select(s, name))


@dataset_app.command("export")
def dataset_export(
    ctx: typer.Context,
    name: str,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            help="sft: supervised chat JSONL, one conversation ending in the answer per "
            "example. dpo: preference JSONL, the answer preferred over the rejected one, "
            "for the examples that have a rejected answer.",
        ),
    ] = "sft",
) -> None:
    """Export as OpenAI fine-tuning JSONL into the artifact store: --format sft or dpo.

    sft (supervised fine-tuning) teaches the answers; dpo (direct preference
    optimisation) teaches to prefer each answer over its rejected one.
    """
    _go(ctx, lambda s: views.dataset_export(s, name, fmt))


@dataset_app.command("remove")
def dataset_remove(
    ctx: typer.Context,
    example: Annotated[str, typer.Argument(help="The example's id (or its start).")],
) -> None:
    """Take an example out: kept as removed (who, when), never trained on or exported again."""
    _go(ctx, lambda s: views.dataset_remove(s, example))


@dataset_app.command("archive")
def dataset_archive(ctx: typer.Context, name: str) -> None:
    """Write a zip with the exports, the raw examples and a manifest."""
    _go(ctx, lambda s: views.dataset_archive(s, name))


# --------------------------------------------------------------------------- review


@review_app.command("list")
def review_list(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=200)] = 20
) -> None:
    """Pending proposals, oldest first."""
    _go(ctx, lambda s: views.review_list(s, limit))


@review_app.command("show")
def review_show(ctx: typer.Context, proposal: str) -> None:
    """One proposal, with what the dataset already says about its question."""
    _go(ctx, lambda s: views.review_show(s, proposal))


@review_app.command("approve")
def review_approve(ctx: typer.Context, proposal: str) -> None:
    """Approve: the proposed answer becomes an example of the corrections dataset."""
    _go(ctx, lambda s: views.review_approve(s, proposal))


@review_app.command("edit")
def review_edit(
    ctx: typer.Context,
    proposal: str,
    answer: Annotated[str, typer.Option(help="The right answer, as it should be learned.")],
) -> None:
    """Approve with your own answer (also for a 👎 nobody corrected)."""
    _go(ctx, lambda s: views.review_edit(s, proposal, answer))


@review_app.command("reject")
def review_reject(
    ctx: typer.Context,
    proposal: str,
    reason: Annotated[str | None, typer.Option(help="Why; shown to the proposer.")] = None,
) -> None:
    """Reject: it never reaches a dataset."""
    _go(ctx, lambda s: views.review_reject(s, proposal, reason))


@review_app.command("mode")
def review_mode(
    ctx: typer.Context,
    mode: Annotated[
        str | None, typer.Argument(help="review, trainers-only or open; omit to show it.")
    ] = None,
    guild: Annotated[
        str | None, typer.Option(help="A Discord guild id; default the terminal.")
    ] = None,
) -> None:
    """Show or choose who may teach the bot: review, trainers-only or open."""
    _go(ctx, lambda s: views.review_mode(s, mode, guild))


# --------------------------------------------------------------------------- training


@train_app.command("start")
def train_start(
    ctx: typer.Context,
    dataset: Annotated[str | None, typer.Argument(help="Default: the selected dataset.")] = None,
    backend: Annotated[str | None, typer.Option(help="Training backend (default: local).")] = None,
    option: Annotated[
        list[str] | None, typer.Option("--option", "-o", help="key=value, e.g. activate=false")
    ] = None,
) -> None:
    """Start a training job and follow its progress."""
    _go(ctx, lambda s: views.train_start(s, dataset, backend, option or []))


@train_app.command("status")
def train_status(ctx: typer.Context, job_id: str) -> None:
    """Show one job."""
    _go(ctx, lambda s: views.train_status(s, job_id))


@train_app.command("cancel")
def train_cancel(ctx: typer.Context, job_id: str) -> None:
    """Cancel a queued or running job."""
    _go(ctx, lambda s: views.train_cancel(s, job_id))


@train_app.command("list")
def train_list(
    ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=200)] = 20
) -> None:
    """List recent jobs."""
    _go(ctx, lambda s: views.train_list(s, limit))


# --------------------------------------------------------------------------- evaluation


@eval_app.command("run")
def eval_run(
    ctx: typer.Context,
    path: Annotated[Path | None, typer.Argument(exists=True, dir_okay=False, readable=True)] = None,
    version: Annotated[
        str | None,
        typer.Option(
            help="Model version (default: the active one; base: the model without taught memory)."
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A name for this run.")] = "",
    resume: Annotated[
        str | None,
        typer.Option(
            metavar="RUN", help="Finish an interrupted run (its id): answer the cases it had left."
        ),
    ] = None,
) -> None:
    """Run a JSON/JSONL test set against a model version and write a report.

    A case is {"input": ..., "expected": ...}; "expected" may be a list of phrases
    that must all appear, "forbid" a list of phrases none of which may (docs/datasets.md).
    Results are stored as they come: a run that was stopped is listed as interrupted,
    and `eval run --resume RUN` finishes it.
    """
    _go(ctx, lambda s: views.eval_run(s, path, version, name, resume))


@eval_app.command("compare")
def eval_compare(ctx: typer.Context, before: str, after: str) -> None:
    """Compare two runs case by case (run ids)."""
    _go(ctx, lambda s: views.eval_compare(s, before, after))


@eval_app.command("list")
def eval_list(ctx: typer.Context, limit: Annotated[int, typer.Option(min=1, max=200)] = 20) -> None:
    """List recent evaluation runs."""
    _go(ctx, lambda s: views.eval_list(s, limit))


# --------------------------------------------------------------------------- models


@models_app.command("list")
def models_list(ctx: typer.Context) -> None:
    """List model versions; the active one and the base are marked."""
    _go(ctx, views.models_list)


@models_app.command("use")
def models_use(ctx: typer.Context, name: str) -> None:
    """Activate a model version (base: the model without taught memory)."""
    _go(ctx, lambda s: views.models_use(s, name))


@models_app.command("rollback")
def models_rollback(ctx: typer.Context) -> None:
    """Re-activate the version that was active before the current one."""
    _go(ctx, views.models_rollback)


@models_app.command("pull")
def models_pull(
    ctx: typer.Context,
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Model names from config/models.toml (default: all).", metavar="NAME"),
    ] = None,
) -> None:
    """Assemble (or download) and verify the model files, e.g. the embedded LLM's GGUF.

    Idempotent: a verified model is checked by size and its .sha256 record only.
    """
    from app.local_llm import pull_in_background, pull_models

    runner = ctx.find_root().obj
    if runner is not None and not isinstance(runner, OneShotRunner):  # inside the chat
        _go(ctx, lambda s: pull_in_background(s.container.settings, names or [], s.console))
        return
    from rich.console import Console

    from app.logging import configure_terminal_logging

    settings = Settings()
    configure_terminal_logging(
        level=settings.log.level, fmt=settings.log.format, data_dir=settings.data_dir, chat=False
    )
    raise typer.Exit(pull_models(settings, names or [], Console(highlight=False, soft_wrap=True)))

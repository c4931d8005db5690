"""The ``trainerbot`` command line: ``run``, ``chat``, ``backup``, ``restore``, and the
management groups from :mod:`app.commands` (``dataset``, ``review``, ``train``, ``eval``,
``models``), which the terminal chat runs too."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app import commands, views
from app.settings import Settings

app = typer.Typer(
    name="trainerbot",
    help="A Discord assistant your community can talk to and teach.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for _name, _group in commands.GROUPS:
    app.add_typer(_group, name=_name)


def _print_version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version

    try:
        typer.echo(f"trainerbot {version('trainerbot')}")
    except PackageNotFoundError:
        typer.echo("trainerbot (version unknown: the package is not installed)")
    raise typer.Exit()


@app.callback()
def _main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """A Discord assistant your community can talk to and teach."""


# --------------------------------------------------------------------------- run / chat


@app.command()
def run() -> None:
    """Run the bot: on Discord when a token is set, else the terminal chat."""
    from app.main import run_main

    raise typer.Exit(run_main())


@app.command()
def chat(
    conversation: Annotated[
        str | None, typer.Option(help="Conversation id (memory is kept per conversation).")
    ] = None,
) -> None:
    """Talk to the bot in the terminal; /help lists the slash commands.

    Reads from stdin when it is not a terminal, so it can be scripted.
    """
    from app.repl import run_repl

    raise typer.Exit(run_repl(Settings(), conversation=conversation))


# --------------------------------------------------------------------------- backups


@app.command()
def backup(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="The archive to write, or a folder for it; default "
            "<data dir>/backups/trainerbot-<UTC stamp>.zip."
        ),
    ] = None,
    files_only: Annotated[
        bool,
        typer.Option(
            "--files-only", help="Only the artifacts and memories (with PostgreSQL: use pg_dump)."
        ),
    ] = False,
) -> None:
    """Back up the database, artifacts and memories into one zip, safely while the bot runs.

    The model weights under models/ are not included: `models pull` fetches them again.
    """
    settings = Settings()
    _run_plain(settings, lambda console: views.backup(console, settings, path, files_only))


@app.command()
def restore(
    path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    data_dir: Annotated[
        Path | None,
        typer.Option(help="An empty or new folder to restore into; default the data directory."),
    ] = None,
) -> None:
    """Restore a backup into an empty data directory: checksums checked, all or nothing."""
    settings = Settings()
    target = data_dir or settings.data_dir
    _run_plain(settings, lambda console: views.restore(console, settings, path, target))


def _run_plain(
    settings: Settings, work: Callable[[Console], Coroutine[object, object, None]]
) -> None:
    """Run work that needs no container (nothing is opened in the data directory)."""
    import asyncio

    from app.logging import configure_logging
    from app.session import report_error

    configure_logging(level=settings.log.level, fmt=settings.log.format)  # to stderr only
    console = Console(highlight=False, soft_wrap=True)
    try:
        asyncio.run(work(console))
    except Exception as error:
        raise typer.Exit(report_error(console, error)) from None


def main() -> None:
    app(prog_name="trainerbot")


if __name__ == "__main__":  # pragma: no cover
    main()

"""The terminal chat: talk to the bot, rate and correct answers, manage everything.

Plain lines are questions; lines starting with ``/`` are commands. Management
commands (``/dataset``, ``/train``, ``/eval`` or ``/test``, ``/models``) are the
very same commands as the CLI's subcommands. When stdin is not a terminal the
REPL reads it line by line, so a session can be scripted.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from pathlib import Path
from typing import TextIO

import structlog
import typer
from rich.console import Console
from rich.markup import escape as esc

from app.backup_daily import start_daily_backups
from app.bootstrap import Overrides, bootstrap
from app.commands import management
from app.logging import configure_logging, configure_terminal_logging
from app.session import DeferredRunner, Session, report_error, terminal_actor
from app.settings import Settings
from domain.errors import InvalidInput
from domain.models import Ending, Place, Prediction, Rating
from domain.services.chat import Question

log = structlog.get_logger()

HELP = """\
Type a question to chat. Commands:
  /good, /bad              rate the last answer
  /feedback TEXT           comment on the last answer
  /correct TEXT            give the better answer to the last question (as typed)
  /forget                  start this conversation afresh
  /dataset ...             list | create NAME | show NAME | add NAME --prompt P --answer A
                           | import NAME FILE | select NAME | export NAME [--format sft|dpo]
                           | archive NAME | remove EXAMPLE
  /review ...              list | show ID | approve ID | edit ID --answer A
                           | reject ID [--reason R] | mode [review|trainers-only|open]
  /train ...               start [DATASET] [--backend B] [-o key=value] | status ID
                           | cancel ID | list
  /test FILE [--version V] run a test set (same as /eval run; V=base: no taught memory);
                           /eval compare A B; /eval list
  /models ...              list | use NAME | rollback | pull [NAME]
  /help, /quit
Add --help to any command for its options."""

_ALIASES = {"test": ["eval", "run"], "model": ["models"], "datasets": ["dataset"]}
_MANAGEMENT = {"dataset", "train", "eval", "models", "review"}
_FREE_TEXT = {"correct", "feedback"}  # the rest of the line is the text, as typed


def run_repl(
    settings: Settings,
    *,
    conversation: str | None = None,
    overrides: Overrides | None = None,
    stdin: TextIO | None = None,
    console: Console | None = None,
) -> int:
    if stdin is None:  # a person at a terminal: the log goes to a file, not into the chat
        log_file = configure_terminal_logging(
            level=settings.log.level, fmt=settings.log.format, data_dir=settings.data_dir, chat=True
        )
    else:
        log_file = configure_logging(level=settings.log.level, fmt=settings.log.format)
    return asyncio.run(
        repl(
            settings,
            conversation=conversation,
            overrides=overrides,
            stdin=stdin,
            console=console,
            log_file=log_file,
        )
    )


async def repl(
    settings: Settings,
    *,
    conversation: str | None = None,
    overrides: Overrides | None = None,
    stdin: TextIO | None = None,
    console: Console | None = None,
    log_file: Path | None = None,
) -> int:
    stdin = stdin or sys.stdin
    console = console or Console(highlight=False, soft_wrap=True)
    interactive = stdin.isatty()
    container = await bootstrap(settings, overrides)
    backups = start_daily_backups(settings)
    actor = terminal_actor()
    session = Session(
        container=container,
        console=console,
        actor=actor,
        place=Place(conversation_id=conversation or actor.id),
    )
    try:
        if container.llm_problem:
            console.print(container.llm_problem, style="yellow", markup=False)
        active = await container.models.active()
        if interactive:
            where = f" Log: {log_file}" if log_file is not None else ""
            console.print(
                f"trainerbot — answering with [bold]{esc(active.name)}[/bold]. "
                f"/help for commands.{esc(where)}"
            )
        while True:
            line = await _read_line(stdin, "you> " if interactive else None)
            if line is None:
                break
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("/"):
                if not await handle_command(session, line[1:]):
                    break
            else:
                await ask(session, line)
        return 0
    finally:
        if backups is not None:
            await backups.aclose()
        await container.aclose()


async def _read_line(stdin: TextIO, prompt: str | None) -> str | None:
    def read() -> str | None:
        if prompt is not None:
            try:
                return input(prompt)
            except EOFError:
                return None
        text = stdin.readline()
        return text if text else None

    return await asyncio.to_thread(read)


async def ask(session: Session, text: str) -> None:
    console = session.console
    question = Question(text=text, author=session.actor, place=session.place)
    started = False
    try:
        stream = session.container.chat.stream(question)
        async for piece in stream:
            if not started:
                console.print("bot> ", end="")
                started = True
            console.print(piece, end="", markup=False, highlight=False)
        console.print()
        prediction = stream.prediction
        if prediction is not None:
            if not prediction.complete:
                console.print(cut_off_note(prediction), style="yellow", markup=False)
            session.last_prediction_id = prediction.id
            console.print(
                f"[dim]({prediction.id[:8]} · {prediction.model_version} · "
                f"{prediction.latency_ms:.0f} ms)[/dim]"
            )
    except Exception as error:
        if started:
            console.print()
        report_error(console, error)


def cut_off_note(prediction: Prediction) -> str:
    """The line under an answer that was cut off."""
    if prediction.ending is Ending.TOO_LONG:
        why = "it reached the length limit"
    else:
        why = "the model's stream broke off before the end"
    return f"(answer cut off: {why}; it is kept, but never used to teach the bot)"


def split_command(line: str) -> list[str]:
    """The command's name and its arguments.

    A command whose argument is free text (``/correct``, ``/feedback``) gets the
    rest of the line as it was typed, apostrophes and quotes included; the others
    are split like a shell line, so options and quoted arguments work
    (``ValueError`` on an unclosed quote).
    """
    parts = line.split(maxsplit=1)
    if parts and parts[0].lower() in _FREE_TEXT:
        return parts
    return shlex.split(line)


async def handle_command(session: Session, line: str) -> bool:
    """Run one slash command; False means quit."""
    console = session.console
    try:
        args = split_command(line)
    except ValueError as error:
        console.print(
            f"Could not read that command: {error}. Put text with an apostrophe "
            "or a quote in double quotes (\"it's\"), or escape it (it\\'s).",
            style="red",
            markup=False,
        )
        return True
    if not args:
        return True
    head, rest = args[0].lower(), args[1:]
    try:
        if head in ("quit", "exit", "q"):
            return False
        if head == "help":
            console.print(HELP, markup=False)
        elif head in ("good", "bad"):
            await _rate(session, Rating.UP if head == "good" else Rating.DOWN)
        elif head == "feedback":
            fb = await session.container.feedback.comment(
                session.actor, " ".join(rest), session.last_prediction_id
            )
            console.print(f"Thanks, feedback {fb.id[:8]} saved.")
        elif head == "correct":
            outcome = await session.container.feedback.correct(
                _last(session), session.actor, " ".join(rest)
            )
            if outcome.pending:
                console.print("Thanks: your correction waits for a trainer's review.")
            else:
                console.print(
                    f"Correction saved into dataset [bold]{esc(outcome.dataset)}[/bold]; "
                    "train on it to teach the bot."
                )
            if outcome.answer_cut_off:
                console.print(
                    "The answer you corrected was cut off, so it is not kept as the "
                    "rejected answer.",
                    markup=False,
                )
        elif head == "forget":
            count = await session.container.chat.forget(session.place.conversation_id)
            console.print(f"Forgot {count} earlier turns of this conversation.")
        elif head in _ALIASES or head in _MANAGEMENT:
            await _management(session, [*_ALIASES.get(head, [head]), *rest])
        else:
            console.print(f"[red]Unknown command /{head}; /help lists them.[/red]")
    except Exception as error:
        report_error(console, error)
    return True


def _last(session: Session) -> str:
    if session.last_prediction_id is None:
        raise InvalidInput("There is no answer to rate or correct yet: ask something first.")
    return session.last_prediction_id


async def _rate(session: Session, rating: Rating) -> None:
    outcome = await session.container.feedback.rate(_last(session), session.actor, rating)
    session.console.print("Thanks for the rating.")
    if outcome.answer_cut_off:
        session.console.print(
            "That answer was cut off, so it is never used to teach the bot.", markup=False
        )


async def _management(session: Session, args: list[str]) -> None:
    runner = DeferredRunner()
    command = typer.main.get_command(management)
    try:
        command.main(args=args, prog_name="", standalone_mode=False, obj=runner)
    except (typer.Exit, typer.Abort):
        return
    except typer.TyperException as error:  # usage errors: unknown command, missing argument
        format_message = getattr(error, "format_message", None)
        text = format_message() if callable(format_message) else str(error)
        session.console.print(text, style="red", markup=False)
        return
    if runner.pending is not None:
        await runner.pending(session)

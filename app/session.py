"""A terminal session: the container, the person at the terminal and the output.

CLI subcommands and the chat REPL both build their coroutine from a
``Session``; a ``Runner`` decides how it runs — in a fresh event loop for a
one-shot subcommand, or inside the REPL's running loop.
"""

from __future__ import annotations

import asyncio
import getpass
import signal
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from rich.console import Console

from app.bootstrap import Container, Overrides, bootstrap
from app.logging import configure_terminal_logging
from app.settings import Settings
from domain.errors import DomainError
from domain.models import Actor, Place

log = structlog.get_logger()

Work = Callable[["Session"], Awaitable[None]]


@dataclass
class Session:
    container: Container
    console: Console
    actor: Actor
    place: Place
    last_prediction_id: str | None = None
    extras: dict[str, object] = field(default_factory=dict)


def terminal_actor() -> Actor:
    """Whoever runs the process at the terminal is its operator, hence a trainer."""
    try:
        user = getpass.getuser()
    except Exception:
        user = "operator"
    return Actor(id=f"cli:{user}", name=user, is_trainer=True)


def report_error(console: Console, error: BaseException) -> int:
    """Show a domain error as it is, anything else as a reference; return the exit code."""
    if isinstance(error, DomainError):
        console.print(error.user_message, style="red", markup=False, highlight=False)
        return 1
    ref = uuid.uuid4().hex[:8]
    log.error("unexpected_error", ref=ref, exc_info=error)
    console.print(f"[red]Something went wrong (ref {ref}); the log has the details.[/red]")
    return 2


class Runner(Protocol):
    def run(self, work: Work) -> None: ...


STOPPED = "Stopped (SIGTERM); nothing unfinished was saved."


class OneShotRunner:
    """Runs one subcommand: configure logging, bootstrap, run, close.

    SIGTERM cancels the command like Ctrl-C does: a transaction under way is rolled
    back (a batch already in the database's thread finishes first), the container
    closes, and the exit code is 143 (128 + SIGTERM) after the line ``STOPPED``.
    """

    def __init__(
        self, settings_factory: Callable[[], Settings], *, overrides: Overrides | None = None
    ):
        self._settings_factory = settings_factory
        self._overrides = overrides
        self.exit_code = 0
        self._terminated = False

    def run(self, work: Work) -> None:
        settings = self._settings_factory()
        configure_terminal_logging(
            level=settings.log.level,
            fmt=settings.log.format,
            data_dir=settings.data_dir,
            chat=False,
        )
        console = Console(highlight=False, soft_wrap=True)
        self.exit_code = asyncio.run(self._until_sigterm(settings, console, work))

    async def _until_sigterm(self, settings: Settings, console: Console, work: Work) -> int:
        task = asyncio.ensure_future(self._main(settings, console, work))

        def terminate() -> None:
            self._terminated = True
            task.cancel()

        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGTERM, terminate)
        except (ValueError, RuntimeError):  # not the main thread: SIGTERM stays as it is
            return await task
        try:
            return await task
        except asyncio.CancelledError:  # before the work began (while bootstrapping)
            if not self._terminated:
                raise
            return self._stopped(console)
        finally:
            loop.remove_signal_handler(signal.SIGTERM)

    def _stopped(self, console: Console) -> int:
        log.warning("command_stopped", signal="SIGTERM")
        console.print(f"[yellow]{STOPPED}[/yellow]")
        return 128 + signal.SIGTERM

    async def _main(self, settings: Settings, console: Console, work: Work) -> int:
        try:
            container = await bootstrap(
                settings, self._overrides, recover_jobs=False, lazy_llm=True
            )
        except DomainError as error:
            return report_error(console, error)
        actor = terminal_actor()
        session = Session(
            container=container,
            console=console,
            actor=actor,
            place=Place(conversation_id=actor.id),
        )
        try:
            await work(session)
            return 0
        except (KeyboardInterrupt, asyncio.CancelledError):
            if self._terminated:
                return self._stopped(console)
            console.print("[yellow]Interrupted.[/yellow]")
            return 130
        except Exception as error:
            return report_error(console, error)
        finally:
            await container.aclose()


class DeferredRunner:
    """Inside the REPL: keep the work, the REPL awaits it in its own loop."""

    def __init__(self) -> None:
        self.pending: Work | None = None

    def run(self, work: Work) -> None:
        self.pending = work

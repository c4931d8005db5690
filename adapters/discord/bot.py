"""``TrainerBot``: the discord.py bot. It is given the domain services (not the app's
container) and a ``DiscordConfig``; cogs translate between Discord and the services."""

from __future__ import annotations

import asyncio
import gc
import re
from collections.abc import AsyncGenerator, Callable, Sequence
from typing import Any, TypeVar

import discord
import structlog
import yarl
from discord import app_commands
from discord.ext import commands

from adapters.discord.answers import STOP_NOTE_SECONDS
from adapters.discord.config import DiscordConfig
from adapters.discord.context import actor_of, bind_interaction
from adapters.discord.errors import report_error
from adapters.discord.help import load_help
from adapters.discord.host import AnswerListener, AnswerSink, BotHost, BotServices, CogFactory
from adapters.discord.i18n import guild_lang, t
from adapters.discord.i18n.translator import CommandTranslator
from adapters.discord.jobboard import JobBoard
from adapters.discord.pacing import AckFirst
from adapters.discord.permissions import Cooldowns, trainer_permissions
from adapters.discord.review_views import ReviewButton
from adapters.discord.views import CorrectButton, RateButton
from domain.errors import DomainError
from domain.models import Actor
from domain.services.chat import AnswerStream

log = structlog.get_logger()
T = TypeVar("T")


def tap_stream(
    stream: AnswerStream,
    open_sink: Callable[[], AnswerSink | None],
    *,
    cut_note: str = "",
) -> AnswerStream:
    """The same answer; once it starts, every piece also goes to ``open_sink()``'s sink.

    The sink is opened when the answer is first read (never for an answer that is
    not delivered) and always closed, saying whether the answer arrived whole. An
    answer stored as cut off is followed by ``cut_note`` (spoken: "The answer was
    cut off.").
    """

    async def pieces(outer: AnswerStream) -> AsyncGenerator[str, None]:
        sink = open_sink()
        complete = False
        try:
            async for piece in stream:
                if sink is not None:
                    sink.feed(piece)
                yield piece
            complete = True
            stored = stream.prediction
            if sink is not None and cut_note and stored is not None and not stored.complete:
                sink.feed(f"… {cut_note}")
        finally:
            outer.prediction = stream.prediction
            if sink is not None:
                sink.close(complete=complete)
            await stream.aclose()

    return AnswerStream(pieces)


class DiscordLoginFailed(DomainError):
    """Discord refused to let the bot in; the message says what to fix."""

    key = "discord_login_failed"


def build_intents(config: DiscordConfig) -> discord.Intents:
    """Only what the bot needs; message content only for configured chat channels."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.dm_messages = True
    intents.voice_states = True
    intents.message_content = bool(config.chat_channels)
    return intents


def use_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another REST base and gateway (advanced; the tests' emulator).

    discord.py keeps both as class attributes, so this affects the whole process.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


_WHERE = re.compile(r"^In (command|group|context menu|parameter) '([^']*)'")


def sync_refusal_text(refusal: app_commands.CommandSyncFailure) -> str:
    """One line: which command, option and field Discord refused, and why.

    discord.py's own rendering of the refusal names each command and parameter on a
    line of its own, indented by depth; this folds that tree into one line per field.
    """
    lines = str(refusal).splitlines()
    fields: list[str] = []
    where: list[tuple[int, str]] = []  # (indent, "/command" or "option x") down to here
    for line in lines[1:]:
        indent = len(line) - len(line.lstrip())
        text = line.strip()
        where = [(depth, place) for depth, place in where if depth < indent]
        found = _WHERE.match(text)
        if found:
            kind, name = found.groups()
            if kind in ("command", "group"):  # a command's qualified name includes its group
                where = [(depth, place) for depth, place in where if not place.startswith("/")]
            named = {"parameter": f"option '{name}'", "context menu": f"context menu '{name}'"}
            where.append((indent, named.get(kind, f"/{name}")))
        elif text:
            fields.append(", ".join([*(place for _, place in where), text]))
    detail = "; ".join(fields) or (lines[0] if lines else "no details")
    return (
        f"Discord refused the command list (HTTP {refusal.status}, code {refusal.code}): "
        f"{detail}. Serving the commands Discord already has."
    )


class TrainerTree(app_commands.CommandTree["TrainerBot"]):
    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        bind_interaction(interaction)
        self.client.acks.arrived(interaction)
        return True

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        await report_error(interaction, error)


class TrainerBot(commands.Bot):
    def __init__(
        self,
        *,
        services: BotServices,
        config: DiscordConfig,
        extra_cogs: Sequence[CogFactory] = (),
    ) -> None:
        use_endpoints(config.api_base, config.gateway_url)
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=build_intents(config),
            tree_cls=TrainerTree,
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=config.guild_ready_timeout,
            max_messages=None,  # nothing here reads old messages from the cache
        )
        self.services = services
        self.config = config
        self.cooldowns = {
            "chat": Cooldowns(config.chat_cooldown),
            "transcribe": Cooldowns(config.transcribe_cooldown),
        }
        self.jobs = JobBoard(interval=config.stream_interval)
        self.acks = AckFirst()
        self.answer_slots = asyncio.Semaphore(config.max_concurrent_answers)
        self.deliveries: set[asyncio.Task[Any]] = set()
        self.help_pages: dict[str, tuple[str, list[str]]] = {}
        self._extra_cogs = tuple(extra_cogs)
        self.answer_listeners: list[AnswerListener] = []
        self._unwatch: Callable[[], None] | None = None

    def actor(self, user: discord.abc.User) -> Actor:
        return actor_of(user, trainer_role=self.config.trainer_role)

    def tap_answer(
        self, stream: AnswerStream, *, user: discord.abc.User, guild: discord.Guild | None
    ) -> AnswerStream:
        """``stream``, followed by the first answer listener that wants it (voice)."""
        if not self.answer_listeners:
            return stream

        def open_sink() -> AnswerSink | None:
            for listener in self.answer_listeners:
                sink = listener(user, guild)
                if sink is not None:
                    return sink
            return None

        return tap_stream(stream, open_sink, cut_note=t(guild_lang(guild), "chat.cut_off_spoken"))

    async def offload(self, fn: Callable[[], T]) -> T:
        """Small CPU work (parsing an upload) off the event loop."""
        return await asyncio.to_thread(fn)

    async def setup_hook(self) -> None:
        from adapters.discord.cogs import default_cogs

        self.help_pages = await asyncio.to_thread(load_help, self.config.help_file)
        await self.tree.set_translator(CommandTranslator())
        host: BotHost = self  # what the cogs see of the bot (mypy checks it fits)
        for factory in (*default_cogs(host), *self._extra_cogs):
            await self.add_cog(factory(host))
        permissions = trainer_permissions(self.config.trainer_permission)
        for command in self.tree.get_commands():
            if command.extras.get("trainer") and not isinstance(command, app_commands.ContextMenu):
                command.default_permissions = permissions
        self.add_dynamic_items(RateButton, CorrectButton, ReviewButton)
        self._unwatch = self.services.training.watch(self.jobs.on_change)
        if self.config.sync_commands:
            try:
                await self.sync_commands()
            except app_commands.CommandSyncFailure as refusal:
                # Discord keeps the commands of the last good sync; serve those.
                log.warning(
                    "discord_commands_refused",
                    reason=sync_refusal_text(refusal),
                    guild=self.config.dev_guild_id,
                )

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """To the development guild when one is set (instant), else globally."""
        if self.config.dev_guild_id is not None:
            guild = discord.Object(id=self.config.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
        else:
            synced = await self.tree.sync()
        log.info("discord_commands_synced", count=len(synced), guild=self.config.dev_guild_id)
        return synced

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: the chat cog listens to messages."""

    async def on_ready(self) -> None:
        log.info(
            "discord_ready",
            user_id=self.user.id if self.user else None,
            guilds=len(self.guilds),
            message_content=self.intents.message_content,
        )

    async def on_resumed(self) -> None:
        log.info("discord_resumed")

    async def close(self) -> None:
        await self._stop_deliveries()
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None
        await self.jobs.aclose()
        await super().close()

    async def _stop_deliveries(self) -> None:
        """Answers being written are cancelled while the connection still works, so
        each can say it was interrupted (``answers.STOP_NOTE_SECONDS``) instead of
        stopping mid-sentence as if it were whole."""
        current = asyncio.current_task()
        pending = [task for task in self.deliveries if task is not current and not task.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=STOP_NOTE_SECONDS + 1)
            log.info("answers_interrupted_by_stop", answers=len(pending))


async def freeze_startup_objects() -> None:
    """Keep what start-up built (modules, models, caches) out of full GC passes.

    It lives as long as the process; rescanning it in every full collection stalls
    the event loop for a good part of a second under load (docs/bench/discord.md).
    """
    gc.freeze()


async def run_discord(
    services: BotServices,
    config: DiscordConfig,
    *,
    extra_cogs: Sequence[CogFactory] = (),
) -> None:
    """Connect and serve until cancelled or closed; the app owns the services."""
    bot = TrainerBot(services=services, config=config, extra_cogs=extra_cogs)
    bot.add_listener(freeze_startup_objects, "on_ready")
    try:
        async with bot:
            await bot.start(config.token)
    except discord.LoginFailure:
        raise DiscordLoginFailed(
            "Discord refused the bot token: copy it again from the Developer Portal "
            "(Applications → your app → Bot → Reset Token)."
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise DiscordLoginFailed(
            "Discord refused the Message Content intent, which chat channels need: enable it "
            "in the Developer Portal (Bot → Privileged Gateway Intents), or configure no "
            "chat channels."
        ) from None

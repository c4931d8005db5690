# Test helpers take a `timeout` argument on purpose (like the emulator's waits).
# ruff: noqa: ASYNC109
"""The real ``TrainerBot`` with real domain services, logged in to the local emulator.

The services are built by ``app.bootstrap`` — the composition root production uses —
with storage, the LLM, memory and training overridden by the working fakes from
``tests/fakes``; the artifact store is the real file-system one (``/getfile`` must be
safe against it).
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.artifacts_fs import FileSystemArtifactStore
from adapters.discord import BotServices, DiscordConfig, TrainerBot
from app.bootstrap import Container, Overrides, bootstrap
from app.main import bot_services
from app.settings import Settings
from domain.ports import ArtifactStore, ChatModel
from tests.discord_emulator import (
    Channel,
    DiscordEmulator,
    Guild,
    InteractionHandle,
    Member,
    Role,
    StoredMessage,
    point_discord_at,
)
from tests.discord_emulator.models import MANAGE_MESSAGES
from tests.fakes import (
    FakeChatModel,
    FakeDatabase,
    FakeExampleMemory,
    FakeTrainingBackend,
    inline_offload,
)
from tests.fakes.speech import FakeSpeechToText

BASE_MODEL = "test-model"


class TestBot(TrainerBot):
    __test__ = False

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None  # discord.py sleeps 5 s before re-identifying; nothing to protect here


@dataclasses.dataclass
class Harness:
    """Everything a test drives or inspects."""

    emulator: DiscordEmulator
    services: BotServices
    db: FakeDatabase
    llm: FakeChatModel
    speech: FakeSpeechToText
    backend: FakeTrainingBackend
    artifacts: ArtifactStore
    guild: Guild
    general: Channel
    chat: Channel  # a configured chat channel
    trainer_role: Role
    trainer: Member
    member: Member
    relaunch: Callable[[], Awaitable[TrainerBot]]
    bot: TrainerBot

    async def restart(self) -> None:
        """Stop the bot and start a new one over the same services (a process restart)."""
        await self.bot.close()
        self.bot = await self.relaunch()

    def command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: Member | None = None,
        channel: Channel | None = None,
        **kwargs: Any,
    ) -> InteractionHandle:
        return self.emulator.invoke_command(
            name, options, user=user or self.trainer, channel=channel or self.general, **kwargs
        )

    async def reply(self, handle: InteractionHandle, timeout: float = 5.0) -> StoredMessage:
        """The finished original response (not a "thinking…" placeholder)."""
        return await handle.response(timeout)

    async def settled(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        return await self.emulator.wait_for(predicate, timeout)

    def predictions(self) -> list[Any]:
        return list(self.db.committed.predictions.values())


def _deep_merge(base: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in more.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


async def _container(
    tmp_path: Path, app_settings: dict[str, Any], real_llm: ChatModel | None
) -> tuple[Container, FakeDatabase, FakeChatModel, FakeTrainingBackend]:
    """The services as production builds them (``bootstrap``), over the working fakes."""
    db = FakeDatabase()
    memory = FakeExampleMemory()
    llm = FakeChatModel()
    backend = FakeTrainingBackend("local", memory=memory, steps=4)
    settings = Settings(
        _env_file=None,
        **_deep_merge(
            {
                "data_dir": tmp_path / "data",
                "llm": {"model": BASE_MODEL, "base_url": "http://127.0.0.1:9/v1"},
                "chat": {"system_prompt": "You are a test assistant."},
                "training": {"progress_interval": 0.0},
            },
            app_settings,
        ),
    )
    container = await bootstrap(
        settings,
        Overrides(
            uow=db.unit_of_work,
            llm=real_llm or llm,
            memory=memory,
            artifacts=FileSystemArtifactStore(tmp_path / "artifacts"),
            backends={"local": backend},
            offload=inline_offload,
            no_charts=True,
        ),
    )
    return container, db, llm, backend


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[BotServices]:
    """The bot's services alone, from ``bootstrap`` over the fakes (no bot started)."""
    container, *_ = await _container(tmp_path, {}, None)
    yield bot_services(container, FakeSpeechToText())
    await container.aclose()


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(heartbeat_interval_ms=500) as running:
        yield running


BotFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_bot(emulator: DiscordEmulator, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """``await start_bot(**config_overrides)``: the world, the services and a ready bot.

    The services come from ``bootstrap`` as in production; ``app_settings={"review":
    {"proposals_per_day": 2}}`` changes app settings (nested, merged), ``real_llm=``
    answers with another ``ChatModel``; every other keyword is a ``DiscordConfig`` field.
    """
    started: list[tuple[TrainerBot, asyncio.Task[None]]] = []
    containers: list[Container] = []
    patch = point_discord_at(emulator)

    async def start(**overrides: Any) -> Harness:
        guild = emulator.add_guild("Test Guild")
        trainer_role = emulator.add_role(guild, "Trainer", permissions=MANAGE_MESSAGES)
        general = emulator.add_text_channel(guild, "general")
        chat = emulator.add_text_channel(guild, "chat")
        trainer = emulator.add_member(guild, "tina", roles=[trainer_role])
        member = emulator.add_member(guild, "mo")
        container, db, llm, backend = await _container(
            tmp_path, overrides.pop("app_settings", {}), overrides.pop("real_llm", None)
        )
        containers.append(container)
        speech = FakeSpeechToText()
        services = bot_services(container, speech)
        settings: dict[str, Any] = {
            "token": emulator.token,
            "dev_guild_id": guild.id,
            "chat_channels": frozenset({chat.id}),
            "chat_cooldown": 0.0,
            "transcribe_cooldown": 0.0,
            "stream_interval": 0.05,
            "api_base": emulator.api_base,
            "gateway_url": emulator.gateway_url,
            "guild_ready_timeout": 0.05,
        }
        settings.update(overrides)
        if settings.pop("without_speech", False):
            services = dataclasses.replace(services, speech=None)
        extra_cogs = tuple(settings.pop("extra_cogs", ()))  # e.g. the voice cog
        config = DiscordConfig(**settings)

        async def launch() -> TrainerBot:
            return await _launch(TestBot(services=services, config=config, extra_cogs=extra_cogs))

        return Harness(
            emulator=emulator,
            services=services,
            db=db,
            llm=llm,
            speech=speech,
            backend=backend,
            artifacts=container.artifacts,
            guild=guild,
            general=general,
            chat=chat,
            trainer_role=trainer_role,
            trainer=trainer,
            member=member,
            relaunch=launch,
            bot=await launch(),
        )

    async def _launch(bot: TrainerBot) -> TrainerBot:
        runner = asyncio.create_task(bot.start(emulator.token))
        started.append((bot, runner))
        ready = asyncio.create_task(bot.wait_until_ready())
        done, _ = await asyncio.wait({runner, ready}, timeout=10, return_when="FIRST_COMPLETED")
        if runner in done:
            runner.result()
        if ready not in done:
            ready.cancel()
            raise TimeoutError("the bot did not become ready")
        return bot

    yield start
    for bot, runner in started:
        await bot.close()
        with suppress(asyncio.CancelledError, discord.DiscordException, TimeoutError):
            await asyncio.wait_for(runner, 5)
    for container in containers:
        await container.aclose()  # the app closes the services, not the bot
    patch.restore()
    emulator.assert_no_unknown_requests()


@pytest.fixture
async def h(start_bot: BotFactory) -> Harness:
    """The default harness: chat channel configured, no cooldowns, fast streaming."""
    return await start_bot()

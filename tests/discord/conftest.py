# Test helpers take a `timeout` argument on purpose (like the emulator's waits).
# ruff: noqa: ASYNC109
"""The real ``TrainerBot`` with real domain services, logged in to the local emulator.

Storage, the LLM, memory and training are the working fakes from ``tests/fakes``; the
artifact store is the real file-system one (``/getfile`` must be safe against it).
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
from domain.ports import ChatModel
from domain.services.chat import ChatPolicy, ChatService
from domain.services.datasets import DatasetService
from domain.services.evaluation import EvaluationService
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewPolicy, ReviewService
from domain.services.training import TrainingService
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
    artifacts: FileSystemArtifactStore
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


def _services(
    tmp_path: Path,
    review: ReviewPolicy | None = None,
    *,
    real_llm: ChatModel | None = None,
    policy: ChatPolicy | None = None,
) -> tuple[BotServices, FakeDatabase, FakeChatModel, FakeSpeechToText, FakeTrainingBackend, Any]:
    db = FakeDatabase()
    uow = db.unit_of_work
    memory = FakeExampleMemory()
    llm = FakeChatModel()
    models = ModelService(uow=uow)
    artifacts = FileSystemArtifactStore(tmp_path / "artifacts")
    backend = FakeTrainingBackend("local", memory=memory, steps=4)
    chat = ChatService(
        uow=uow,
        llm=real_llm or llm,
        models=models,
        memory=memory,
        policy=policy or ChatPolicy(system_prompt="You are a test assistant."),
    )
    speech = FakeSpeechToText()
    services = BotServices(
        chat=chat,
        feedback=FeedbackService(uow=uow, review=review),
        review=ReviewService(uow=uow, policy=review, offload=inline_offload),
        datasets=DatasetService(uow=uow, artifacts=artifacts, offload=inline_offload),
        training=TrainingService(
            uow=uow, backends={"local": backend}, models=models, progress_interval=0.0
        ),
        evaluation=EvaluationService(uow=uow, chat=chat, models=models, artifacts=artifacts),
        models=models,
        artifacts=artifacts,
        speech=speech,
    )
    return services, db, llm, speech, backend, artifacts


@pytest.fixture
async def emulator() -> AsyncIterator[DiscordEmulator]:
    async with DiscordEmulator(heartbeat_interval_ms=500) as running:
        yield running


BotFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def start_bot(emulator: DiscordEmulator, tmp_path: Path) -> AsyncIterator[BotFactory]:
    """``await start_bot(**config_overrides)``: the world, the services and a ready bot
    (``review=ReviewPolicy(…)`` sets who may teach and the daily proposal limit;
    ``real_llm=`` answers with another ``ChatModel``, ``chat_policy=`` its policy)."""
    started: list[tuple[TrainerBot, asyncio.Task[None]]] = []
    patch = point_discord_at(emulator)

    async def start(**overrides: Any) -> Harness:
        guild = emulator.add_guild("Test Guild")
        trainer_role = emulator.add_role(guild, "Trainer", permissions=MANAGE_MESSAGES)
        general = emulator.add_text_channel(guild, "general")
        chat = emulator.add_text_channel(guild, "chat")
        trainer = emulator.add_member(guild, "tina", roles=[trainer_role])
        member = emulator.add_member(guild, "mo")
        review = overrides.pop("review", None)
        services, db, llm, speech, backend, artifacts = _services(
            tmp_path,
            review,
            real_llm=overrides.pop("real_llm", None),
            policy=overrides.pop("chat_policy", None),
        )
        await services.models.ensure_base(BASE_MODEL)
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
            artifacts=artifacts,
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
        await bot.services.training.aclose()  # the app closes the services, not the bot
        with suppress(asyncio.CancelledError, discord.DiscordException, TimeoutError):
            await asyncio.wait_for(runner, 5)
    patch.restore()
    emulator.assert_no_unknown_requests()


@pytest.fixture
async def h(start_bot: BotFactory) -> Harness:
    """The default harness: chat channel configured, no cooldowns, fast streaming."""
    return await start_bot()

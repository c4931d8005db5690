"""What the cogs may see of the bot: one narrow ``Protocol`` per cog.

A cog is given the bot, but typed as the protocol of what it uses — the domain
services, the settings, the pacing of answers, a few discord.py client calls — so a
cog cannot reach for anything else, and neither the cogs nor the voice package
import ``adapters.discord.bot`` (an import-linter contract keeps it so).
``TrainerBot`` satisfies every protocol here (mypy checks it where the bot adds
its cogs).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.config import DiscordConfig
from adapters.discord.jobboard import JobBoard
from adapters.discord.pacing import AckFirst
from domain.models import Actor
from domain.ports import ArtifactStore, SpeechToText
from domain.services.chat import AnswerStream, ChatService
from domain.services.datasets import DatasetService
from domain.services.evaluation import EvaluationService
from domain.services.feedback import FeedbackService
from domain.services.models import ModelService
from domain.services.review import ReviewService
from domain.services.training import TrainingService

T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class BotServices:
    """What the bot may use: the domain services and the ports it talks to directly."""

    chat: ChatService
    feedback: FeedbackService
    review: ReviewService
    datasets: DatasetService
    training: TrainingService
    evaluation: EvaluationService
    models: ModelService
    artifacts: ArtifactStore
    speech: SpeechToText | None = None


class AnswerSink(Protocol):
    """Receives an answer's text as it streams (the voice cog speaks it)."""

    def feed(self, piece: str) -> None: ...

    def close(self, *, complete: bool) -> None: ...


AnswerListener = Callable[[discord.abc.User, discord.Guild | None], AnswerSink | None]
"""Asked for every chat answer: return a sink to follow it, or None."""


class UserCooldown(Protocol):
    @property
    def cooldown(self) -> app_commands.Cooldown:
        """The rule: one action per ``cooldown.per`` seconds."""
        ...

    def hit(self, user_id: int) -> float:
        """0 and the action is counted, or how many seconds the user must still wait."""
        ...


class Host(Protocol):
    """What every cog uses: the services, the settings, who an interaction's user is."""

    @property
    def services(self) -> BotServices: ...

    @property
    def config(self) -> DiscordConfig: ...

    def actor(self, user: discord.abc.User) -> Actor: ...


class AnswerHost(Host, Protocol):
    """Delivering a chat answer: pacing against acknowledgements, answers at once."""

    @property
    def acks(self) -> AckFirst: ...

    @property
    def answer_slots(self) -> asyncio.Semaphore: ...

    @property
    def deliveries(self) -> set[asyncio.Task[Any]]:
        """The tasks delivering an answer now; a stopping bot cancels them."""
        ...


class ChatHost(AnswerHost, Protocol):
    @property
    def user(self) -> discord.ClientUser | None: ...

    @property
    def cooldowns(self) -> Mapping[str, UserCooldown]: ...

    def tap_answer(
        self, stream: AnswerStream, *, user: discord.abc.User, guild: discord.Guild | None
    ) -> AnswerStream: ...


class SpeechHost(ChatHost, Protocol):
    def get_cog(self, name: str, /) -> commands.Cog | None: ...


class FeedbackHost(Host, Protocol):
    @property
    def tree(self) -> app_commands.CommandTree[Any]: ...


class TrainingHost(Host, Protocol):
    @property
    def jobs(self) -> JobBoard: ...

    def get_partial_messageable(
        self,
        id: int,
        *,
        guild_id: int | None = None,
        type: discord.ChannelType | None = None,
    ) -> discord.PartialMessageable: ...


class EvaluationHost(Host, Protocol):
    async def offload(self, fn: Callable[[], T]) -> T: ...


class HelpHost(Host, Protocol):
    @property
    def help_pages(self) -> dict[str, tuple[str, list[str]]]: ...


class ReviewHost(Host, Protocol):
    def get_user(self, id: int, /) -> discord.User | None: ...

    async def fetch_user(self, user_id: int, /) -> discord.User: ...


class VoiceHost(Protocol):
    @property
    def user(self) -> discord.ClientUser | None: ...

    @property
    def answer_listeners(self) -> list[AnswerListener]: ...

    def get_guild(self, id: int, /) -> discord.Guild | None: ...


class BotHost(
    SpeechHost,
    FeedbackHost,
    TrainingHost,
    EvaluationHost,
    HelpHost,
    ReviewHost,
    VoiceHost,
    Protocol,
):
    """Everything the bot offers its cogs (what a cog factory is given)."""


CogFactory = Callable[[BotHost], commands.Cog]
"""Builds an extra cog for the bot (the voice commands plug in here)."""

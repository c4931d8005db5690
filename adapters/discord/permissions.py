"""Who may do what: the trainer role and per-user cooldowns."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import discord
from discord import app_commands
from discord.ext import commands

if TYPE_CHECKING:
    from adapters.discord.host import ChatHost, Host

T = TypeVar("T")


class NotTrainer(app_commands.CheckFailure):
    """The member lacks the trainer role."""


class OnCooldown(app_commands.CheckFailure):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"on cooldown for {retry_after:.1f}s")
        self.retry_after = retry_after


def is_trainer(user: discord.abc.User, trainer_role: str) -> bool:
    """The trainer role (by id or case-insensitive name), the server owner or an admin.

    Outside a server (DMs) nobody is a trainer: roles only exist in servers.
    """
    if not isinstance(user, discord.Member):
        return False
    if user.guild.owner_id == user.id or user.guild_permissions.administrator:
        return True
    wanted = trainer_role.strip()
    if not wanted:
        return False
    folded = wanted.casefold()
    return any(str(role.id) == wanted or role.name.casefold() == folded for role in user.roles)


def trainer_permissions(flag: str) -> discord.Permissions | None:
    """Discord's default member permission for trainer commands (``""``: everyone)."""
    name = flag.strip()
    if not name:
        return None
    if name not in discord.Permissions.VALID_FLAGS:
        raise ValueError(f"unknown Discord permission {name!r}")
    return discord.Permissions(**{name: True})


def require_trainer(interaction: discord.Interaction[Any]) -> bool:
    """For a cog's ``interaction_check``: refuse (``NotTrainer``) unless a trainer."""
    bot: Host = interaction.client
    allowed = is_trainer(interaction.user, bot.config.trainer_role)
    if allowed or interaction.type is discord.InteractionType.autocomplete:
        return allowed
    raise NotTrainer("trainer role required")


class Cooldowns:
    """At most one action per ``seconds`` per user."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._last: dict[int, float] = {}

    def remaining(self, user_id: int) -> float:
        """Seconds the user must still wait (0: free), without counting an action."""
        last = self._last.get(user_id)
        if self.seconds <= 0 or last is None:
            return 0.0
        return max(0.0, self.seconds - (self._clock() - last))

    def hit(self, user_id: int) -> float:
        """0 and the action is counted, or how many seconds the user must still wait."""
        wait = self.remaining(user_id)
        if wait > 0 or self.seconds <= 0:
            return wait
        now = self._clock()
        self._last[user_id] = now
        if len(self._last) > 10_000:  # forget users whose cooldown is long over
            self._last = {u: t for u, t in self._last.items() if now - t < self.seconds}
        return 0.0


def cooldown(kind: str) -> Callable[[T], T]:
    """An app-command check sharing the bot's ``kind`` cooldown (chat, transcribe)."""

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        bot: ChatHost = interaction.client
        retry_after = bot.cooldowns[kind].hit(interaction.user.id)
        if retry_after > 0:
            raise OnCooldown(retry_after)
        return True

    return app_commands.check(predicate)


class TrainerCog(commands.Cog):
    """A cog whose every command needs the trainer role (checked by ``require_trainer``)."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return require_trainer(interaction)

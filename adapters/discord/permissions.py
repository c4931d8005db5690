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


def _by_user(user_id: int) -> int:
    return user_id


class Cooldowns:
    """At most one action per ``seconds`` per user (``seconds`` ≤ 0: no limit).

    discord.py's own ``CooldownMapping`` of ``app_commands.Cooldown`` buckets, keyed by
    user id rather than by command, so that commands and chat messages can share one
    (``/ask``, ``/say`` and chat-channel messages share the chat cooldown). It forgets
    a user once their window is over.
    """

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.cooldown = app_commands.Cooldown(1, max(0.0, seconds))
        self._clock = clock
        self._users: commands.CooldownMapping[int] | None = (
            commands.CooldownMapping(self.cooldown, _by_user) if seconds > 0 else None
        )

    def hit(self, user_id: int) -> float:
        """0 and the action is counted, or how many seconds the user must still wait."""
        if self._users is None:
            return 0.0
        return self._users.update_rate_limit(user_id, self._clock()) or 0.0


def cooldown(kind: str) -> Callable[[T], T]:
    """An app-command check sharing the bot's ``kind`` cooldown (chat, transcribe).

    A refusal is discord.py's ``CommandOnCooldown``, as from its own cooldown checks.
    """

    async def predicate(interaction: discord.Interaction[Any]) -> bool:
        bot: ChatHost = interaction.client
        limit = bot.cooldowns[kind]
        retry_after = limit.hit(interaction.user.id)
        if retry_after > 0:
            raise app_commands.CommandOnCooldown(limit.cooldown, retry_after)
        return True

    return app_commands.check(predicate)


class TrainerCog(commands.Cog):
    """A cog whose every command needs the trainer role (checked by ``require_trainer``)."""

    def __init__(self, bot: Host) -> None:
        self.bot = bot

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return require_trainer(interaction)

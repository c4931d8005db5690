"""Who and where: Discord users, channels and interactions as domain values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import discord
import structlog

from adapters.discord.permissions import is_trainer
from domain.models import Actor, Place


def actor_of(user: discord.abc.User, *, trainer_role: str) -> Actor:
    """The domain actor for a Discord user (a trainer when the role says so)."""
    return Actor(
        id=f"discord:{user.id}",
        name=user.display_name,
        is_trainer=is_trainer(user, trainer_role),
    )


def discord_user_id(actor: Actor) -> int | None:
    """The Discord user behind an actor made by ``actor_of`` (None for anyone else)."""
    kind, _, number = actor.id.partition(":")
    return int(number) if kind == "discord" and number.isdigit() else None


def place_of(channel: object, guild: discord.Guild | None, user: discord.abc.User) -> Place:
    """Where something was said; the conversation is the channel, thread or DM."""
    channel_id = getattr(channel, "id", None)
    if isinstance(channel, discord.Thread):
        return Place(
            conversation_id=f"discord:{channel.id}",
            guild_id=str(channel.guild.id),
            channel_id=str(channel.parent_id),
            thread_id=str(channel.id),
        )
    if guild is None:
        key = channel_id if channel_id is not None else f"dm-{user.id}"
        return Place(conversation_id=f"discord:{key}", channel_id=str(key))
    return Place(
        conversation_id=f"discord:{channel_id}",
        guild_id=str(guild.id),
        channel_id=str(channel_id),
    )


def interaction_place(interaction: discord.Interaction) -> Place:
    return place_of(interaction.channel, interaction.guild, interaction.user)


def command_name(interaction: discord.Interaction) -> str:
    command = interaction.command
    if command is not None:
        return command.qualified_name
    data: Mapping[str, Any] = interaction.data or {}
    custom_id = data.get("custom_id")
    if isinstance(custom_id, str):
        return ":".join(custom_id.split(":")[:2])  # never the reference it carries
    return str(data.get("name", interaction.type.name))


def bind_interaction(interaction: discord.Interaction) -> None:
    """Bind the interaction to every log line of the task handling it."""
    structlog.contextvars.bind_contextvars(
        interaction_id=str(interaction.id),
        command=command_name(interaction),
        user_id=str(interaction.user.id),
        guild_id=str(interaction.guild_id) if interaction.guild_id else None,
    )


def bind_message(message: discord.Message) -> None:
    structlog.contextvars.bind_contextvars(
        message_id=str(message.id),
        command="chat_message",
        user_id=str(message.author.id),
        guild_id=str(message.guild.id) if message.guild else None,
    )

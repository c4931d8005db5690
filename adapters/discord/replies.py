"""Answering interactions inside Discord's 3-second window.

``defer`` acknowledges at once (Discord shows "thinking…"); ``send`` replies or
follows up, whichever applies; ``quick`` runs fast work and defers only if it
turns out slow, so that quick refusals can still be ephemeral.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar

import discord
from discord.utils import MISSING

T = TypeVar("T")

DEFER_AFTER = 1.0  # seconds of work before ``quick`` defers
_STATE = "trainerbot"  # the one key of ours in ``interaction.extras``


@dataclass(slots=True)
class ReplyState:
    """What the bot did with one interaction's response so far."""

    placeholder: bool = False  # a public "thinking…" awaits its content
    ack_ms: float | None = None  # ms from the interaction's creation to our acknowledgement
    error_sent: bool = False  # one error message per interaction


def reply_state(interaction: discord.Interaction[Any]) -> ReplyState:
    """The interaction's reply state (kept in its ``extras``, which discord.py offers)."""
    state = interaction.extras.get(_STATE)
    if not isinstance(state, ReplyState):
        state = interaction.extras[_STATE] = ReplyState()
    return state


def ms_since_created(interaction_id: int) -> float:
    """Milliseconds since Discord created the interaction (its snowflake's clock)."""
    created = discord.utils.snowflake_time(interaction_id)
    return round((discord.utils.utcnow() - created).total_seconds() * 1000, 1)


async def defer(interaction: discord.Interaction[Any], *, ephemeral: bool) -> None:
    """Acknowledge now; the answer follows (first follow-up fills the placeholder)."""
    if interaction.response.is_done():
        return
    await interaction.response.defer(ephemeral=ephemeral, thinking=True)
    reply_state(interaction).placeholder = not ephemeral
    reply_state(interaction).ack_ms = ms_since_created(interaction.id)


async def send(
    interaction: discord.Interaction[Any],
    content: str | None = None,
    *,
    ephemeral: bool,
    embed: discord.Embed | None = None,
    file: discord.File | None = None,
    view: discord.ui.View | None = None,
    allowed_mentions: discord.AllowedMentions | None = None,
) -> discord.InteractionMessage | discord.WebhookMessage | None:
    """Reply, or follow up once the interaction was acknowledged."""
    kwargs: dict[str, Any] = {"ephemeral": ephemeral}
    if embed is not None:
        kwargs["embed"] = embed
    if file is not None:
        kwargs["file"] = file
    if view is not None:
        kwargs["view"] = view
    if allowed_mentions is not None:
        kwargs["allowed_mentions"] = allowed_mentions
    if not interaction.response.is_done():
        callback = await interaction.response.send_message(content, **kwargs)
        reply_state(interaction).ack_ms = ms_since_created(interaction.id)
        resource = callback.resource
        return resource if isinstance(resource, discord.InteractionMessage) else None
    message = await interaction.followup.send(content or MISSING, wait=True, **kwargs)
    reply_state(interaction).placeholder = False
    return message


async def fill_original(
    interaction: discord.Interaction[Any],
    *,
    content: str,
    view: discord.ui.View | None = None,
    attachments: list[discord.File] | None = None,
) -> discord.InteractionMessage:
    """Put ``content`` into the deferred response (the public or ephemeral placeholder)."""
    kwargs: dict[str, Any] = {"content": content}
    if view is not None:
        kwargs["view"] = view
    if attachments is not None:
        kwargs["attachments"] = attachments
    message = await interaction.edit_original_response(**kwargs)
    reply_state(interaction).placeholder = False
    return message


async def quick(
    interaction: discord.Interaction[Any],
    work: Awaitable[T],
    *,
    ephemeral: bool,
    after: float = DEFER_AFTER,
) -> T:
    """Await ``work``; if it takes longer than ``after``, defer meanwhile."""
    task = asyncio.ensure_future(work)
    try:
        done, _ = await asyncio.wait({task}, timeout=after)
        if not done:
            await defer(interaction, ephemeral=ephemeral)
        return await task
    finally:
        if not task.done():
            task.cancel()


class Deadline:
    """Interaction tokens last 15 minutes; after that, edit through the channel."""

    TOKEN_LIFETIME = 14 * 60.0

    def __init__(self) -> None:
        self._started = time.monotonic()

    @property
    def token_valid(self) -> bool:
        return time.monotonic() - self._started < self.TOKEN_LIFETIME

"""The one error handler: what users see when something goes wrong, and what is logged.

Domain errors and refusals become ephemeral replies in the user's language. Anything
else is logged with its traceback under a short reference id, and the user gets that
id — never the exception's text. After a public "thinking…" placeholder the message
goes where the answer would have been (an ephemeral reply cannot replace it).
"""

from __future__ import annotations

import math
import secrets
from typing import Any

import discord
import structlog
from discord import app_commands

from adapters.discord.i18n import error_text, lang_of, t
from adapters.discord.permissions import NotTrainer
from adapters.discord.replies import reply_state
from domain.errors import DomainError

log = structlog.get_logger()


def new_reference() -> str:
    return secrets.token_hex(4)


def unwrap(error: BaseException) -> BaseException:
    if isinstance(error, app_commands.CommandInvokeError):
        return error.original
    return error


def describe(error: BaseException, lang: str, *, trainer_role: str) -> str | None:
    """The user's message for an expected error, or None for an unexpected one."""
    if isinstance(error, DomainError):
        return error_text(lang, error)
    if isinstance(error, NotTrainer):
        return t(lang, "refused.trainer", role=trainer_role)
    if isinstance(error, app_commands.CommandOnCooldown):
        return t(lang, "refused.cooldown", seconds=max(1, math.ceil(error.retry_after)))
    if isinstance(error, app_commands.NoPrivateMessage):
        return t(lang, "refused.guild_only")
    if isinstance(error, app_commands.TransformerError):
        return t(lang, "refused.bad_value")
    if isinstance(error, app_commands.CheckFailure):
        return t(lang, "refused.generic")
    return None


async def report_error(interaction: discord.Interaction[Any], error: BaseException) -> None:
    """Tell the user what went wrong; log what they must not see."""
    error = unwrap(error)
    lang = lang_of(interaction)
    role = getattr(getattr(interaction.client, "config", None), "trainer_role", "Trainer")
    text = describe(error, lang, trainer_role=role)
    if text is None:
        reference = new_reference()
        log.error("interaction_failed", reference=reference, exc_info=error)
        text = t(lang, "error.unexpected", reference=reference)
    elif isinstance(error, DomainError):
        log.info("interaction_refused", error_key=error.key)
    else:
        log.info("interaction_refused", reason=type(error).__name__)
    await _tell(interaction, text)


async def _tell(interaction: discord.Interaction[Any], text: str) -> None:
    state = reply_state(interaction)
    if state.error_sent:
        return  # one error message per interaction
    state.error_sent = True
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True)
        elif state.placeholder:
            await interaction.edit_original_response(content=f"⚠️ {text}", view=None)
            state.placeholder = False
        else:
            await interaction.followup.send(text, ephemeral=True)
    except discord.HTTPException as exc:  # expired token, deleted channel…
        log.warning("error_reply_failed", status=exc.status, code=exc.code)


async def report_message_error(message: discord.Message, error: BaseException, lang: str) -> None:
    """The same for plain chat messages: the reply goes to the channel."""
    text = describe(error, lang, trainer_role="")
    if text is None:
        reference = new_reference()
        log.error("message_failed", reference=reference, exc_info=error)
        text = t(lang, "error.unexpected", reference=reference)
    else:
        log.info("message_refused", error_key=getattr(error, "key", type(error).__name__))
    try:
        await message.reply(text, mention_author=False)
    except discord.HTTPException as exc:
        log.warning("error_reply_failed", status=exc.status, code=exc.code)


class ReportingView(discord.ui.View):
    """A view whose errors go through the one handler."""

    async def on_error(
        self,
        interaction: discord.Interaction[Any],
        error: Exception,
        item: discord.ui.Item[Any],
    ) -> None:
        await report_error(interaction, error)


class ReportingModal(discord.ui.Modal):
    async def on_error(  # type: ignore[override]  # Modal's own signature
        self, interaction: discord.Interaction[Any], error: Exception, /
    ) -> None:
        await report_error(interaction, error)

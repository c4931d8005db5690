"""Feedback on answers: the "Correct this answer" message menu, ``/correct``,
``/feedback`` and ``/proposals`` (the 👍 / 👎 / Correct buttons live in ``views``)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord import formatting
from adapters.discord.chunking import fit
from adapters.discord.i18n import lang_of, t
from adapters.discord.replies import quick, send
from adapters.discord.views import correction_text, open_correction

if TYPE_CHECKING:
    from adapters.discord.host import FeedbackHost

_LINK = re.compile(r"https?://(?:\w+\.)?discord(?:app)?\.com/channels/(?:@me|\d+)/\d+/(\d+)")


def message_reference(text: str) -> str:
    """A message link, a message id or a prediction id, as a prediction reference."""
    value = text.strip().strip("<>")
    match = _LINK.fullmatch(value)
    return match.group(1) if match else value


class FeedbackCog(commands.Cog):
    def __init__(self, bot: FeedbackHost) -> None:
        self.bot = bot
        self.menu = app_commands.ContextMenu(
            name="Correct this answer", callback=self.correct_from_menu
        )

    async def cog_load(self) -> None:
        self.bot.tree.add_command(self.menu)

    async def cog_unload(self) -> None:
        self.bot.tree.remove_command(self.menu.name, type=self.menu.type)

    async def correct_from_menu(
        self, interaction: discord.Interaction[Any], message: discord.Message
    ) -> None:
        await open_correction(interaction, str(message.id))

    @app_commands.command(name="correct", description="Give a better answer to one of my answers")
    @app_commands.describe(
        message="Link or id of the message with my answer",
        correction="The better answer",
    )
    async def correct(
        self,
        interaction: discord.Interaction[Any],
        message: app_commands.Range[str, 1, 200],
        correction: app_commands.Range[str, 1, 6000],
    ) -> None:
        actor = self.bot.actor(interaction.user)
        work = self.bot.services.feedback.correct(message_reference(message), actor, correction)
        result = await quick(interaction, work, ephemeral=True)
        await send(interaction, correction_text(lang_of(interaction), result), ephemeral=True)

    @app_commands.command(name="feedback", description="Tell the trainers what you think")
    @app_commands.describe(
        text="Your feedback",
        message="Link or id of the answer it is about (optional)",
    )
    async def feedback(
        self,
        interaction: discord.Interaction[Any],
        text: app_commands.Range[str, 1, 4000],
        message: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        actor = self.bot.actor(interaction.user)
        ref = message_reference(message) if message else None
        await quick(
            interaction, self.bot.services.feedback.comment(actor, text, ref), ephemeral=True
        )
        await send(interaction, t(lang_of(interaction), "feedback.thanks"), ephemeral=True)

    @app_commands.command(name="proposals", description="Your proposals and what became of them")
    async def proposals(self, interaction: discord.Interaction[Any]) -> None:
        actor = self.bot.actor(interaction.user)
        mine = await quick(interaction, self.bot.services.review.mine(actor), ephemeral=True)
        text = formatting.proposals(lang_of(interaction), mine)
        await send(interaction, fit(text, self.bot.config.message_limit), ephemeral=True)

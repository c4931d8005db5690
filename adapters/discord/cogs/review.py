"""``/review queue|mode`` (trainers): decide what members proposed the bot should learn.

The queue's buttons and modals live in ``review_views``; members see their own
proposals with ``/proposals`` (the feedback cog).
"""

from __future__ import annotations

from typing import Any, Literal

import discord
from discord import app_commands

from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import quick, send
from adapters.discord.review_views import first_page
from domain.models import ReviewMode

ModeName = Literal["review", "trainers-only", "open"]


def mode_text(lang: str, key: str, mode: ReviewMode) -> str:
    return t(lang, key, mode=mode.value, about=t(lang, f"review.mode.{mode.value}"))


class ReviewCog(TrainerCog):
    review = app_commands.Group(
        name="review",
        description="Review what members propose the bot should learn",
        guild_only=True,
        extras={"trainer": True},
    )

    @review.command(name="queue", description="The oldest pending proposal, one at a time")
    async def queue(self, interaction: discord.Interaction[Any]) -> None:
        actor = self.bot.actor(interaction.user)
        guild_id = str(interaction.guild_id) if interaction.guild_id else None
        work = first_page(self.bot.services.review, actor, guild_id, lang_of(interaction))
        page = await quick(interaction, work, ephemeral=True)
        await send(interaction, page.content, embed=page.embed, view=page.view, ephemeral=True)

    @review.command(name="mode", description="Show or set who may teach the bot here")
    @app_commands.describe(
        mode="review: trainers decide; trainers-only: only trainers correct; open: learned at once"
    )
    async def mode(
        self, interaction: discord.Interaction[Any], mode: ModeName | None = None
    ) -> None:
        review = self.bot.services.review
        guild_id = str(interaction.guild_id) if interaction.guild_id else None
        lang = lang_of(interaction)
        if mode is None:
            now = await quick(interaction, review.mode(guild_id), ephemeral=True)
            await send(interaction, mode_text(lang, "review.mode_now", now), ephemeral=True)
            return
        actor = self.bot.actor(interaction.user)
        chosen = await quick(interaction, review.set_mode(actor, guild_id, mode), ephemeral=True)
        await send(interaction, mode_text(lang, "review.mode_set", chosen), ephemeral=True)

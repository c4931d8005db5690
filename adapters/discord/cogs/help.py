"""``/hi`` and ``/help`` (the instructions from ``docs/help.md``, paginated)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from adapters.discord.i18n import lang_of, t
from adapters.discord.replies import send
from adapters.discord.views import Pager

if TYPE_CHECKING:
    from adapters.discord.host import HelpHost


class HelpCog(commands.Cog):
    def __init__(self, bot: HelpHost) -> None:
        self.bot = bot

    @app_commands.command(name="hi", description="Say hello to the bot")
    async def hi(self, interaction: discord.Interaction[Any]) -> None:
        lang = lang_of(interaction)
        text = t(lang, "help.hi", name=interaction.user.display_name)
        await send(interaction, text, ephemeral=False)

    @app_commands.command(name="help", description="How to use the bot")
    @app_commands.describe(page="Start at this page")
    async def help(
        self, interaction: discord.Interaction[Any], page: app_commands.Range[int, 1, 50] = 1
    ) -> None:
        lang = lang_of(interaction)
        title, pages = self.bot.help_pages.get(lang) or self.bot.help_pages.get(
            "en", ("", [t(lang, "help.missing")])
        )
        total = len(pages)
        embeds = [
            discord.Embed(
                title=title or None, description=text, colour=discord.Colour.blurple()
            ).set_footer(text=t(lang, "help.page", page=number, total=total))
            for number, text in enumerate(pages, 1)
        ]
        if interaction.guild_id is not None:  # who may teach the bot here
            mode = await self.bot.services.review.mode(str(interaction.guild_id))
            about = f"`{mode.value}` — {t(lang, f'review.mode.{mode.value}')}"
            for embed in embeds:
                embed.add_field(name=t(lang, "help.review_mode"), value=about, inline=False)
        if total == 1:
            await send(interaction, embed=embeds[0], ephemeral=True)
            return
        pager = Pager(embeds, interaction.user.id)
        pager.index = min(page, total) - 1
        pager.sync()
        await send(interaction, embed=embeds[pager.index], view=pager, ephemeral=True)

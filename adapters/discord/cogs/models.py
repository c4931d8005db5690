"""``/model list|use|rollback`` (trainers): which version answers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord import autocomplete, formatting
from adapters.discord.chunking import fit
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import quick, send

if TYPE_CHECKING:
    pass


class ModelCog(TrainerCog):
    model = app_commands.Group(
        name="model",
        description="Choose the model version that answers",
        guild_only=True,
        extras={"trainer": True},
    )

    @model.command(name="list", description="List the model versions")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        models = self.bot.services.models

        async def load() -> str:
            found = await models.all()
            active = await models.active()
            base = await models.base_name()
            return formatting.versions(lang_of(interaction), found, active.name, base)

        text = await quick(interaction, load(), ephemeral=True)
        await send(interaction, fit(text, self.bot.config.message_limit), ephemeral=True)

    @model.command(name="use", description="Answer with this version from now on")
    @app_commands.describe(version="The model version")
    @app_commands.autocomplete(version=autocomplete.versions)
    async def use(
        self, interaction: discord.Interaction[Any], version: app_commands.Range[str, 1, 200]
    ) -> None:
        actor = self.bot.actor(interaction.user)
        work = self.bot.services.models.activate(version.strip(), actor)
        chosen = await quick(interaction, work, ephemeral=False)
        text = t(lang_of(interaction), "model.activated", version=chosen.name)
        await send(interaction, text, ephemeral=False)

    @model.command(name="rollback", description="Go back to the previously active version")
    async def rollback(self, interaction: discord.Interaction[Any]) -> None:
        actor = self.bot.actor(interaction.user)
        chosen = await quick(interaction, self.bot.services.models.rollback(actor), ephemeral=False)
        text = t(lang_of(interaction), "model.rolled_back", version=chosen.name)
        await send(interaction, text, ephemeral=False)

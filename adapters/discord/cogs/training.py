"""``/train start|status|cancel|list`` (trainers). Progress edits one status message."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord import autocomplete, formatting
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import Deadline, quick, send
from domain.errors import InvalidInput
from domain.models import JobStatus, TrainingJob
from domain.services.training import TrainingService

if TYPE_CHECKING:
    pass


class TrainingCog(TrainerCog):
    train = app_commands.Group(
        name="train",
        description="Train the bot on a dataset",
        guild_only=True,
        extras={"trainer": True},
    )

    @property
    def service(self) -> TrainingService:
        return self.bot.services.training

    @train.command(name="start", description="Start a training job (default: selected dataset)")
    @app_commands.describe(
        dataset="The dataset (default: the selected one)",
        backend="The training backend (default: local)",
        activate="Answer with the new version as soon as it is ready (default: yes)",
    )
    @app_commands.autocomplete(dataset=autocomplete.datasets)
    async def start(
        self,
        interaction: discord.Interaction[Any],
        dataset: app_commands.Range[str, 1, 64] | None = None,
        backend: app_commands.Range[str, 1, 40] | None = None,
        activate: bool = True,
    ) -> None:
        actor = self.bot.actor(interaction.user)
        options = None if activate else {"activate": "false"}
        work = self.service.start(actor, dataset=dataset, backend=backend, options=options)
        job = await quick(interaction, work, ephemeral=False)
        lang = lang_of(interaction)
        shown = formatting.job(lang, job)
        message = await send(interaction, shown, ephemeral=False)
        self.follow(interaction, job, message, shown, lang)

    def follow(
        self,
        interaction: discord.Interaction[Any],
        job: TrainingJob,
        message: discord.InteractionMessage | discord.WebhookMessage | None,
        shown: str,
        lang: str,
    ) -> None:
        """Edit the status message as the job moves; mention the starter at the end."""
        deadline = Deadline()
        channel = interaction.channel
        starter = interaction.user

        async def edit(content: str) -> None:
            if deadline.token_valid or message is None:
                await interaction.edit_original_response(content=content)
            elif (partial := getattr(channel, "get_partial_message", None)) is not None:
                await partial(message.id).edit(content=content)  # token expired: as the bot

        async def announce(finished: TrainingJob) -> None:
            key = "job.done" if finished.status is JobStatus.SUCCEEDED else "job.ended"
            status = t(lang, f"job.status.{finished.status.value}")
            text = t(lang, key, mention=starter.mention, id=finished.id[:8], status=status)
            mentions = discord.AllowedMentions(users=[starter])
            if deadline.token_valid:
                await interaction.followup.send(text, allowed_mentions=mentions)
            elif isinstance(channel, discord.abc.Messageable):
                await channel.send(text, allowed_mentions=mentions)

        self.bot.jobs.track(
            job,
            shown=shown,
            edit=edit,
            render=lambda j: formatting.job(lang, j),
            announce=announce,
        )

    async def _job(self, job: str | None) -> TrainingJob:
        if job:
            return await self.service.get(job.strip())
        newest = await self.service.all(limit=1)
        if not newest:
            raise InvalidInput("There are no training jobs yet.")
        return newest[0]

    @train.command(name="status", description="Show a training job (default: the newest)")
    @app_commands.describe(job="The job")
    @app_commands.autocomplete(job=autocomplete.jobs)
    async def status(
        self,
        interaction: discord.Interaction[Any],
        job: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        found = await quick(interaction, self._job(job), ephemeral=True)
        await send(interaction, formatting.job(lang_of(interaction), found), ephemeral=True)

    @train.command(name="cancel", description="Cancel a queued or running job")
    @app_commands.describe(job="The job")
    @app_commands.autocomplete(job=autocomplete.jobs)
    async def cancel(
        self, interaction: discord.Interaction[Any], job: app_commands.Range[str, 1, 64]
    ) -> None:
        actor = self.bot.actor(interaction.user)
        found = await quick(interaction, self.service.cancel(job.strip(), actor), ephemeral=True)
        await send(interaction, formatting.job(lang_of(interaction), found), ephemeral=True)

    @train.command(name="list", description="The newest training jobs")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        found = await quick(interaction, self.service.all(limit=10), ephemeral=True)
        await send(interaction, formatting.jobs(lang_of(interaction), found), ephemeral=True)

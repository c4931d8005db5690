"""``/train start|status|cancel|list`` (trainers). Progress edits one status message.

Where that message is, is remembered with the job (``TrainingService.remember_report``):
after a restart the bot goes on editing it, and announces an end it missed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from adapters.discord import autocomplete, formatting
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import Deadline, quick, send
from domain.errors import InvalidInput
from domain.models import JobStatus, TrainingJob
from domain.services.training import TrainingService

if TYPE_CHECKING:
    from adapters.discord.host import TrainingHost

log = structlog.get_logger()


class TrainingCog(TrainerCog):
    train = app_commands.Group(
        name="train",
        description="Train the bot on a dataset",
        guild_only=True,
        extras={"trainer": True},
    )

    def __init__(self, bot: TrainingHost) -> None:
        super().__init__(bot)
        self.bot: TrainingHost = bot
        self._reports_resumed = False

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
        channel_id = interaction.channel_id
        message_id = None if message is None else message.id
        if channel_id is not None and message_id is not None:
            where = {
                "channel_id": str(channel_id),
                "message_id": str(message_id),
                "user_id": str(interaction.user.id),
                "lang": lang,
            }
            await self.service.remember_report(job.id, where)  # before it can end and forget
        self.follow(
            job, shown=shown, lang=lang, user_id=interaction.user.id,
            channel_id=channel_id, message_id=message_id, interaction=interaction,
        )  # fmt: skip

    def follow(
        self,
        job: TrainingJob,
        *,
        shown: str,
        lang: str,
        user_id: int,
        channel_id: int | None,
        message_id: int | None,
        interaction: discord.Interaction[Any] | None = None,
    ) -> None:
        """Edit the status message as the job moves; mention the starter at the end.

        Through ``interaction`` while its token lasts (or where the channel or message is
        unknown), else as the bot in that channel.
        """
        deadline = Deadline()

        def as_bot() -> bool:
            return interaction is None or not deadline.token_valid

        async def edit(content: str) -> None:
            if as_bot() and channel_id is not None and message_id is not None:
                await self._message(channel_id, message_id).edit(content=content)
            elif interaction is not None:
                await interaction.edit_original_response(content=content)

        async def announce(finished: TrainingJob) -> None:
            text, mentions = _ending(finished, lang, user_id)
            if as_bot() and channel_id is not None:
                channel = self.bot.get_partial_messageable(channel_id)
                await channel.send(text, allowed_mentions=mentions)
            elif interaction is not None:
                await interaction.followup.send(text, allowed_mentions=mentions)
            await self.service.forget_report(finished.id)

        self.bot.jobs.track(
            job,
            shown=shown,
            edit=edit,
            render=lambda j: formatting.job(lang, j),
            announce=announce,
        )

    def _message(self, channel_id: int, message_id: int) -> discord.PartialMessage:
        return self.bot.get_partial_messageable(channel_id).get_partial_message(message_id)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per process: follow again the jobs whose status messages were remembered,
        as the bot (their interactions are gone)."""
        if self._reports_resumed:
            return
        self._reports_resumed = True
        try:
            reports = await self.service.reports()
        except Exception:
            log.exception("job_reports_unavailable")
            return
        for job, where in reports:
            try:
                channel_id, message_id = int(where["channel_id"]), int(where["message_id"])
                user_id = int(where["user_id"])
            except (KeyError, ValueError):
                await self.service.forget_report(job.id)
                continue
            self.follow(
                job,
                shown="",  # not known: the current state is shown at once
                lang=where.get("lang", "en"),
                user_id=user_id,
                channel_id=channel_id,
                message_id=message_id,
            )
        if reports:
            log.info("job_reports_resumed", count=len(reports))

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


def _ending(job: TrainingJob, lang: str, user_id: int) -> tuple[str, discord.AllowedMentions]:
    """The message that mentions the starter when a job has ended."""
    key = "job.done" if job.status is JobStatus.SUCCEEDED else "job.ended"
    status = t(lang, f"job.status.{job.status.value}")
    text = t(lang, key, mention=f"<@{user_id}>", id=job.id[:8], status=status)
    return text, discord.AllowedMentions(users=[discord.Object(id=user_id)])

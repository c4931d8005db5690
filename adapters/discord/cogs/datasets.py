"""``/dataset create|list|show|add|remove|import|select|export|archive`` (trainers)."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any, Literal

import discord
from discord import app_commands

from adapters.discord import autocomplete, formatting
from adapters.discord.attachments import DATASET_EXTENSIONS, check_file, download
from adapters.discord.chunking import fit
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import defer, quick, send
from domain.models import Artifact
from domain.services.datasets import DatasetService

if TYPE_CHECKING:
    pass

Name = app_commands.Range[str, 1, 64]


class DatasetCog(TrainerCog):
    dataset = app_commands.Group(
        name="dataset",
        description="Curate the examples the bot learns from",
        guild_only=True,
        extras={"trainer": True},
    )

    @property
    def service(self) -> DatasetService:
        return self.bot.services.datasets

    async def send_artifact(self, interaction: discord.Interaction[Any], found: Artifact) -> None:
        """Say what was written; attach it when Discord can carry it."""
        lang = lang_of(interaction)
        text = formatting.artifact(lang, found)
        file = None
        if found.size <= self.bot.config.max_upload_bytes:
            data = await self.bot.services.artifacts.read(found.name)
            file = discord.File(io.BytesIO(data), filename=found.name)
        await send(interaction, text, ephemeral=True, file=file)

    @dataset.command(name="create", description="Create an empty dataset")
    @app_commands.describe(name="Lowercase letters, digits, - and _", description="What it is for")
    async def create(
        self,
        interaction: discord.Interaction[Any],
        name: Name,
        description: app_commands.Range[str, 0, 500] = "",
    ) -> None:
        actor = self.bot.actor(interaction.user)
        made = await quick(
            interaction, self.service.create(name, actor, description), ephemeral=True
        )
        await send(
            interaction, t(lang_of(interaction), "dataset.created", name=made.name), ephemeral=True
        )

    @dataset.command(name="list", description="List the datasets with their sizes")
    async def list_(self, interaction: discord.Interaction[Any]) -> None:
        async def load() -> str:
            found = await self.service.all()
            selected = await self.service.selected()
            return formatting.datasets(
                lang_of(interaction), found, selected.name if selected else None
            )

        await send(interaction, await quick(interaction, load(), ephemeral=True), ephemeral=True)

    @dataset.command(name="show", description="Show a dataset and its first examples")
    @app_commands.describe(name="The dataset", count="How many examples to show")
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def show(
        self,
        interaction: discord.Interaction[Any],
        name: Name,
        count: app_commands.Range[int, 1, 15] = 5,
    ) -> None:
        view = await quick(interaction, self.service.show(name, limit=count), ephemeral=True)
        text = formatting.dataset_view(lang_of(interaction), view)
        await send(interaction, fit(text, self.bot.config.message_limit), ephemeral=True)

    @dataset.command(name="add", description="Add one example to a dataset")
    @app_commands.describe(
        name="The dataset",
        prompt="What a user says",
        answer="The ideal answer",
        rejected="A worse answer (for preference training)",
        label="A label (for classification tests)",
    )
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def add(
        self,
        interaction: discord.Interaction[Any],
        name: Name,
        prompt: app_commands.Range[str, 1, 6000],
        answer: app_commands.Range[str, 1, 6000],
        rejected: app_commands.Range[str, 1, 6000] | None = None,
        label: app_commands.Range[str, 1, 100] | None = None,
    ) -> None:
        actor = self.bot.actor(interaction.user)
        work = self.service.add_example(
            name, actor, prompt=prompt, answer=answer, rejected=rejected, label=label
        )
        example = await quick(interaction, work, ephemeral=True)
        await send(
            interaction,
            t(lang_of(interaction), "dataset.added", name=example.dataset),
            ephemeral=True,
        )

    @dataset.command(
        name="remove", description="Take an example out of its dataset (kept as removed)"
    )
    @app_commands.describe(example="The example's id (as /dataset show prints it)")
    async def remove(
        self, interaction: discord.Interaction[Any], example: app_commands.Range[str, 1, 64]
    ) -> None:
        actor = self.bot.actor(interaction.user)
        gone = await quick(interaction, self.service.remove_example(example, actor), ephemeral=True)
        await send(interaction, formatting.removed(lang_of(interaction), gone), ephemeral=True)

    @dataset.command(name="import", description="Import examples from a file (all or nothing)")
    @app_commands.describe(
        file="JSONL, JSON, CSV, TSV, TXT or a ZIP of them",
        name="The dataset (created when missing)",
    )
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def import_(
        self, interaction: discord.Interaction[Any], file: discord.Attachment, name: Name
    ) -> None:
        limit = self.service.limits.max_file_bytes
        check_file(file, max_bytes=limit, extensions=DATASET_EXTENSIONS)
        await defer(interaction, ephemeral=True)
        data = await download(file, max_bytes=limit, time_limit=self.bot.config.download_timeout)
        report = await self.service.import_file(
            name, self.bot.actor(interaction.user), filename=file.filename, data=data
        )
        text = t(
            lang_of(interaction),
            "dataset.imported",
            added=report.added,
            name=report.dataset.name,
            total=report.dataset.example_count,
            files=len(report.files),
        )
        await send(interaction, text, ephemeral=True)

    @dataset.command(name="select", description="Make a dataset the one training uses")
    @app_commands.describe(name="The dataset")
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def select(self, interaction: discord.Interaction[Any], name: Name) -> None:
        actor = self.bot.actor(interaction.user)
        chosen = await quick(interaction, self.service.select(name, actor), ephemeral=True)
        await send(
            interaction,
            t(lang_of(interaction), "dataset.selected", name=chosen.name),
            ephemeral=True,
        )

    @dataset.command(name="export", description="Export for fine-tuning (SFT or DPO JSONL)")
    @app_commands.describe(name="The dataset", format="sft: chat examples, dpo: preference pairs")
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def export(
        self,
        interaction: discord.Interaction[Any],
        name: Name,
        format: Literal["sft", "dpo"] = "sft",
    ) -> None:
        await defer(interaction, ephemeral=True)
        actor = self.bot.actor(interaction.user)
        found = await self.service.export(name, actor, fmt=format)
        await self.send_artifact(interaction, found)

    @dataset.command(name="archive", description="Zip a dataset with its exports and a manifest")
    @app_commands.describe(name="The dataset")
    @app_commands.autocomplete(name=autocomplete.datasets)
    async def archive(self, interaction: discord.Interaction[Any], name: Name) -> None:
        await defer(interaction, ephemeral=True)
        found = await self.service.archive(name, self.bot.actor(interaction.user))
        await self.send_artifact(interaction, found)

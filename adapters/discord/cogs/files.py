"""``/getfile``: fetch an export, archive or report from the artifact store (trainers).

Names go to the artifact store as they are; it alone decides what a valid name is,
so nothing outside the store can ever be read.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands

from adapters.discord import autocomplete
from adapters.discord.attachments import size_text
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.replies import quick, send
from domain.errors import LimitExceeded

if TYPE_CHECKING:
    pass

log = structlog.get_logger()


class FilesCog(TrainerCog):
    async def _read(self, name: str) -> bytes:
        data = await self.bot.services.artifacts.read(name)
        limit = self.bot.config.max_upload_bytes
        if len(data) > limit:
            raise LimitExceeded(
                f"{name!r} is {size_text(len(data))}; Discord takes files up to "
                f"{size_text(limit)}. Fetch it from the server instead.",
                limit=size_text(limit),
            )
        return data

    @app_commands.command(
        name="getfile",
        description="Get an exported dataset, archive or test report",
        extras={"trainer": True},
    )
    @app_commands.describe(name="The file's name")
    @app_commands.autocomplete(name=autocomplete.artifacts)
    @app_commands.guild_only()
    async def getfile(
        self, interaction: discord.Interaction[Any], name: app_commands.Range[str, 1, 200]
    ) -> None:
        data = await quick(interaction, self._read(name), ephemeral=True)
        log.info("artifact_sent", size=len(data))
        file = discord.File(io.BytesIO(data), filename=name)
        text = t(lang_of(interaction), "files.here", name=name, size=size_text(len(data)))
        await send(interaction, text, ephemeral=True, file=file)

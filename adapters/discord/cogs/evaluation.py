"""``/test``: run test cases (an attachment or inline JSON) against a model version."""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from adapters.discord import autocomplete, formatting
from adapters.discord.attachments import TEST_EXTENSIONS, check_file, download
from adapters.discord.chunking import fit
from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import TrainerCog
from adapters.discord.progress import LatestEditor
from adapters.discord.replies import defer, fill_original, reply_state
from domain.errors import InvalidInput
from domain.models import TestCase
from domain.testcases import TestSetLimits, parse_test_cases

if TYPE_CHECKING:
    from adapters.discord.host import EvaluationHost

    pass

INLINE_NAME = "inline.json"


class EvaluationCog(TrainerCog):
    limits = TestSetLimits()

    def __init__(self, bot: EvaluationHost) -> None:
        super().__init__(bot)
        self.bot: EvaluationHost = bot

    async def parse(self, name: str, data: bytes) -> list[TestCase]:
        limits = self.limits
        return await self.bot.offload(lambda: parse_test_cases(name, data, limits=limits))

    @app_commands.command(
        name="test",
        description="Test a model version on a set of cases",
        extras={"trainer": True},
    )
    @app_commands.describe(
        file="JSON or JSONL test cases",
        cases='Inline JSON, e.g. [{"input": "2+2?", "expected": "4"}]',
        version="The model version (default: the active one)",
        compare_with="An earlier run to compare with",
    )
    @app_commands.autocomplete(version=autocomplete.versions, compare_with=autocomplete.runs)
    @app_commands.guild_only()
    async def test(
        self,
        interaction: discord.Interaction[Any],
        file: discord.Attachment | None = None,
        cases: app_commands.Range[str, 2, 6000] | None = None,
        version: app_commands.Range[str, 1, 200] | None = None,
        compare_with: app_commands.Range[str, 1, 64] | None = None,
    ) -> None:
        services = self.bot.services
        if (file is None) == (cases is None):
            raise InvalidInput("Give the test cases either as a file or as inline JSON, not both.")
        max_bytes = self.limits.max_bytes
        if file is not None:
            check_file(file, max_bytes=max_bytes, extensions=TEST_EXTENSIONS)
        if version:
            await services.models.get(version)
        if cases is not None:  # inline: mistakes are refused before anything is public
            parsed = await self.parse(INLINE_NAME, cases.encode())
        await defer(interaction, ephemeral=False)
        if file is not None:
            time_limit = self.bot.config.download_timeout
            data = await download(file, max_bytes=max_bytes, time_limit=time_limit)
            parsed = await self.parse(file.filename, data)
        lang = lang_of(interaction)
        starting = t(lang, "test.running", done=0, total=len(parsed))
        await fill_original(interaction, content=starting)
        reply_state(interaction).placeholder = True  # a failure replaces the progress line

        async def edit(content: str) -> None:
            await interaction.edit_original_response(content=content)

        editor = LatestEditor(edit, interval=self.bot.config.stream_interval, shown=starting)

        async def report(fraction: float, message: str) -> None:
            done = round(fraction * len(parsed))
            editor.show(t(lang, "test.running", done=done, total=len(parsed)))

        try:
            actor = self.bot.actor(interaction.user)
            run = await services.evaluation.run(parsed, actor, version=version, report=report)
        finally:
            await editor.cancel()
        text = formatting.eval_run(lang, run)
        subject: Any = run
        if compare_with:
            subject = await services.evaluation.compare(compare_with.strip(), run.id)
            text += "\n" + formatting.comparison(lang, subject)
        reports = await services.evaluation.write_report(subject)
        names = ", ".join(f"`{a.name}`" for a in reports)
        text += "\n" + t(lang, "test.report", names=names)
        files = []
        # the markdown report and, when charts are available, the PNG chart
        for artifact in reports:
            if not artifact.name.endswith((".md", ".png")):
                continue
            if artifact.size <= self.bot.config.max_upload_bytes:
                data = await services.artifacts.read(artifact.name)
                files.append(discord.File(io.BytesIO(data), filename=artifact.name))
        await fill_original(
            interaction, content=fit(text, self.bot.config.message_limit), attachments=files
        )

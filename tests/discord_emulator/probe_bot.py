"""A small real `discord.ext.commands.Bot` used to prove the emulator against discord.py.

Its commands are trivial on purpose; what matters is the traffic they cause.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from discord.ext import commands

from .patching import point_discord_at
from .server import DiscordEmulator

FRUITS = ["apple", "apricot", "banana", "blueberry", "cherry"]


@dataclass
class Probe:
    """What the bot saw and which errors discord.py raised to it."""

    messages: list[discord.Message] = field(default_factory=list)
    events: list[str] = field(default_factory=list)
    errors: list[Exception] = field(default_factory=list)
    resumed: int = 0
    ready: int = 0


class FeedbackModal(discord.ui.Modal, title="Feedback"):
    text: discord.ui.TextInput[FeedbackModal] = discord.ui.TextInput(
        label="Your feedback", custom_id="feedback:text", max_length=200
    )

    async def on_submit(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(f"thanks: {self.text.value}", ephemeral=True)


class VoteView(discord.ui.View):
    @discord.ui.button(label="Up", custom_id="vote:up", style=discord.ButtonStyle.success)
    async def up(
        self, interaction: discord.Interaction, button: discord.ui.Button[VoteView]
    ) -> None:
        await interaction.response.edit_message(
            content=f"voted up by {interaction.user.name}", view=None
        )


class ProbeCog(commands.Cog):
    dataset = app_commands.Group(name="dataset", description="Datasets")

    def __init__(self, probe: Probe) -> None:
        self.probe = probe

    @app_commands.command(description="Say it back")
    async def echo(self, interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text)

    @app_commands.command(description="Who is asking, in which language")
    async def whoami(self, interaction: discord.Interaction) -> None:
        roles = [r.name for r in getattr(interaction.user, "roles", []) if not r.is_default()]
        text = f"{interaction.user.name} {interaction.locale.value} {','.join(roles) or '-'}"
        await interaction.response.send_message(text, ephemeral=True)

    @app_commands.command(description="Defer, then follow up and edit")
    async def stream(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send("part 1", wait=True)
        await interaction.edit_original_response(content="part 1, edited")
        second = await interaction.followup.send("part 2", wait=True)
        await second.edit(content="part 2, edited")

    @app_commands.command(description="Defer, then mention the user twice")
    async def notify(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(thinking=True)
        await interaction.followup.send(f"{interaction.user.mention} first")
        await interaction.followup.send(f"{interaction.user.mention} second")

    @app_commands.command(description="Open a modal")
    async def feedback(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(FeedbackModal())

    @app_commands.command(description="Show a button")
    async def vote(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Vote?", view=VoteView())

    @app_commands.command(description="Pick a fruit")
    async def pick(self, interaction: discord.Interaction, fruit: str) -> None:
        await interaction.response.send_message(f"picked {fruit}")

    @pick.autocomplete("fruit")
    async def pick_fruit(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=f, value=f) for f in FRUITS if f.startswith(current)]

    @app_commands.command(description="Read an attachment and send it back reversed")
    async def upload(self, interaction: discord.Interaction, file: discord.Attachment) -> None:
        data = await file.read()
        reversed_file = discord.File(io.BytesIO(data[::-1]), filename="reversed.bin")
        await interaction.response.send_message(f"{file.filename}:{len(data)}", file=reversed_file)

    @app_commands.command(description="Try a message over 2,000 characters")
    async def long(self, interaction: discord.Interaction, edit: bool = False) -> None:
        await interaction.response.defer(thinking=True)
        assert interaction.channel is not None and isinstance(
            interaction.channel, discord.TextChannel
        )
        try:
            if edit:
                short = await interaction.channel.send("short")
                await short.edit(content="x" * 2001)
            else:
                await interaction.channel.send("x" * 2001)
        except discord.HTTPException as exc:
            self.probe.errors.append(exc)
        await interaction.followup.send("tried")

    @app_commands.command(description="Send several channel messages quickly")
    async def burst(self, interaction: discord.Interaction, count: int) -> None:
        await interaction.response.defer(thinking=True)
        assert isinstance(interaction.channel, discord.TextChannel)
        for i in range(count):
            await interaction.channel.send(f"burst {i}")
        await interaction.followup.send(f"sent {count}")

    @app_commands.command(description="Acknowledge late")
    async def sleepy(self, interaction: discord.Interaction, seconds: float) -> None:
        await asyncio.sleep(seconds)
        try:
            await interaction.response.send_message("finally")
        except discord.HTTPException as exc:
            self.probe.errors.append(exc)

    @dataset.command(name="add", description="Add an example")
    async def dataset_add(
        self, interaction: discord.Interaction, name: str, count: int = 1
    ) -> None:
        await interaction.response.send_message(f"added {count} to {name}", ephemeral=True)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        self.probe.messages.append(message)

    @commands.Cog.listener()
    async def on_socket_event_type(self, event: str) -> None:
        self.probe.events.append(event)

    @commands.Cog.listener()
    async def on_resumed(self) -> None:
        self.probe.resumed += 1

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        self.probe.ready += 1


@app_commands.context_menu(name="Quote")
async def quote(interaction: discord.Interaction, message: discord.Message) -> None:
    await interaction.response.send_message(f"quoted: {message.content}")


class ProbeBot(commands.Bot):
    def __init__(self, probe: Probe, *, intents: discord.Intents, sync_guild: int | None) -> None:
        super().__init__(command_prefix="probe!", intents=intents, guild_ready_timeout=0.05)
        self.probe = probe
        self.sync_guild = sync_guild
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        await self.add_cog(ProbeCog(self.probe))
        self.tree.add_command(quote)
        if self.sync_guild is None:
            self.synced = await self.tree.sync()
        else:
            guild = discord.Object(self.sync_guild)
            self.tree.copy_global_to(guild=guild)
            self.synced = await self.tree.sync(guild=guild)

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # discord.py waits 5 s before re-identifying; nothing to protect against here.
        return None


def default_intents(*, message_content: bool = True) -> discord.Intents:
    intents = discord.Intents.default()
    intents.message_content = message_content
    return intents


@asynccontextmanager
async def running_bot(
    emulator: DiscordEmulator,
    *,
    intents: discord.Intents | None = None,
    sync_guild: int | None = None,
) -> AsyncIterator[tuple[ProbeBot, Probe]]:
    """Starts a ProbeBot against the emulator and waits until it is ready."""
    probe = Probe()
    with point_discord_at(emulator):
        bot = ProbeBot(probe, intents=intents or default_intents(), sync_guild=sync_guild)
        runner = asyncio.create_task(bot.start(emulator.token))
        ready = asyncio.create_task(bot.wait_until_ready())
        try:
            done, _ = await asyncio.wait(
                {runner, ready}, timeout=10, return_when=asyncio.FIRST_COMPLETED
            )
            if runner in done:
                runner.result()
            if ready not in done:
                raise TimeoutError("the bot did not become ready")
            yield bot, probe
        finally:
            ready.cancel()
            await bot.close()
            with suppress(asyncio.CancelledError, discord.DiscordException):
                await asyncio.wait_for(runner, 5)


def error_codes(probe: Probe) -> list[tuple[int, int]]:
    return [(e.status, e.code) for e in probe.errors if isinstance(e, discord.HTTPException)]


def option_names(command: dict[str, Any]) -> list[str]:
    return [o["name"] for o in command.get("options") or []]

"""``/join``, ``/leave``, ``/say``, ``/stop``, and answers spoken in the voice channel.

Answers to someone who is in the bot's voice channel are spoken there as well as
written: the cog registers an answer listener on the bot, and the chat cog hands it
each answer's text as it streams. One ``Speaker`` (playback queue) per guild.
"""

from __future__ import annotations

import asyncio
import io
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from adapters.discord.i18n import lang_of, t
from adapters.discord.permissions import cooldown
from adapters.discord.replies import defer, fill_original, send
from adapters.discord.voice.config import SpeechFile, VoiceConfig
from adapters.discord.voice.speaker import Speaker, Utterance
from domain.errors import DomainError
from domain.ports import TextToSpeech

if TYPE_CHECKING:
    from adapters.discord.host import AnswerSink, VoiceHost

log = structlog.get_logger()


class VoiceUnavailable(DomainError):
    key = "voice_unavailable"


class VoiceCog(commands.Cog):
    def __init__(
        self,
        bot: VoiceHost,
        tts: TextToSpeech,
        *,
        speech_file: SpeechFile,
        config: VoiceConfig | None = None,
    ) -> None:
        self.bot = bot
        self.tts = tts
        self.speech_file = speech_file
        self.config = config or VoiceConfig()
        self.speakers: dict[int, Speaker] = {}

    async def cog_load(self) -> None:
        self.bot.answer_listeners.append(self.listen)

    async def cog_unload(self) -> None:
        if self.listen in self.bot.answer_listeners:
            self.bot.answer_listeners.remove(self.listen)
        for guild_id in list(self.speakers):
            await self.leave_guild(guild_id, reason="unload")

    # ----------------------------------------------------------------- state

    def voice_client(self, guild: discord.Guild | None) -> discord.VoiceClient | None:
        client = guild.voice_client if guild is not None else None
        if isinstance(client, discord.VoiceClient) and client.is_connected():
            return client
        return None

    def speaker(self, guild: discord.Guild) -> Speaker:
        speaker = self.speakers.get(guild.id)
        if speaker is None:
            speaker = self.speakers[guild.id] = Speaker(
                guild_id=guild.id,
                tts=self.tts,
                voice_client=lambda: self.voice_client(guild),
                on_idle=lambda: self.leave_guild(guild.id, reason="idle"),
                idle_timeout=self.config.idle_timeout,
                bitrate=self.config.bitrate,
            )
        return speaker

    async def leave_guild(self, guild_id: int, *, reason: str) -> bool:
        """Stop speaking and disconnect; True when the bot was connected."""
        speaker = self.speakers.pop(guild_id, None)
        if speaker is not None:
            await speaker.aclose()
        guild = self.bot.get_guild(guild_id)
        client = guild.voice_client if guild is not None else None
        if client is None:
            return False
        await client.disconnect(force=True)
        log.info("voice_left", guild_id=guild_id, reason=reason)
        return True

    def listen(self, user: discord.abc.User, guild: discord.Guild | None) -> AnswerSink | None:
        """Speak the answer when its asker is in the bot's voice channel."""
        client = self.voice_client(guild)
        if guild is None or client is None:
            return None
        member = guild.get_member(user.id)
        voice = member.voice if member is not None else None
        if voice is None or voice.channel is None or voice.channel.id != client.channel.id:
            return None
        return self.speaker(guild).enqueue(Utterance(kind="answer"))

    # ----------------------------------------------------------------- commands

    @app_commands.command(name="join", description="Join your voice channel")
    @app_commands.guild_only()
    async def join(self, interaction: discord.Interaction[Any]) -> None:
        lang = lang_of(interaction)
        guild = interaction.guild
        user = interaction.user
        voice = user.voice if isinstance(user, discord.Member) else None
        if guild is None or voice is None or voice.channel is None:
            await send(interaction, t(lang, "voice.need_channel"), ephemeral=True)
            return
        channel = voice.channel
        await defer(interaction, ephemeral=False)
        client = guild.voice_client
        try:
            if isinstance(client, discord.VoiceClient) and client.is_connected():
                if client.channel.id != channel.id:
                    await client.move_to(channel, timeout=self.config.connect_timeout)
            else:
                if client is not None:
                    await client.disconnect(force=True)
                await channel.connect(
                    timeout=self.config.connect_timeout, reconnect=True, self_deaf=True
                )
        except (TimeoutError, discord.ClientException, OSError) as error:
            log.warning("voice_connect_failed", error=type(error).__name__)
            raise VoiceUnavailable(
                "I couldn't connect to the voice channel. Check that I may connect and "
                "speak there, then try again."
            ) from None
        self.speaker(guild)  # the idle timer starts now
        log.info("voice_joined", guild_id=guild.id, channel_id=channel.id)
        await fill_original(interaction, content=t(lang, "voice.joined", channel=channel.name))

    @app_commands.command(name="leave", description="Leave the voice channel")
    @app_commands.guild_only()
    async def leave(self, interaction: discord.Interaction[Any]) -> None:
        lang = lang_of(interaction)
        client = self.voice_client(interaction.guild)
        if interaction.guild is None or client is None:
            await send(interaction, t(lang, "voice.not_connected"), ephemeral=True)
            return
        name = client.channel.name
        await defer(interaction, ephemeral=False)
        await self.leave_guild(interaction.guild.id, reason="command")
        await fill_original(interaction, content=t(lang, "voice.left", channel=name))

    @app_commands.command(name="stop", description="Stop speaking now")
    @app_commands.guild_only()
    async def stop(self, interaction: discord.Interaction[Any]) -> None:
        lang = lang_of(interaction)
        speaker = self.speakers.get(interaction.guild.id) if interaction.guild else None
        stopped = speaker.stop() if speaker is not None else False
        key = "voice.stopped" if stopped else "voice.nothing_to_stop"
        await send(interaction, t(lang, key), ephemeral=not stopped)

    @app_commands.command(
        name="say", description="Say a text aloud (in the voice channel, or as an audio file)"
    )
    @app_commands.describe(text="What to say")
    @cooldown("chat")
    async def say(
        self, interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 2000]
    ) -> None:
        lang = lang_of(interaction)
        if len(text) > self.config.max_say_chars:
            raise VoiceUnavailable(
                f"That is too long to say: the limit is {self.config.max_say_chars} characters.",
                limit_chars=self.config.max_say_chars,
            )
        client = self.voice_client(interaction.guild)
        if interaction.guild is not None and client is not None:
            self.speaker(interaction.guild).enqueue(Utterance(kind="say").say(text))
            await send(
                interaction, t(lang, "voice.saying", channel=client.channel.name), ephemeral=True
            )
            return
        await defer(interaction, ephemeral=False)
        speeches = [speech async for speech in self.tts.synthesize(text)]
        data = await asyncio.to_thread(self.speech_file.encode, speeches)
        file = discord.File(io.BytesIO(data), filename=self.speech_file.filename)
        await fill_original(interaction, content=t(lang, "voice.audio_file"), attachments=[file])

    # ----------------------------------------------------------------- events

    @commands.Cog.listener()
    async def on_voice_state_update(
        self, member: discord.Member, before: discord.VoiceState, after: discord.VoiceState
    ) -> None:
        guild = member.guild
        me = self.bot.user
        if me is not None and member.id == me.id:
            if after.channel is None and guild.id in self.speakers:
                speaker = self.speakers.pop(guild.id)
                await speaker.aclose()  # disconnected from outside (kicked, channel deleted)
            return
        client = self.voice_client(guild)
        if client is None or before.channel is None or before.channel.id != client.channel.id:
            return
        if not any(_is_person(guild, user_id) for user_id in client.channel.voice_states):
            await self.leave_guild(guild.id, reason="channel_empty")


def _is_person(guild: discord.Guild, user_id: int) -> bool:
    """Someone to speak to: not a bot (an uncached member counts as a person)."""
    member = guild.get_member(user_id)
    return member is None or not member.bot

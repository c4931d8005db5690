"""Speech in: ``/transcribe`` and audio attachments or voice messages sent to the bot.

The audio goes to the ``SpeechToText`` port; the transcript is answered as a
question, shown quoted above the answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from adapters.discord.answers import deliver, interaction_senders, quote
from adapters.discord.attachments import check_audio, download, is_audio
from adapters.discord.chunking import split_message
from adapters.discord.cogs.chat import ChatCog, answer_message
from adapters.discord.context import bind_message, interaction_place
from adapters.discord.errors import report_message_error
from adapters.discord.i18n import guild_lang, lang_of, t
from adapters.discord.permissions import cooldown
from adapters.discord.replies import defer, fill_original, reply_state, send
from domain.errors import SpeechError
from domain.models import Audio, Transcript
from domain.ports import SpeechToText
from domain.services.chat import Question

if TYPE_CHECKING:
    from adapters.discord.host import SpeechHost

log = structlog.get_logger()


class SpeechCog(commands.Cog):
    def __init__(self, bot: SpeechHost, speech: SpeechToText) -> None:
        self.bot = bot
        self.speech = speech

    async def transcribe_attachment(self, attachment: discord.Attachment) -> Transcript:
        config = self.bot.config
        check_audio(attachment, max_bytes=config.max_audio_bytes)
        data = await download(
            attachment, max_bytes=config.max_audio_bytes, time_limit=config.download_timeout
        )
        audio = Audio(data=data, filename=attachment.filename, content_type=attachment.content_type)
        transcript = await self.speech.transcribe(audio)
        if not transcript.text.strip():
            raise SpeechError("I couldn't hear any speech in that recording.")
        log.info(
            "audio_transcribed",
            language=transcript.language,
            seconds=round(transcript.duration, 1),
            chars=len(transcript.text),
        )
        return transcript

    @app_commands.command(name="transcribe", description="Turn an audio file into text")
    @app_commands.describe(
        file="A voice message or audio file",
        answer="Also answer what was said (default: yes)",
    )
    @cooldown("transcribe")
    async def transcribe(
        self,
        interaction: discord.Interaction[Any],
        file: discord.Attachment,
        answer: bool = True,
    ) -> None:
        check_audio(file, max_bytes=self.bot.config.max_audio_bytes)  # refuse before deferring
        await defer(interaction, ephemeral=False)
        transcript = await self.transcribe_attachment(file)
        lang = lang_of(interaction)
        heard = t(lang, "speech.heard", language=transcript.language)
        preface = f"{heard}\n{quote(transcript.text)}"
        if not answer:
            chunks = split_message(preface, self.bot.config.message_limit)
            await fill_original(interaction, content=chunks[0])
            for chunk in chunks[1:]:
                await send(interaction, chunk, ephemeral=False)
            return
        question = Question(
            text=transcript.text,
            author=self.bot.actor(interaction.user),
            place=interaction_place(interaction),
        )
        stream = self.bot.services.chat.stream(question)
        stream = self.bot.tap_answer(stream, user=interaction.user, guild=interaction.guild)
        first, more = interaction_senders(interaction)
        await deliver(
            self.bot,
            stream,
            first=first,
            more=more,
            lang=lang,
            preface=preface,
            ack_ms=reply_state(interaction).ack_ms,
        )

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        chat = self.bot.get_cog("ChatCog")
        if not isinstance(chat, ChatCog) or not chat.addressed(message):
            return
        audio = next((a for a in message.attachments if is_audio(a)), None)
        if audio is None:
            return
        bind_message(message)
        lang = guild_lang(message.guild)
        if not await chat.allowed(message, "transcribe", lang):
            return
        try:
            transcript = await self.transcribe_attachment(audio)
        except Exception as error:
            await report_message_error(message, error, lang)
            return
        heard = t(lang, "speech.heard", language=transcript.language)
        preface = f"{heard}\n{quote(transcript.text)}"
        await answer_message(self.bot, message, transcript.text, lang=lang, preface=preface)

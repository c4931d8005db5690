"""Talking with the bot: ``/ask``, ``/forget`` and plain messages (mentions, DMs, chat
channels), with conversation memory per channel or thread."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord
import structlog
from discord import app_commands
from discord.ext import commands

from adapters.discord.answers import deliver, interaction_senders, message_senders
from adapters.discord.attachments import has_audio
from adapters.discord.context import bind_message, interaction_place, place_of
from adapters.discord.errors import report_message_error
from adapters.discord.i18n import guild_lang, lang_of, t
from adapters.discord.permissions import cooldown
from adapters.discord.replies import defer, quick, reply_state, send
from domain.services.chat import Question

if TYPE_CHECKING:
    from adapters.discord.host import ChatHost

log = structlog.get_logger()


def strip_mentions(content: str, user_id: int) -> str:
    return re.sub(rf"<@!?{user_id}>", " ", content).strip()


class ChatCog(commands.Cog):
    def __init__(self, bot: ChatHost) -> None:
        self.bot = bot
        self._warned: dict[int, float] = {}  # user id -> when told to slow down

    @app_commands.command(name="ask", description="Ask the assistant a question")
    @app_commands.describe(prompt="Your question")
    @cooldown("chat")
    async def ask(
        self,
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
    ) -> None:
        question = Question(
            text=prompt,
            author=self.bot.actor(interaction.user),
            place=interaction_place(interaction),
        )
        stream = self.bot.services.chat.stream(question)  # refuses bad questions at once
        stream = self.bot.tap_answer(stream, user=interaction.user, guild=interaction.guild)
        await defer(interaction, ephemeral=False)
        first, more = interaction_senders(interaction)
        lang = lang_of(interaction)
        await deliver(
            self.bot,
            stream,
            first=first,
            more=more,
            lang=lang,
            ack_ms=reply_state(interaction).ack_ms,
        )

    @app_commands.command(name="forget", description="Start this conversation afresh")
    async def forget(self, interaction: discord.Interaction[Any]) -> None:
        place = interaction_place(interaction)
        turns = await quick(
            interaction, self.bot.services.chat.forget(place.conversation_id), ephemeral=False
        )
        await send(
            interaction, t(lang_of(interaction), "chat.forgot", turns=turns), ephemeral=False
        )

    # ----------------------------------------------------------------- messages

    def addressed(self, message: discord.Message) -> bool:
        """Whether the bot should answer: a DM, a mention, a reply, or a chat channel."""
        me = self.bot.user
        if me is None or message.author.bot or message.webhook_id is not None:
            return False
        if message.guild is None or me in message.mentions:
            return True
        reference = message.reference
        resolved = reference.resolved if reference else None
        if isinstance(resolved, discord.Message) and resolved.author.id == me.id:
            return True
        channels = self.bot.config.chat_channels
        channel = message.channel
        parent = channel.parent_id if isinstance(channel, discord.Thread) else None
        return channel.id in channels or (parent is not None and parent in channels)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if not self.addressed(message):
            return
        if self.bot.services.speech is not None and has_audio(message):
            return  # the speech cog transcribes it and answers
        bind_message(message)
        me = self.bot.user
        assert me is not None
        text = strip_mentions(message.content, me.id)
        lang = guild_lang(message.guild)
        if not text:
            if message.content or not message.attachments:
                await message.reply(t(lang, "chat.say_something"), mention_author=False)
            return
        if not await self.allowed(message, "chat", lang):
            return
        await answer_message(self.bot, message, text, lang=lang)

    async def allowed(self, message: discord.Message, kind: str, lang: str) -> bool:
        """The per-user cooldown for messages; the first refusal says so, later ones are quiet."""
        retry_after = self.bot.cooldowns[kind].hit(message.author.id)
        if retry_after <= 0:
            self._warned.pop(message.author.id, None)
            return True
        if message.author.id not in self._warned:
            self._warned[message.author.id] = retry_after
            seconds = max(1, round(retry_after))
            await message.reply(t(lang, "refused.cooldown", seconds=seconds), mention_author=False)
        log.info("chat_message_throttled")
        return False


async def answer_message(
    bot: ChatHost, message: discord.Message, text: str, *, lang: str, preface: str = ""
) -> None:
    """Answer ``text`` (said in ``message``) in the message's conversation."""
    question = Question(
        text=text,
        author=bot.actor(message.author),
        place=place_of(message.channel, message.guild, message.author),
    )
    first, more = message_senders(message)
    try:
        stream = bot.services.chat.stream(question)
        stream = bot.tap_answer(stream, user=message.author, guild=message.guild)
        await deliver(bot, stream, first=first, more=more, lang=lang, preface=preface)
    except Exception as error:
        await report_message_error(message, error, lang)

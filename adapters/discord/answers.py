"""Delivering an answer: stream it into messages, add the feedback buttons, remember
which message carried it (so that feedback and corrections can point at it)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

import discord
import structlog

from adapters.discord.i18n import t
from adapters.discord.replies import reply_state
from adapters.discord.streaming import Editable, Send, StreamingReply
from adapters.discord.views import answer_view
from domain.errors import DomainError
from domain.models import Ending, Prediction
from domain.services.chat import AnswerStream

if TYPE_CHECKING:
    from adapters.discord.host import AnswerHost

log = structlog.get_logger()


def quote(text: str, *, limit: int = 1500) -> str:
    """``text`` as a markdown quote (shortened when very long)."""
    shown = text.strip()
    if len(shown) > limit:
        shown = shown[: limit - 1].rsplit(" ", 1)[0] + "…"
    return "\n".join(f"> {line}" if line.strip() else ">" for line in shown.splitlines())


STOP_NOTE_SECONDS = 3.0
"""How long a stopping bot tries to mark an answer it was writing as interrupted."""


async def _last_request(request: Awaitable[object]) -> None:
    """A stopping bot's last word on an answer: given ``STOP_NOTE_SECONDS``; if it fails
    (Discord unreachable, too slow), the bot stops all the same."""
    with contextlib.suppress(Exception):
        async with asyncio.timeout(STOP_NOTE_SECONDS):
            await request


async def deliver(
    bot: AnswerHost,
    stream: AnswerStream,
    *,
    first: Send,
    more: Send,
    lang: str,
    preface: str = "",
    ack_ms: float | None = None,
) -> Prediction | None:
    """Stream ``stream`` through ``first``/``more``; buttons go on the last message.

    A model failure mid-way leaves what arrived, marked as interrupted, and
    re-raises so the error handler can say why. An answer stored as cut off ends
    with a note saying so. The bot stopping cancels the delivery (see
    ``TrainerBot.close``): what arrived stays, followed by a note that the bot is
    restarting, and nothing is stored.
    """
    task = asyncio.current_task()
    if task is not None:
        bot.deliveries.add(task)
    try:
        try:
            await bot.acks.settled()  # a burst is acknowledged before any answer work starts
            await bot.answer_slots.acquire()
        except asyncio.CancelledError:  # the bot is stopping while this answer waits
            await _last_request(first(f"{preface}\n\n{t(lang, 'chat.bot_stopping')}".strip(), None))
            raise
        try:
            prediction, messages, requests = await _deliver(
                bot, stream, first=first, more=more, lang=lang, preface=preface
            )
        finally:
            bot.answer_slots.release()
    finally:
        if task is not None:
            bot.deliveries.discard(task)
    log.info(
        "answer_delivered",
        prediction_id=prediction.id if prediction else None,
        messages=messages,
        requests=requests,
        ack_ms=ack_ms,
    )
    return prediction


async def _deliver(
    bot: AnswerHost,
    stream: AnswerStream,
    *,
    first: Send,
    more: Send,
    lang: str,
    preface: str,
) -> tuple[Prediction | None, int, int]:
    config = bot.config
    async with StreamingReply(
        first=first,
        more=more,
        interval=config.stream_interval,
        limit=config.message_limit,
        empty_text=t(lang, "chat.empty_answer"),
    ) as reply:
        if preface:
            reply.feed(preface + "\n\n")
        answered = False
        try:
            async with stream:
                async for piece in stream:
                    answered = True
                    reply.feed(piece)
        except DomainError:
            if answered or not preface:
                await reply.abort(t(lang, "chat.interrupted"))
            else:  # no answer began: the preface alone, the error handler says why
                await reply.finish(None)
            raise
        except asyncio.CancelledError:  # the bot is stopping: one last edit
            reply.feed(f"\n\n{t(lang, 'chat.bot_stopping')}")
            await _last_request(reply.finish(None))
            raise
        prediction = stream.prediction
        if prediction is not None and not prediction.complete:
            reply.feed(f"\n\n{cut_off_note(prediction, lang)}")
        view = answer_view(prediction.id, lang) if prediction is not None else None
        messages = await reply.finish(view)
    if prediction is not None and messages:
        await bot.services.chat.attach_message(prediction.id, str(messages[-1].id))
    return prediction, len(messages), reply.requests


def cut_off_note(prediction: Prediction, lang: str) -> str:
    """What follows an answer that was cut off (it is kept, never learned from)."""
    key = "chat.too_long" if prediction.ending is Ending.TOO_LONG else "chat.cut_off"
    return t(lang, key)


def interaction_senders(interaction: discord.Interaction[Any]) -> tuple[Send, Send]:
    """First into the deferred response, then follow-up messages."""

    async def first(content: str, view: discord.ui.View | None) -> Editable:
        kwargs: dict[str, Any] = {"content": content}
        if view is not None:
            kwargs["view"] = view
        message = await interaction.edit_original_response(**kwargs)
        reply_state(interaction).placeholder = False
        return message

    async def more(content: str, view: discord.ui.View | None) -> Editable:
        if view is not None:
            return await interaction.followup.send(content, view=view, wait=True)
        return await interaction.followup.send(content, wait=True)

    return first, more


def message_senders(message: discord.Message) -> tuple[Send, Send]:
    """First as a reply to ``message``, then more messages in its channel."""

    async def first(content: str, view: discord.ui.View | None) -> Editable:
        kwargs: dict[str, Any] = {"mention_author": False}
        if view is not None:
            kwargs["view"] = view
        return await message.reply(content, **kwargs)

    async def more(content: str, view: discord.ui.View | None) -> Editable:
        sent: discord.Message = (
            await message.channel.send(content, view=view)
            if view is not None
            else await message.channel.send(content)
        )
        return sent

    return first, more

"""Components: the 👍 / 👎 / Correct buttons under answers, the correction modal and a
pager. The buttons carry the prediction id in their custom ids (dynamic items), so
they keep working after a restart."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.context import bind_interaction
from adapters.discord.errors import ReportingModal, ReportingView, report_error
from adapters.discord.i18n import lang_of, t
from adapters.discord.replies import defer, send
from domain.models import Rating
from domain.services.feedback import CorrectionOutcome

if TYPE_CHECKING:
    from adapters.discord.host import Host

MODAL_TEXT_LIMIT = 4000  # Discord's limit for a text input


class RateButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tb:rate:(?P<rating>up|down):(?P<ref>[0-9a-f]{32})",
):
    def __init__(self, rating: str, ref: str) -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                emoji="👍" if rating == "up" else "👎",
                custom_id=f"tb:rate:{rating}:{ref}",
            )
        )
        self.rating, self.ref = rating, ref

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> RateButton:
        return cls(match["rating"], match["ref"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        bot: Host = interaction.client
        try:
            rating = Rating.UP if self.rating == "up" else Rating.DOWN
            outcome = await bot.services.feedback.rate(
                self.ref, bot.actor(interaction.user), rating
            )
            lang = lang_of(interaction)
            text = t(lang, "feedback.rated")
            if outcome.answer_cut_off:
                text = f"{text} {t(lang, 'feedback.cut_off_rated')}"
            await send(interaction, text, ephemeral=True)
        except Exception as error:
            await report_error(interaction, error)


class CorrectButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tb:correct:(?P<ref>[0-9a-f]{32})",
):
    def __init__(self, ref: str, label: str = "Correct") -> None:
        super().__init__(
            discord.ui.Button(
                style=discord.ButtonStyle.primary,
                label=label,
                emoji="✏️",
                custom_id=f"tb:correct:{ref}",
            )
        )
        self.ref = ref

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> CorrectButton:
        return cls(match["ref"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        try:
            await open_correction(interaction, self.ref)
        except Exception as error:
            await report_error(interaction, error)


def answer_view(prediction_id: str, lang: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RateButton("up", prediction_id))
    view.add_item(RateButton("down", prediction_id))
    view.add_item(CorrectButton(prediction_id, t(lang, "feedback.correct_button")))
    return view


async def open_correction(interaction: discord.Interaction[Any], ref: str) -> None:
    """Open the correction modal for the answer ``ref`` points at (prefilled); who may
    not correct it is refused now, before writing anything."""
    bot: Host = interaction.client
    prediction = await bot.services.feedback.correctable(ref, bot.actor(interaction.user))
    modal = CorrectionModal(prediction.id, prediction.answer, lang_of(interaction))
    await interaction.response.send_modal(modal)


def answer_input(label: str, default: str, custom_id: str) -> discord.ui.TextInput[Any]:
    """A modal's paragraph field for an answer, prefilled, within Discord's limits."""
    return discord.ui.TextInput(
        label=label[:45],
        style=discord.TextStyle.paragraph,
        default=default[:MODAL_TEXT_LIMIT],
        max_length=MODAL_TEXT_LIMIT,
        custom_id=custom_id,
    )


class CorrectionModal(ReportingModal):
    def __init__(self, ref: str, original: str, lang: str) -> None:
        super().__init__(title=t(lang, "feedback.modal_title")[:45], custom_id=f"tb:fix:{ref}")
        self.ref = ref
        self.answer = answer_input(t(lang, "feedback.modal_label"), original, "tb:fix:answer")
        self.add_item(self.answer)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        bot: Host = interaction.client
        await defer(interaction, ephemeral=True)
        outcome = await bot.services.feedback.correct(
            self.ref, bot.actor(interaction.user), self.answer.value
        )
        await send(interaction, correction_text(lang_of(interaction), outcome), ephemeral=True)


def correction_text(lang: str, outcome: CorrectionOutcome) -> str:
    """What the person who corrected an answer is told: learned, or waiting for review."""
    text = (
        t(lang, "feedback.proposed")
        if outcome.pending
        else t(lang, "feedback.corrected", dataset=outcome.dataset)
    )
    if outcome.answer_cut_off:
        text = f"{text} {t(lang, 'feedback.cut_off_corrected')}"
    return text


class Pager(ReportingView):
    """◀ ▶ through pages of an embed; only the person who asked can turn them."""

    def __init__(self, pages: list[discord.Embed], owner_id: int, *, timeout: float = 600) -> None:
        super().__init__(timeout=timeout)
        self.pages, self.owner_id, self.index = pages, owner_id, 0
        self.sync()

    def sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        return interaction.user.id == self.owner_id

    async def _turn(self, interaction: discord.Interaction[Any], step: int) -> None:
        bind_interaction(interaction)
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self.sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @discord.ui.button(emoji="◀️", style=discord.ButtonStyle.secondary, custom_id="tb:page:prev")
    async def previous(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, -1)

    @discord.ui.button(emoji="▶️", style=discord.ButtonStyle.secondary, custom_id="tb:page:next")
    async def next(
        self, interaction: discord.Interaction[Any], button: discord.ui.Button[Pager]
    ) -> None:
        await self._turn(interaction, 1)

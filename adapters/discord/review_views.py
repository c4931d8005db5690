"""The review queue on Discord: one pending proposal at a time as an embed, with
Approve · Edit & approve · Reject · Skip buttons, and the proposer told by DM.

The buttons are dynamic items whose custom ids carry the action and the proposal id
(``tb:review:approve:<id>``), so they keep working after a restart. After a decision
or a skip the same (ephemeral) message shows the next pending proposal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import discord
import structlog

from adapters.discord.context import bind_interaction, discord_user_id
from adapters.discord.errors import ReportingModal, report_error
from adapters.discord.formatting import clip
from adapters.discord.i18n import guild_lang, lang_of, t
from adapters.discord.permissions import require_trainer
from adapters.discord.views import answer_input
from domain.models import Actor, Proposal, ProposalKind, ProposalStatus
from domain.services.review import Decision, ProposalView, ReviewService

if TYPE_CHECKING:
    from adapters.discord.host import ReviewHost

log = structlog.get_logger()

FIELD_LIMIT = 1024  # Discord's limit for an embed field's value
REASON_LIMIT = 500  # the review service keeps at most this much of a reason
PAGE = 50  # pending proposals read at a time when looking for the next one
ACTIONS = ("approve", "edit", "reject", "skip")
_STYLES = {
    "approve": discord.ButtonStyle.success,
    "edit": discord.ButtonStyle.primary,
    "reject": discord.ButtonStyle.danger,
    "skip": discord.ButtonStyle.secondary,
}


@dataclass(frozen=True, slots=True)
class QueuePage:
    """What the queue message shows: a note about the last step and one proposal."""

    content: str | None
    embed: discord.Embed | None
    view: discord.ui.View | None


def _field(text: str) -> str:
    text = text.strip() or "—"
    return text if len(text) <= FIELD_LIMIT else text[: FIELD_LIMIT - 1] + "…"


def proposer_text(actor: Actor) -> str:
    user_id = discord_user_id(actor)
    return f"<@{user_id}> ({actor.name})" if user_id is not None else actor.name


def proposal_embed(lang: str, shown: ProposalView, waiting: int) -> discord.Embed:
    """The question, both answers, who proposed it and when, and what the dataset says."""
    p = shown.proposal
    kind = "downvote" if p.kind is ProposalKind.DOWNVOTE else "correction"
    embed = discord.Embed(
        title=t(lang, f"review.title.{kind}", id=p.id[:8]),
        colour=discord.Colour.orange(),
        timestamp=p.created_at,
    )
    embed.add_field(name=t(lang, "review.question"), value=_field(p.question), inline=False)
    embed.add_field(name=t(lang, "review.answer"), value=_field(p.answer), inline=False)
    proposed = p.proposed_answer
    embed.add_field(
        name=t(lang, "review.proposed"),
        value=_field(proposed) if proposed is not None else t(lang, "review.none_proposed"),
        inline=False,
    )
    when = discord.utils.format_dt(p.created_at, "R")
    embed.add_field(
        name=t(lang, "review.proposer"), value=f"{proposer_text(p.proposer)}, {when}", inline=False
    )
    lines = []
    for related in shown.related:
        mark = f"{t(lang, 'review.conflicting')} " if related.conflicting else "• "
        example = related.example
        lines.append(
            f"{mark}`{clip(example.prompt, 60)}` → {clip(example.answer, 90)} "
            f"({round(related.similarity * 100)}%, `{example.id[:8]}`)"
        )
    embed.add_field(
        name=t(lang, "review.related"),
        value=_field("\n".join(lines)) if lines else t(lang, "review.related_none"),
        inline=False,
    )
    embed.set_footer(text=t(lang, "review.waiting", count=waiting))
    return embed


def queue_view(proposal_id: str, lang: str) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for action in ACTIONS:
        view.add_item(ReviewButton(action, proposal_id, t(lang, f"review.{action}")))
    return view


async def page_for(
    review: ReviewService,
    actor: Actor,
    guild_id: str | None,
    lang: str,
    proposal: Proposal | None,
    note: str | None = None,
) -> QueuePage:
    """The queue message showing ``proposal`` (or that the queue is empty)."""
    if proposal is None:
        empty = t(lang, "review.empty")
        return QueuePage(f"{note}\n{empty}" if note else empty, None, None)
    shown = await review.show(proposal.id, actor)
    waiting = await review.count_pending(actor, guild_id=guild_id)
    embed = proposal_embed(lang, shown, waiting)
    return QueuePage(note, embed, queue_view(proposal.id, lang))


async def first_page(
    review: ReviewService, actor: Actor, guild_id: str | None, lang: str
) -> QueuePage:
    """The oldest pending proposal of the guild."""
    oldest = await review.pending(actor, guild_id=guild_id, limit=1)
    return await page_for(review, actor, guild_id, lang, oldest[0] if oldest else None)


async def next_after(
    review: ReviewService, actor: Actor, guild_id: str | None, current: Proposal
) -> Proposal | None:
    """The pending proposal after ``current`` in queue order (oldest first), going round
    to the start at the end; None when no other is waiting."""
    first: Proposal | None = None
    passed = False
    offset = 0
    while True:
        batch = await review.pending(actor, guild_id=guild_id, limit=PAGE, offset=offset)
        for proposal in batch:
            if proposal.id == current.id:
                passed = True
                continue
            if first is None:
                first = proposal
            if passed or proposal.created_at > current.created_at:
                return proposal
        if len(batch) < PAGE:
            return first
        offset += PAGE


async def advance(interaction: discord.Interaction[Any], current: Proposal, note: str) -> None:
    """Show the proposal after ``current`` in the queue message (already acknowledged)."""
    bot: ReviewHost = interaction.client
    review = bot.services.review
    actor = bot.actor(interaction.user)
    lang = lang_of(interaction)
    guild_id = str(interaction.guild_id) if interaction.guild_id else current.guild_id
    target = await next_after(review, actor, guild_id, current)
    if target is None and current.status is ProposalStatus.PENDING:  # skipped the only one
        target, note = current, t(lang, "review.only_one")
    page = await page_for(review, actor, guild_id, lang, target, note)
    await interaction.edit_original_response(content=page.content, embed=page.embed, view=page.view)


def decision_text(lang: str, decision: Decision) -> str:
    """What the proposer is told about a trainer's decision."""
    p = decision.proposal
    trainer = p.decided_by.name if p.decided_by else "A trainer"
    question = clip(p.question, 120)
    if p.status is ProposalStatus.APPROVED:
        learned = decision.example.answer if decision.example else (p.proposed_answer or "")
        if p.kind is ProposalKind.DOWNVOTE:
            key = "review.dm.answered"
        elif " ".join(learned.split()) != " ".join((p.proposed_answer or "").split()):
            key = "review.dm.approved_edited"
        else:
            key = "review.dm.approved"
        return t(lang, key, trainer=trainer, question=question, answer=clip(learned, 300))
    key = "review.dm.kept" if p.kind is ProposalKind.DOWNVOTE else "review.dm.rejected"
    text = t(lang, key, trainer=trainer, question=question)
    if p.reason:
        text += "\n" + t(lang, "review.dm.reason", reason=p.reason)
    return text


async def tell_proposer(bot: ReviewHost, decision: Decision, guild: discord.Guild | None) -> None:
    """A DM to the proposer, where they accept one; the decision stands either way."""
    proposal = decision.proposal
    user_id = discord_user_id(proposal.proposer)
    if user_id is None:
        return
    text = decision_text(guild_lang(guild), decision)
    try:
        user = bot.get_user(user_id) or await bot.fetch_user(user_id)
        await user.send(text)
    except discord.HTTPException as error:  # 50007: the user does not accept DMs from us
        log.info(
            "proposer_not_told",
            proposal_id=proposal.id,
            status=error.status,
            code=error.code,
        )
        return
    log.info("proposer_told", proposal_id=proposal.id, status=proposal.status.value)


async def decided(interaction: discord.Interaction[Any], decision: Decision, note: str) -> None:
    """After a decision: the next proposal in the message, then the proposer's DM."""
    await advance(interaction, decision.proposal, note)
    await tell_proposer(interaction.client, decision, interaction.guild)


class ReviewButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"tb:review:(?P<action>approve|edit|reject|skip):(?P<ref>[0-9a-f]{32})",
):
    def __init__(self, action: str, ref: str, label: str | None = None) -> None:
        super().__init__(
            discord.ui.Button(
                style=_STYLES[action],
                label=label or action.capitalize(),
                custom_id=f"tb:review:{action}:{ref}",
            )
        )
        self.action, self.ref = action, ref

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> ReviewButton:
        return cls(match["action"], match["ref"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        try:
            require_trainer(interaction)
            await self._run(interaction)
        except Exception as error:
            await report_error(interaction, error)

    async def _run(self, interaction: discord.Interaction[Any]) -> None:
        bot: ReviewHost = interaction.client
        review = bot.services.review
        actor = bot.actor(interaction.user)
        lang = lang_of(interaction)
        if self.action in ("edit", "reject"):
            shown = await review.show(self.ref, actor)
            p = shown.proposal
            if p.status is not ProposalStatus.PENDING:
                who = p.decided_by.name if p.decided_by else "?"
                status = t(lang, f"proposals.status.{p.status.value}")
                text = t(lang, "review.decided", status=status, who=who)
                await interaction.response.send_message(text, ephemeral=True)
                return
            modal: discord.ui.Modal
            if self.action == "edit":
                modal = EditModal(p.id, p.proposed_answer or p.answer, lang)
            else:
                modal = RejectModal(p.id, lang)
            await interaction.response.send_modal(modal)
            return
        await interaction.response.defer()  # the queue message is updated below
        if self.action == "approve":
            decision = await review.approve(self.ref, actor)
            await decided(interaction, decision, t(lang, "review.approved", id=self.ref[:8]))
        else:
            current = (await review.show(self.ref, actor)).proposal
            await advance(interaction, current, t(lang, "review.skipped", id=self.ref[:8]))


class EditModal(ReportingModal):
    """Edit & approve: the answer to learn, prefilled with the proposal (or my answer)."""

    def __init__(self, ref: str, answer: str, lang: str) -> None:
        super().__init__(title=t(lang, "review.edit_title")[:45], custom_id=f"tb:revise:{ref}")
        self.ref = ref
        self.answer = answer_input(t(lang, "review.edit_label"), answer, "tb:revise:answer")
        self.add_item(self.answer)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        require_trainer(interaction)
        bot: ReviewHost = interaction.client
        await interaction.response.defer()
        decision = await bot.services.review.edit_and_approve(
            self.ref, bot.actor(interaction.user), self.answer.value
        )
        note = t(lang_of(interaction), "review.approved", id=self.ref[:8])
        await decided(interaction, decision, note)


class RejectModal(ReportingModal):
    """Reject, with an optional reason the proposer is told."""

    def __init__(self, ref: str, lang: str) -> None:
        super().__init__(title=t(lang, "review.reject_title")[:45], custom_id=f"tb:refuse:{ref}")
        self.ref = ref
        self.reason: discord.ui.TextInput[RejectModal] = discord.ui.TextInput(
            label=t(lang, "review.reject_label")[:45],
            style=discord.TextStyle.paragraph,
            required=False,
            max_length=REASON_LIMIT,
            custom_id="tb:refuse:reason",
        )
        self.add_item(self.reason)

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bind_interaction(interaction)
        require_trainer(interaction)
        bot: ReviewHost = interaction.client
        await interaction.response.defer()
        decision = await bot.services.review.reject(
            self.ref, bot.actor(interaction.user), self.reason.value or None
        )
        note = t(lang_of(interaction), "review.rejected", id=self.ref[:8])
        await decided(interaction, decision, note)

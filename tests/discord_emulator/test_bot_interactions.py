"""A real discord.py bot against the emulator: login, sync, and every kind of interaction."""

from __future__ import annotations

import discord
import pytest

from .conftest import World
from .interactions import InteractionHandle
from .models import UploadFile
from .probe_bot import Probe, ProbeBot
from .records import (
    CALLBACK_AUTOCOMPLETE,
    CALLBACK_DEFERRED,
    CALLBACK_MESSAGE,
    CALLBACK_MODAL,
    CALLBACK_UPDATE,
)
from .server import DiscordEmulator

BotUnderTest = tuple[ProbeBot, Probe]


async def test_login_and_guild_sync_register_every_command_with_ids(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    client, _ = bot
    assert client.user is not None and client.user.id == emulator.bot_user.id
    assert client.get_guild(world.guild.id) is not None
    registered = emulator.guild_commands(world.guild)
    assert {c["name"] for c in registered} >= {"echo", "stream", "dataset", "Quote"}
    assert all(c["id"].isdigit() for c in registered)
    assert [s.id for s in client.synced] == [int(c["id"]) for c in registered]
    routes = [r.route for r in emulator.requests[:3]]
    assert routes == [
        "GET /users/@me",
        "GET /oauth2/applications/@me",
        "PUT /applications/{application_id}/guilds/{guild_id}/commands",
    ]


async def test_slash_command_reply_reaches_the_channel(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    handle = emulator.invoke_command(
        "echo", {"text": "hello"}, user=world.bob, channel=world.general
    )
    assert await handle.acknowledged() == CALLBACK_MESSAGE
    reply = await handle.response()
    assert reply.content == "hello"
    assert (
        reply.type == 20
        and reply.interaction_metadata
        and reply.interaction_metadata["user"]["id"] == str(world.bob.id)
    )
    assert handle.ack_latency is not None and handle.ack_latency < 3.0
    assert emulator.bot_messages(world.general) == [reply]


async def test_deferred_command_fills_the_original_then_follows_up_and_edits(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    handle = emulator.invoke_command("stream", user=world.alice, channel=world.general)
    assert await handle.acknowledged() == CALLBACK_DEFERRED
    followups = await handle.wait_followups(1)
    await emulator.wait_for(lambda: followups[0].content == "part 2, edited")
    original = await handle.response()
    assert original.content == "part 1, edited"
    assert [r.content for r in original.history] == ["", "part 1", "part 1, edited"]
    assert [r.content for r in followups[0].history] == ["part 2", "part 2, edited"]
    assert all(interval >= 0 for interval in original.edit_intervals())
    assert original.edited_timestamp is not None


async def test_mention_in_a_deferred_fill_pings_nobody_but_a_follow_up_does(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    handle = emulator.invoke_command("notify", user=world.bob, channel=world.general)
    (second,) = await handle.wait_followups(1)
    original = await handle.response()
    assert [u.id for u in original.mentions] == [world.bob.id]
    assert original.notified == [] and original.edited_timestamp is None
    assert [u.id for u in second.notified] == [world.bob.id]


async def test_subcommand_in_a_group_with_an_ephemeral_reply(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    handle = emulator.invoke_command(
        "dataset add", {"name": "faq", "count": 3}, user=world.alice, channel=world.general
    )
    reply = await handle.response()
    assert reply.content == "added 3 to faq"
    assert reply.ephemeral
    assert emulator.messages_in(world.general, include_ephemeral=False) == []


async def test_button_click_updates_the_message(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    question = await emulator.invoke_command(
        "vote", user=world.bob, channel=world.general
    ).response()
    assert question.custom_ids() == ["vote:up"]
    click = emulator.invoke_component(question, "vote:up", user=world.alice)
    assert await click.acknowledged() == CALLBACK_UPDATE
    assert question.content == "voted up by alice"
    assert question.components == []
    with pytest.raises(LookupError):
        emulator.invoke_component(question, "vote:up", user=world.alice)


async def test_modal_opens_and_its_submission_is_answered(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    opened = emulator.invoke_command("feedback", user=world.bob, channel=world.general)
    assert await opened.acknowledged() == CALLBACK_MODAL
    modal = await opened.modal()
    assert modal["title"] == "Feedback"
    submitted = emulator.submit_modal(opened, {"feedback:text": "great bot"})
    reply = await submitted.response()
    assert reply.content == "thanks: great bot" and reply.ephemeral


async def test_autocomplete_returns_matching_choices_then_the_command_runs(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    typing: InteractionHandle = emulator.autocomplete(
        "pick", {"fruit": "ap"}, focused="fruit", user=world.bob, channel=world.general
    )
    assert await typing.acknowledged() == CALLBACK_AUTOCOMPLETE
    assert [c["value"] for c in await typing.choices()] == ["apple", "apricot"]
    reply = await emulator.invoke_command(
        "pick", {"fruit": "apple"}, user=world.bob, channel=world.general
    ).response()
    assert reply.content == "picked apple"


async def test_message_context_menu_receives_the_resolved_message(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    target = emulator.post_message(world.general, world.bob, "the original words")
    reply = await emulator.invoke_message_command("Quote", target, user=world.alice).response()
    assert reply.content == "quoted: the original words"
    assert reply.type == 23


async def test_attachment_option_is_downloaded_and_a_file_is_sent_back(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    upload = UploadFile("notes.txt", b"abcdef")
    reply = await emulator.invoke_command(
        "upload", {"file": upload}, user=world.bob, channel=world.general
    ).response()
    assert reply.content == "notes.txt:6"
    assert [(a.filename, a.data) for a in reply.attachments] == [("reversed.bin", b"fedcba")]
    downloads = emulator.requests_to("GET /attachments/{channel_id}/{attachment_id}/{filename}")
    assert len(downloads) == 1 and downloads[0].status == 200


async def test_command_hidden_by_default_member_permissions_cannot_be_invoked(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    emulator.state.commands.upsert(
        world.guild.id, {"name": "admin", "description": "d", "default_member_permissions": "32"}
    )
    with pytest.raises(PermissionError):
        emulator.invoke_command("admin", user=world.bob, channel=world.general)


async def test_message_from_a_user_reaches_on_message_with_attachments(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    voice = UploadFile("voice-message.ogg", b"OggS...", duration_secs=1.5, waveform="AAAA")
    posted = emulator.post_message(
        world.general, world.bob, "listen", attachments=[voice], voice_message=True
    )
    seen = await emulator.wait_for(
        lambda: next((m for m in probe.messages if m.id == posted.id), None)
    )
    assert seen.content == "listen"
    assert seen.flags.voice
    attachment = seen.attachments[0]
    assert attachment.is_voice_message() and attachment.content_type == "audio/ogg"
    assert await attachment.read() == b"OggS..."


async def test_direct_message_reaches_the_bot(
    emulator: DiscordEmulator, world: World, bot: BotUnderTest
) -> None:
    _, probe = bot
    dm = emulator.dm_channel(world.bob)
    posted = emulator.post_message(dm, world.bob, "hi in private")
    seen = await emulator.wait_for(
        lambda: next((m for m in probe.messages if m.id == posted.id), None)
    )
    assert isinstance(seen.channel, discord.DMChannel)
    assert seen.content == "hi in private"

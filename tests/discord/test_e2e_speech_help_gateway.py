"""Speech in, /hi and /help, and the gateway dropping under the bot."""

from __future__ import annotations

from pathlib import Path

from tests.discord.conftest import Harness
from tests.discord_emulator import UploadFile

OGG = b"OggS" + bytes(2000)  # what a voice message looks like to the bot (opaque bytes)


async def test_an_audio_attachment_in_a_chat_channel_is_transcribed_and_answered(
    h: Harness,
) -> None:
    h.speech.text = "what is the capital of France"
    posted = h.emulator.post_message(
        h.chat, h.member, "", attachments=[UploadFile("question.ogg", OGG, "audio/ogg")]
    )
    await h.settled(lambda: h.emulator.bot_messages(h.chat))
    [reply] = h.emulator.bot_messages(h.chat)
    assert reply.referenced.id == posted.id
    assert "> what is the capital of France" in reply.content
    assert reply.content.rstrip().endswith("echo: what is the capital of France")
    [heard] = h.speech.heard
    assert heard.data == OGG and heard.content_type == "audio/ogg"
    [prediction] = h.predictions()
    assert prediction.prompt == "what is the capital of France"


async def test_a_voice_message_in_a_dm_is_answered(h: Harness) -> None:
    dm = h.emulator.dm_channel(h.member)
    voice = UploadFile("voice-message.ogg", OGG, "audio/ogg", duration_secs=2.0, waveform="AA==")
    h.emulator.post_message(dm, h.member, attachments=[voice], voice_message=True)
    await h.settled(lambda: h.emulator.bot_messages(dm))
    assert "echo: hello from a voice message" in h.emulator.bot_messages(dm)[0].content


async def test_transcribe_command_quotes_the_transcript_above_the_answer(h: Harness) -> None:
    h.speech.text = "how do I start training"
    file = UploadFile("clip.mp3", b"ID3" + bytes(500), "audio/mpeg")
    reply = await h.reply(h.command("transcribe", {"file": file}, user=h.member))
    await h.settled(lambda: reply.custom_ids())
    assert reply.content.index("> how do I start training") < reply.content.index("echo:")
    only = await h.reply(h.command("transcribe", {"file": file, "answer": False}, user=h.member))
    assert "> how do I start training" in only.content and "echo:" not in only.content


async def test_transcribe_refuses_non_audio_and_oversized_files(start_bot: object) -> None:
    h = await start_bot(max_audio_bytes=1000)  # type: ignore[operator]
    text = UploadFile("notes.txt", b"plain text", "text/plain")
    refused = await h.reply(h.command("transcribe", {"file": text}, user=h.member))
    assert refused.ephemeral and "not an audio file" in refused.content
    big = UploadFile("long.ogg", OGG, "audio/ogg")
    refused = await h.reply(h.command("transcribe", {"file": big}, user=h.member))
    assert refused.ephemeral and "the limit is 1000 bytes" in refused.content
    assert h.speech.heard == []


async def test_transcribe_cooldown_is_shared_by_the_command_and_voice_messages_per_user(
    start_bot: object,
) -> None:
    h = await start_bot(transcribe_cooldown=60.0)  # type: ignore[operator]
    file = UploadFile("clip.ogg", OGG, "audio/ogg")
    only = {"file": file, "answer": False}
    first = await h.reply(h.command("transcribe", only, user=h.member))
    assert "> hello from a voice message" in first.content
    h.emulator.post_message(h.chat, h.member, "", attachments=[file])
    await h.settled(lambda: h.emulator.bot_messages(h.chat))
    [slow_down] = h.emulator.bot_messages(h.chat)
    assert slow_down.content.startswith("Slow down a little: try again in")
    again = await h.reply(h.command("transcribe", only, user=h.member, locale="ru"))
    assert again.ephemeral and "Чуть медленнее: попробуйте через" in again.content
    other = await h.reply(h.command("transcribe", only, user=h.trainer))
    assert "> hello from a voice message" in other.content  # the cooldown is per user
    assert len(h.speech.heard) == 2


async def test_empty_audio_is_refused_by_speech_to_text(h: Harness) -> None:
    empty = UploadFile("empty.ogg", b"", "audio/ogg")
    refused = await h.reply(h.command("transcribe", {"file": empty}, user=h.member))
    assert "empty" in refused.content and h.predictions() == []


async def test_without_speech_to_text_there_is_no_transcribe_command(start_bot: object) -> None:
    h = await start_bot(without_speech=True)  # type: ignore[operator]
    names = {c["name"] for c in h.emulator.guild_commands(h.guild)}
    assert "transcribe" not in names and "ask" in names


async def test_hi_greets_by_name_in_the_users_language(h: Harness) -> None:
    hello = await h.reply(h.command("hi", user=h.member, locale="ru"))
    assert hello.content.startswith("Привет, Mo!")


async def test_help_is_paginated_from_the_markdown_file(start_bot: object, tmp_path: Path) -> None:
    sections = "\n\n".join(
        f"## Section {i}\n\n" + f"Line about topic {i}. " * 120 for i in range(4)
    )
    (tmp_path / "help.md").write_text("# Bot help\n\n" + sections)
    h = await start_bot(help_file=tmp_path / "help.md")  # type: ignore[operator]
    handle = h.command("help", user=h.member)
    page = await h.reply(handle)
    assert page.ephemeral and page.embeds[0]["title"] == "Bot help"
    assert "## Section 0" in page.embeds[0]["description"]
    assert page.embeds[0]["footer"]["text"] == "Page 1 of 4"
    turn = h.emulator.invoke_component(page, "tb:page:next", user=h.member)
    await h.settled(lambda: turn.record.ack_type is not None)
    assert "## Section 1" in page.embeds[0]["description"]


async def test_the_real_help_file_is_shown_in_the_users_language(h: Harness) -> None:
    titles = {}
    for lang in ("en-US", "ru"):
        page = await h.reply(h.command("help", user=h.member, locale=lang))
        embed = page.embeds[0]
        assert "/ask" in embed["description"] and len(embed["description"]) <= 4096
        titles[lang] = embed["title"]
    assert titles == {
        "en-US": "trainerbot — how to use me",
        "ru": "trainerbot — как мной пользоваться",
    }


async def test_the_bot_resumes_after_the_gateway_drops(h: Harness) -> None:
    assert await h.emulator.drop_gateway(4000) >= 1
    handle = h.command("ask", {"prompt": "still there?"}, user=h.member)  # missed, then replayed
    reply = await h.reply(handle, timeout=10)
    assert reply.content == "echo: still there?"
    assert any(c.kind == "resume" for c in h.emulator.gateway_log)
    dropped = await h.emulator.drop_gateway(None)  # no close frame at all
    assert dropped >= 1
    again = await h.reply(h.command("ask", {"prompt": "and now?"}, user=h.member), timeout=10)
    assert again.content == "echo: and now?"

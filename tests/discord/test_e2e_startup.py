"""Starting up: the run entry point, refusals by Discord, global command sync."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import pytest
import structlog.testing

from adapters.discord import BotServices, DiscordConfig, DiscordLoginFailed, run_discord
from adapters.discord.i18n.commands import RU
from tests.discord_emulator import DiscordEmulator, point_discord_at


@pytest.fixture(autouse=True)
def _unfreeze() -> Iterator[None]:
    yield
    gc.unfreeze()  # run_discord freezes start-up objects; not across a test session


def config(emulator: DiscordEmulator, **overrides: Any) -> DiscordConfig:
    values: dict[str, Any] = {
        "token": emulator.token,
        "api_base": emulator.api_base,
        "gateway_url": emulator.gateway_url,
        "guild_ready_timeout": 0.05,
    }
    values.update(overrides)
    return DiscordConfig(**values)


async def test_a_wrong_token_is_reported_in_one_clear_sentence(
    emulator: DiscordEmulator, services: BotServices
) -> None:
    with point_discord_at(emulator), pytest.raises(DiscordLoginFailed, match="bot token"):
        await run_discord(services, config(emulator, token="not-the-token"))


async def test_a_missing_message_content_intent_is_explained(
    emulator: DiscordEmulator, services: BotServices
) -> None:
    emulator.config.privileged_intents = frozenset()
    chat = config(emulator, chat_channels=frozenset({123}))
    with point_discord_at(emulator), pytest.raises(DiscordLoginFailed, match="Message Content"):
        await asyncio.wait_for(run_discord(services, chat), 10)


async def test_without_a_dev_guild_commands_sync_globally_and_run_serves_them(
    emulator: DiscordEmulator, services: BotServices
) -> None:
    guild = emulator.add_guild("Somewhere")
    channel = emulator.add_text_channel(guild, "general")
    user = emulator.add_member(guild, "zoe")
    with point_discord_at(emulator):
        running = asyncio.create_task(run_discord(services, config(emulator)))
        await emulator.wait_for(lambda: emulator.commands, 10)
        await emulator.wait_until_identified(10)
        assert "ask" in {c["name"] for c in emulator.commands}
        assert emulator.guild_commands(guild) == []
        reply = await emulator.invoke_command("hi", user=user, channel=channel).response()
        assert reply.content.startswith("Hi Zoe!")
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    await services.training.aclose()


async def test_a_refused_command_sync_is_one_line_naming_the_field_and_the_bot_still_connects(
    emulator: DiscordEmulator, services: BotServices, monkeypatch: pytest.MonkeyPatch
) -> None:
    # what Discord had from the last good sync
    emulator.state.commands.overwrite(None, [{"name": "hi", "description": "Say hello", "type": 1}])
    # a bad localisation: Discord refuses upper case and spaces in a slash command's name
    monkeypatch.setitem(RU.names, "prompt", "Ваш Вопрос")
    monkeypatch.setitem(RU.names, "dataset add.prompt", "Запрос Пользователя")
    guild = emulator.add_guild("Somewhere")
    channel = emulator.add_text_channel(guild, "general")
    user = emulator.add_member(guild, "zoe")
    with point_discord_at(emulator), structlog.testing.capture_logs() as logs:
        running = asyncio.create_task(run_discord(services, config(emulator)))
        connected = asyncio.create_task(emulator.wait_until_identified(10))
        await asyncio.wait({running, connected}, return_when=asyncio.FIRST_COMPLETED)
        assert not running.done(), running.exception()  # start-up did not stop at the sync
        await connected
        reply = await emulator.invoke_command("hi", user=user, channel=channel).response()
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
    assert reply.content.startswith("Hi Zoe!")
    assert [c["name"] for c in emulator.commands] == ["hi"]  # the old list is kept
    refused = [e for e in logs if e["event"] == "discord_commands_refused"]
    assert len(refused) == 1 and refused[0]["log_level"] == "warning"
    reason = refused[0]["reason"]
    assert "\n" not in reason
    assert "/ask, option 'prompt', name_localizations.ru: Command name is invalid" in reason
    assert "/dataset add, option 'prompt', name_localizations.ru: " in reason
    assert "code 50035" in reason and "already has" in reason

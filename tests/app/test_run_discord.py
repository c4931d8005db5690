"""`trainerbot run` with a token: the real process serves Discord (the local emulator).

The bot runs as a subprocess exactly as an operator starts it; only the advanced
settings point it at the emulator and at an OpenAI-compatible stand-in.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from tests.app.bot_process import bot_env, start_bot_process
from tests.discord_emulator import DiscordEmulator
from tests.standins.openai_server import OpenAIStandin


async def test_run_with_a_token_serves_slash_commands_and_stops_cleanly(tmp_path: Path) -> None:
    async with DiscordEmulator(heartbeat_interval_ms=500) as emulator, OpenAIStandin() as llm:
        guild = emulator.add_guild("Community")
        general = emulator.add_text_channel(guild, "general")
        alice = emulator.add_member(guild, "alice")
        env = bot_env(
            emulator, guild, llm.base_url, tmp_path / "data",
            TRAINERBOT_SPEECH__ENABLED="true", TRAINERBOT_VOICE__ENABLED="true",
        )  # fmt: skip
        bot = await start_bot_process(tmp_path, env)
        try:
            commands = await emulator.wait_for(lambda: emulator.guild_commands(guild), timeout=60)
            names = {c["name"] for c in commands}
            assert {"ask", "dataset", "train", "test", "model", "getfile", "help"} <= names
            assert {"join", "leave", "say", "stop", "transcribe"} <= names
            await emulator.wait_until_identified(timeout=30)
            handle = emulator.invoke_command(
                "ask", {"prompt": "hello there"}, user=alice, channel=general
            )
            await handle.acknowledged(timeout=3)
            answer = await emulator.wait_for(
                lambda: next(
                    (m for m in emulator.bot_messages(general) if "echo: hello there" in m.content),
                    None,
                ),
                timeout=20,
            )
            assert answer.custom_ids()  # the feedback buttons
            assert llm.chat_requests[-1].bearer is not None
        finally:
            bot.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(bot.communicate(), timeout=30)
        assert bot.returncode == 0, err.decode()[-3000:]
        assert emulator.token not in (out + err).decode()

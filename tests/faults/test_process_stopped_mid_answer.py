"""SIGTERM to `trainerbot run` while it streams an answer on Discord.

The real process, as an operator starts it, against the emulator and a stand-in model
that streams slowly. The bot stops within a bound; the interaction's message is not
left as "thinking…" or with a half answer that looks whole: it says the answer was
interrupted because the bot is restarting, and no prediction of the half answer is
stored.
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import time
from pathlib import Path

import pytest

from tests.app.bot_process import bot_env, start_bot_process
from tests.discord.conftest import BotFactory, Harness, h
from tests.discord_emulator import DiscordEmulator
from tests.standins.openai_server import Behaviour, OpenAIStandin

__all__ = ["h"]

pytestmark = pytest.mark.faults

STOP_WITHIN = 15.0  # seconds from SIGTERM to the process's exit
LONG = " ".join(f"word{n}" for n in range(200))


async def test_sigterm_mid_answer_stops_in_time_and_leaves_no_answer_looking_whole(
    tmp_path: Path,
) -> None:
    async with (
        DiscordEmulator(heartbeat_interval_ms=500) as emulator,
        OpenAIStandin(reply=lambda messages: LONG) as llm,
    ):
        llm.default = Behaviour(chunk_delay=0.1)  # 200 pieces: 20 s of streaming
        guild = emulator.add_guild("Community")
        general = emulator.add_text_channel(guild, "general")
        alice = emulator.add_member(guild, "alice")
        data = tmp_path / "data"
        bot = await start_bot_process(tmp_path, bot_env(emulator, guild, llm.base_url, data))
        try:
            await emulator.wait_for(lambda: emulator.guild_commands(guild), timeout=60)
            await emulator.wait_until_identified(timeout=30)
            handle = emulator.invoke_command(
                "ask", {"prompt": "tell me everything"}, user=alice, channel=general
            )
            await handle.acknowledged(timeout=3)
            await emulator.wait_for(
                lambda: any("word3" in m.content for m in emulator.bot_messages(general)),
                timeout=20,
            )
        finally:
            bot.send_signal(signal.SIGTERM)
            stopped = time.monotonic()
            out, err = await asyncio.wait_for(bot.communicate(), timeout=STOP_WITHIN + 15)
        assert time.monotonic() - stopped < STOP_WITHIN, err.decode()[-3000:]
        assert bot.returncode == 0, err.decode()[-3000:]
        assert emulator.token not in (out + err).decode()

        [message] = [m for m in emulator.bot_messages(general) if "word0" in m.content]
        assert "word199" not in message.content  # it was stopped mid-answer
        assert "interrupted" in message.content.lower(), message.content
        with sqlite3.connect(data / "trainerbot.db") as db:
            assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert db.execute("SELECT count(*) FROM predictions").fetchone() == (0,)


async def test_a_stopping_bot_says_so_where_an_answer_had_not_begun(h: Harness) -> None:
    h.llm.delay = 30.0  # the model has not sent a word when the bot stops
    handle = h.command("ask", {"prompt": "are you there?"}, user=h.member)
    await handle.acknowledged(timeout=3)  # "thinking…"

    started = time.monotonic()
    await h.bot.close()

    assert time.monotonic() - started < 6.0  # STOP_NOTE_SECONDS and a little
    message = await h.reply(handle, timeout=1)
    assert "the bot is restarting" in message.content
    assert h.predictions() == []


async def test_a_stopping_bot_says_so_where_an_answer_waited_for_its_turn(
    start_bot: BotFactory,
) -> None:
    h = await start_bot(max_concurrent_answers=1)
    h.llm.delay = 30.0
    busy = h.command("ask", {"prompt": "first"}, user=h.member)
    waiting = h.command("ask", {"prompt": "second"}, user=h.trainer)
    await busy.acknowledged(timeout=3)
    await waiting.acknowledged(timeout=3)

    await h.bot.close()

    for handle in (busy, waiting):
        message = await h.reply(handle, timeout=1)
        assert "the bot is restarting" in message.content

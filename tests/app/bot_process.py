"""`trainerbot run` as an operator starts it, pointed at the emulator and a stand-in model."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.discord_emulator import DiscordEmulator, Guild


def bot_env(
    emulator: DiscordEmulator, guild: Guild, llm_base_url: str, data_dir: Path, **extra: str
) -> dict[str, str]:
    """This environment plus what points the bot at the emulator and the model."""
    return {
        **os.environ,
        "TRAINERBOT_DATA_DIR": str(data_dir),
        "TRAINERBOT_DISCORD__TOKEN": emulator.token,
        "TRAINERBOT_DISCORD__API_BASE": emulator.api_base,
        "TRAINERBOT_DISCORD__GATEWAY_URL": emulator.gateway_url,
        "TRAINERBOT_DISCORD__DEV_GUILD_ID": str(guild.id),
        "TRAINERBOT_LLM__BASE_URL": llm_base_url,
        "TRAINERBOT_LLM__MODEL": "standin-model",
        "TRAINERBOT_LOG__FORMAT": "json",
        **extra,
    }


async def start_bot_process(cwd: Path, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "app.cli", "run",
        cwd=cwd, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip

"""The Discord adapter: every capability as discord.py application commands.

``run_discord(services, config)`` is the entry point the app calls; tests build
``TrainerBot`` directly and point it at the local emulator.
"""

from adapters.discord.bot import DiscordLoginFailed, TrainerBot, run_discord
from adapters.discord.config import DiscordConfig
from adapters.discord.host import BotServices, CogFactory

__all__ = [
    "BotServices",
    "CogFactory",
    "DiscordConfig",
    "DiscordLoginFailed",
    "TrainerBot",
    "run_discord",
]

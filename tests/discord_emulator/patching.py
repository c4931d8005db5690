"""Pointing the real discord.py at the emulator (and back)."""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Self

import discord.gateway
import discord.http
import yarl

if TYPE_CHECKING:
    from .server import DiscordEmulator


@dataclass
class DiscordPatch:
    """The original REST base and gateway URL; `restore()` puts them back."""

    route_base: str
    default_gateway: yarl.URL
    restored: bool = False

    def restore(self) -> None:
        if not self.restored:
            discord.http.Route.BASE = self.route_base
            discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self.default_gateway
            self.restored = True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.restore()


def point_discord_at(emulator: DiscordEmulator) -> DiscordPatch:
    """Sends discord.py's REST calls (incl. interaction callbacks and follow-up webhooks) and
    its gateway connection to the emulator. Use as a context manager or call `.restore()`."""
    patch = DiscordPatch(
        route_base=discord.http.Route.BASE,
        default_gateway=discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY,
    )
    discord.http.Route.BASE = emulator.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(emulator.gateway_url)
    return patch

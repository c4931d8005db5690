"""`DiscordEmulator`: a local Discord (REST + gateway) for driving the real discord.py in tests."""

# Test-facing waits take a `timeout` argument on purpose (pytest-style helpers).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from . import rest_core, rest_interactions, rest_messages, world
from .gateway import Gateway
from .messages import StoredMessage
from .models import IS_VOICE_MESSAGE, Channel, Guild, Member, Role, UploadFile, User
from .ratelimit import RateLimiter, RateLimitPolicy
from .records import (
    GatewayConnection,
    RecordedRequest,
)
from .state import EmulatorConfig, EmulatorState
from .triggers import InteractionTriggers, Person, as_user

T = TypeVar("T")


class DiscordEmulator(InteractionTriggers):
    """Start it (`async with DiscordEmulator() as discord:`), build a world, point the bot
    at `api_base` / `gateway_url`, then trigger interactions and messages as users do."""

    def __init__(self, config: EmulatorConfig | None = None, **overrides: Any) -> None:
        self.config = config or EmulatorConfig()
        for key, value in overrides.items():
            if not hasattr(self.config, key):
                raise TypeError(f"unknown emulator setting {key!r}")
            setattr(self.config, key, value)
        self.state = EmulatorState(config=self.config)
        self.limiter = RateLimiter()
        self.gateway = Gateway(self.state, resume_url=lambda: self.resume_gateway_url)
        self.state.sink = self.gateway
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._timers: list[asyncio.TimerHandle] = []

    # lifecycle ------------------------------------------------------------------------------
    async def start(self) -> Self:
        app = web.Application(middlewares=[rest_core.middleware], client_max_size=64 * 1024 * 1024)
        self._core = rest_core.Core(self.state, self.limiter, lambda: self.gateway_url)
        app[rest_core.CORE] = self._core
        for module in (rest_core, rest_messages, rest_interactions):
            module.add_routes(app.router)
        app.router.add_get("/ws/gateway", self.gateway.handle)
        app.router.add_get("/ws/resume", self.gateway.handle)
        app.router.add_route("*", "/{tail:.*}", rest_core.unknown_route)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self.state.base_url = f"http://127.0.0.1:{self._port}"
        return self

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        await self.gateway.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self, *exc: type[BaseException] | BaseException | TracebackType | None
    ) -> None:
        await self.stop()

    # addresses and identity -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return self.state.base_url

    @property
    def api_base(self) -> str:
        return f"{self.base_url}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws/gateway"

    @property
    def resume_gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/ws/resume"

    @property
    def token(self) -> str:
        return self.config.token

    @property
    def bot_user(self) -> User:
        return self.state.bot

    @property
    def application_id(self) -> int:
        return self.state.application_id

    # recorded traffic -------------------------------------------------------------------------
    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    @property
    def unknown_requests(self) -> list[RecordedRequest]:
        return [r for r in self.state.requests if r.unknown]

    def requests_to(self, route: str) -> list[RecordedRequest]:
        """Requests on a route key such as "POST /channels/{channel_id}/messages"."""
        return [r for r in self.state.requests if r.route == route]

    def assert_no_unknown_requests(self) -> None:
        unknown = [f"{r.method} {r.path}" for r in self.unknown_requests]
        assert not unknown, f"the bot called routes Discord does not have: {unknown}"

    @property
    def messages(self) -> dict[int, list[StoredMessage]]:
        """Every message per channel id (current state; see `.history` for edits)."""
        return self.state.messages

    def messages_in(
        self, channel: Channel, *, include_ephemeral: bool = True
    ) -> list[StoredMessage]:
        found = [m for m in self.state.messages.get(channel.id, []) if not m.deleted]
        return found if include_ephemeral else [m for m in found if not m.ephemeral]

    def bot_messages(self, channel: Channel) -> list[StoredMessage]:
        return [m for m in self.messages_in(channel) if m.author.id == self.state.bot.id]

    @property
    def commands(self) -> list[dict[str, Any]]:
        return self.state.commands.commands(None)

    def guild_commands(self, guild: Guild) -> list[dict[str, Any]]:
        return self.state.commands.commands(guild.id)

    @property
    def gateway_log(self) -> list[GatewayConnection]:
        return self.gateway.log

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 5.0) -> T:
        """Waits until `predicate()` is truthy (re-checked after every change) and returns it."""
        return await self.state.wait_for(predicate, timeout)

    async def wait_until_identified(self, timeout: float = 5.0) -> None:
        await self.wait_for(
            lambda: any(s.connection for s in self.gateway.live_sessions()), timeout
        )

    # rate limits -----------------------------------------------------------------------------
    @property
    def rate_limits(self) -> RateLimitPolicy | None:
        return self.limiter.policy

    @rate_limits.setter
    def rate_limits(self, policy: RateLimitPolicy | None) -> None:
        self.limiter.policy = policy

    def force_rate_limit(self, route: str, *, count: int = 1, retry_after: float = 0.2) -> None:
        self.limiter.force(route, count=count, retry_after=retry_after)

    def fail_requests(self, route: str, *, status: int = 500, count: int = 1) -> None:
        """The next `count` requests to `route` fail with `status` and change nothing."""
        self._core.server_errors[route] = (status, count)

    def lose_answers(self, route: str, *, count: int = 1) -> None:
        """The next `count` requests to `route` take effect, but their connection drops
        before the answer is sent (the bot cannot tell whether they did)."""
        self._core.lost_answers[route] = count

    # the world -------------------------------------------------------------------------------
    def add_user(self, username: str, *, locale: str = "en-US", bot: bool = False) -> User:
        return world.add_user(self.state, username, locale=locale, bot=bot)

    def add_guild(self, name: str = "Test Guild", *, locale: str = "en-US") -> Guild:
        return world.add_guild(self.state, name, locale=locale)

    def add_role(self, guild: Guild, name: str, *, permissions: int = 0) -> Role:
        return world.add_role(self.state, guild, name, permissions=permissions)

    def add_member(
        self,
        guild: Guild,
        user: User | str,
        *,
        roles: list[Role] | None = None,
        locale: str = "en-US",
        nick: str | None = None,
    ) -> Member:
        if isinstance(user, str):
            user = self.add_user(user, locale=locale)
        return world.add_member(self.state, guild, user, roles=roles, nick=nick)

    def add_text_channel(self, guild: Guild, name: str) -> Channel:
        return world.add_channel(self.state, guild, name)

    def add_voice_channel(self, guild: Guild, name: str) -> Channel:
        return world.add_voice_channel(self.state, guild, name)

    def add_thread(self, parent: Channel, name: str, *, owner: Person) -> Channel:
        return world.add_thread(self.state, parent, name, owner=as_user(owner))

    def dm_channel(self, user: Person) -> Channel:
        return world.open_dm(self.state, as_user(user))

    def set_voice_state(self, member: Member, channel: Channel | None) -> None:
        """A member joins (or with None leaves) a voice channel; the bot gets VOICE_STATE_UPDATE."""
        self.state.set_voice_state(member.guild_id, member.id, channel.id if channel else None)

    # users acting ----------------------------------------------------------------------------
    def post_message(
        self,
        channel: Channel,
        author: Person,
        content: str = "",
        *,
        attachments: list[UploadFile] | None = None,
        reply_to: StoredMessage | None = None,
        voice_message: bool = False,
    ) -> StoredMessage:
        """A user posts a message; the bot receives MESSAGE_CREATE as its intents allow."""
        body: dict[str, Any] = {"content": content}
        if reply_to is not None:
            body["message_reference"] = {"message_id": str(reply_to.id)}
        return self.state.create_message(
            channel,
            as_user(author),
            body,
            list(attachments or []),
            allowed_flags=IS_VOICE_MESSAGE,
            flags=IS_VOICE_MESSAGE if voice_message else 0,
        )

    def add_reaction(self, message: StoredMessage, user: Person, emoji: str) -> None:
        self.state.react(message, as_user(user).id, emoji, add=True)

    def remove_reaction(self, message: StoredMessage, user: Person, emoji: str) -> None:
        self.state.react(message, as_user(user).id, emoji, add=False)

    # gateway controls --------------------------------------------------------------------------
    async def drop_gateway(self, code: int | None = 4000) -> int:
        """Closes the bot's gateway connection(s): with a close code, or abruptly when None."""
        return await self.gateway.drop(code)

    def invalidate_sessions(self) -> None:
        self.gateway.invalidate_sessions()

    def request_reconnect(self) -> None:
        self.gateway.request_reconnect()

"""The gateway spoken to with a plain websocket: handshake, close codes, sessions, shards."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import discord
import pytest

from .conftest import World
from .models import GUILDS_INTENT, MESSAGE_CONTENT_INTENT
from .patching import point_discord_at
from .server import DiscordEmulator


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


async def receive(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    message = await ws.receive(timeout=5)
    assert message.type is aiohttp.WSMsgType.TEXT, message
    frame: dict[str, Any] = message.json()
    return frame


async def identify(
    ws: aiohttp.ClientWebSocketResponse, token: str, intents: int = GUILDS_INTENT, **extra: Any
) -> None:
    await ws.send_json(
        {"op": 2, "d": {"token": token, "intents": intents, "properties": {}, **extra}}
    )


async def test_handshake_hello_heartbeat_identify_ready_guild_create(
    emulator: DiscordEmulator, world: World, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(emulator.gateway_url + "?v=10&encoding=json") as ws:
        hello = await receive(ws)
        assert hello["op"] == 10 and hello["d"]["heartbeat_interval"] == 500
        await ws.send_json({"op": 1, "d": None})
        assert (await receive(ws))["op"] == 11
        await identify(ws, emulator.token)
        ready, guild_create = await receive(ws), await receive(ws)
    assert (ready["t"], ready["s"], guild_create["t"], guild_create["s"]) == (
        "READY",
        1,
        "GUILD_CREATE",
        2,
    )
    assert ready["d"]["resume_gateway_url"] == emulator.resume_gateway_url
    assert ready["d"]["guilds"] == [{"id": str(world.guild.id), "unavailable": True}]
    assert ready["d"]["application"]["id"] == str(emulator.application_id)
    guild = guild_create["d"]
    assert {c["name"] for c in guild["channels"]} == {"general", "Voice"}
    assert [m["user"]["id"] for m in guild["members"]] == [str(emulator.bot_user.id)]


@pytest.mark.parametrize(
    ("frames", "code"),
    [
        ([{"op": 2, "d": {"token": "wrong", "intents": 1}}], 4004),
        ([{"op": 3, "d": {"status": "online"}}], 4003),
        ([{"op": 2, "d": {"token": None, "intents": 1}}], 4004),
        ([{"op": 42, "d": None}], 4003),
        (
            [{"op": 2, "d": {"token": "emulator-bot-token", "intents": 1}}, {"op": 42, "d": None}],
            4001,
        ),
        ([{"op": 2, "d": {"token": "emulator-bot-token", "intents": 1}}] * 2, 4005),
        ([{"op": 2, "d": {"token": "emulator-bot-token", "intents": -1}}], 4013),
    ],
)
async def test_protocol_violations_close_with_discords_codes(
    emulator: DiscordEmulator,
    session: aiohttp.ClientSession,
    frames: list[dict[str, Any]],
    code: int,
) -> None:
    async with session.ws_connect(emulator.gateway_url) as ws:
        await receive(ws)
        for frame in frames:
            await ws.send_json(frame)
        closing = await ws.receive(timeout=5)
        while closing.type is aiohttp.WSMsgType.TEXT:
            closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and closing.data == code


async def test_disallowed_privileged_intent_closes_with_4014(
    emulator: DiscordEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.config.privileged_intents = frozenset()
    async with session.ws_connect(emulator.gateway_url) as ws:
        await receive(ws)
        await identify(ws, emulator.token, GUILDS_INTENT | MESSAGE_CONTENT_INTENT)
        assert (await ws.receive(timeout=5)).data == 4014


async def test_session_closed_by_the_client_with_1000_cannot_resume(
    emulator: DiscordEmulator, session: aiohttp.ClientSession
) -> None:
    async with session.ws_connect(emulator.gateway_url) as ws:
        await receive(ws)
        await identify(ws, emulator.token)
        ready = await receive(ws)
    async with session.ws_connect(ready["d"]["resume_gateway_url"]) as ws:
        await receive(ws)
        resume = {"token": emulator.token, "session_id": ready["d"]["session_id"], "seq": 1}
        await ws.send_json({"op": 6, "d": resume})
        assert await receive(ws) == {"op": 9, "d": False, "s": None, "t": None}


async def test_sharding_required_when_the_app_has_several_shards(
    emulator: DiscordEmulator, session: aiohttp.ClientSession
) -> None:
    emulator.config.shard_count = 2
    async with session.ws_connect(emulator.gateway_url) as ws:
        await receive(ws)
        await identify(ws, emulator.token)
        assert (await ws.receive(timeout=5)).data == 4011


async def test_auto_sharded_client_gets_each_guild_on_its_shard(
    emulator: DiscordEmulator, world: World
) -> None:
    emulator.config.shard_count = 2
    other = emulator.add_guild("Other Guild")

    class QuickShards(discord.AutoShardedClient):
        async def before_identify_hook(
            self, shard_id: int | None, *, initial: bool = False
        ) -> None:
            return None

    with point_discord_at(emulator):
        client = QuickShards(intents=discord.Intents.default(), guild_ready_timeout=0.05)
        runner = asyncio.create_task(client.start(emulator.token))
        try:
            await asyncio.wait_for(client.wait_until_ready(), 10)
            assert emulator.requests_to("GET /gateway/bot")
            assert sorted(s.shard for s in emulator.gateway.live_sessions() if s.shard) == [
                [0, 2],
                [1, 2],
            ]
            for guild in (world.guild, other):
                seen = client.get_guild(guild.id)
                assert seen is not None and seen.shard_id == (guild.id >> 22) % 2
        finally:
            await client.close()
            await asyncio.wait_for(runner, 5)

"""The emulator's REST surface, spoken to with plain HTTP: shapes, limits, errors, timing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from .conftest import World
from .ratelimit import RateLimitPolicy
from .server import DiscordEmulator

ECHO = {
    "name": "echo",
    "description": "Say it back",
    "options": [{"name": "text", "description": "t", "type": 3, "required": True}],
}


@pytest.fixture
async def http(emulator: DiscordEmulator) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {emulator.token}"}
    async with aiohttp.ClientSession(base_url=emulator.base_url, headers=headers) as session:
        yield session


async def call(
    http: aiohttp.ClientSession, method: str, path: str, **kwargs: Any
) -> tuple[int, Any, Any]:
    async with http.request(method, "/api/v10" + path, **kwargs) as response:
        body = await response.json() if response.status != 204 else None
        return response.status, body, response.headers


async def test_json_answers_carry_exactly_application_json(http: aiohttp.ClientSession) -> None:
    async with http.get("/api/v10/users/@me") as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/json"


async def test_unknown_route_is_a_discord_404_and_is_recorded(
    emulator: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await call(http, "GET", "/channels/1/pins/nope")
    assert (status, body) == (404, {"message": "404: Not Found", "code": 0})
    assert [r.path for r in emulator.unknown_requests] == ["/api/v10/channels/1/pins/nope"]
    with pytest.raises(AssertionError, match="routes Discord does not have"):
        emulator.assert_no_unknown_requests()


async def test_wrong_token_is_unauthorized(emulator: DiscordEmulator) -> None:
    headers = {"Authorization": "Bot wrong"}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.get(emulator.api_base + "/users/@me") as response,
    ):
        assert response.status == 401
        assert (await response.json())["message"] == "401: Unauthorized"


async def test_command_sync_keeps_ids_across_resyncs(
    emulator: DiscordEmulator, http: aiohttp.ClientSession
) -> None:
    path = f"/applications/{emulator.application_id}/commands"
    _, first, _ = await call(http, "PUT", path, json=[ECHO])
    _, second, _ = await call(http, "PUT", path, json=[ECHO, {"name": "Quote", "type": 3}])
    assert first[0]["id"] == second[0]["id"]
    assert [c["name"] for c in emulator.commands] == ["echo", "Quote"]


@pytest.mark.parametrize(
    ("command", "error_path"),
    [
        ({"name": "Echo", "description": "d"}, ("0", "name")),
        ({"name": "echo", "description": "d" * 101}, ("0", "description")),
        (
            {"name": "echo", "description": "d", "name_localizations": {"xx": "eco"}},
            ("0", "name_localizations", "xx"),
        ),
        (
            {"name": "echo", "description": "d", "description_localizations": {"ru": ""}},
            ("0", "description_localizations", "ru"),
        ),
        ({"name": "Quote", "type": 3, "description": "no"}, ("0", "description")),
    ],
)
async def test_invalid_commands_are_refused_like_discord(
    emulator: DiscordEmulator,
    http: aiohttp.ClientSession,
    command: dict[str, Any],
    error_path: tuple[str, ...],
) -> None:
    status, body, _ = await call(
        http, "PUT", f"/applications/{emulator.application_id}/commands", json=[command]
    )
    assert (status, body["code"]) == (400, 50035)
    node = body["errors"]
    for part in error_path:
        node = node[part]
    assert node["_errors"]
    assert emulator.commands == []


@pytest.mark.parametrize(
    ("payload", "error_key"),
    [
        ({"content": "x" * 2001}, "content"),
        ({"embeds": [{"description": "d"}] * 11}, "embeds"),
        ({"embeds": [{"description": "d" * 4097}]}, "embeds"),
        (
            {
                "content": "ok",
                "components": [
                    {
                        "type": 1,
                        "components": [{"type": 2, "style": 1, "label": "b", "custom_id": f"b{i}"}],
                    }
                    for i in range(6)
                ],
            },
            "components",
        ),
    ],
)
async def test_oversized_messages_are_refused(
    emulator: DiscordEmulator,
    world: World,
    http: aiohttp.ClientSession,
    payload: dict[str, Any],
    error_key: str,
) -> None:
    status, body, _ = await call(
        http, "POST", f"/channels/{world.general.id}/messages", json=payload
    )
    assert (status, body["code"], body["message"]) == (400, 50035, "Invalid Form Body")
    assert error_key in body["errors"]
    assert emulator.messages_in(world.general) == []


async def test_empty_message_is_refused(world: World, http: aiohttp.ClientSession) -> None:
    status, body, _ = await call(
        http, "POST", f"/channels/{world.general.id}/messages", json={"content": ""}
    )
    assert (status, body["code"]) == (400, 50006)


async def test_uploaded_file_is_stored_and_served_at_an_absolute_url(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    form = aiohttp.FormData(quote_fields=False)
    form.add_field(
        "payload_json", '{"content": "here", "attachments": [{"id": 0, "filename": "a.txt"}]}'
    )
    form.add_field(
        "files[0]", b"file bytes", filename="a.txt", content_type="application/octet-stream"
    )
    status, body, _ = await call(http, "POST", f"/channels/{world.general.id}/messages", data=form)
    assert status == 200
    url = body["attachments"][0]["url"]
    assert url.startswith(emulator.base_url)
    async with aiohttp.ClientSession() as plain, plain.get(url) as response:
        assert await response.read() == b"file bytes"
        assert response.headers["Content-Type"] == "text/plain"
    assert emulator.messages_in(world.general)[0].attachments[0].data == b"file bytes"


async def test_upload_over_the_size_limit_is_too_large(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    emulator.config.attachment_size_limit = 10
    form = aiohttp.FormData(quote_fields=False)
    form.add_field("payload_json", '{"attachments": [{"id": 0, "filename": "big.bin"}]}')
    form.add_field("files[0]", b"x" * 11, filename="big.bin")
    status, body, _ = await call(http, "POST", f"/channels/{world.general.id}/messages", data=form)
    assert (status, body["code"]) == (413, 40005)


async def test_forced_429_carries_discords_headers_and_body(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    emulator.force_rate_limit("POST /channels/{channel_id}/messages", retry_after=0.25)
    status, body, headers = await call(
        http, "POST", f"/channels/{world.general.id}/messages", json={"content": "a"}
    )
    assert status == 429
    assert body["retry_after"] == 0.25 and body["global"] is False
    assert headers["Via"] and headers["Retry-After"] == "1"
    assert headers["X-RateLimit-Remaining"] == "0" and "X-RateLimit-Reset-After" in headers
    status, _, _ = await call(
        http, "POST", f"/channels/{world.general.id}/messages", json={"content": "a"}
    )
    assert status == 200


async def test_rate_limit_policy_counts_per_route_and_advertises_headers(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    emulator.rate_limits = RateLimitPolicy(limit=2, window=30.0)
    path = f"/channels/{world.general.id}/messages"
    statuses = [(await call(http, "POST", path, json={"content": "a"}))[0] for _ in range(3)]
    assert statuses == [200, 200, 429]
    _, _, headers = await call(http, "GET", path)
    assert headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"


async def sync_echo(emulator: DiscordEmulator, http: aiohttp.ClientSession) -> None:
    await call(http, "PUT", f"/applications/{emulator.application_id}/commands", json=[ECHO])


async def test_second_callback_is_already_acknowledged(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    await sync_echo(emulator, http)
    handle = emulator.invoke_command("echo", {"text": "hi"}, user=world.bob, channel=world.general)
    path = f"/interactions/{handle.id}/{handle.token}/callback"
    status, body, _ = await call(
        http,
        "POST",
        path,
        params={"with_response": "1"},
        json={"type": 4, "data": {"content": "one"}},
    )
    assert status == 200
    assert body["interaction"]["id"] == str(handle.id)
    assert body["resource"]["message"]["content"] == "one"
    status, body, _ = await call(http, "POST", path, json={"type": 4, "data": {"content": "two"}})
    assert (status, body["code"]) == (400, 40060)
    assert (await handle.response()).content == "one"


async def test_late_callback_is_unknown_interaction(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    emulator.config.ack_timeout = 0.05
    await sync_echo(emulator, http)
    handle = emulator.invoke_command("echo", {"text": "hi"}, user=world.bob, channel=world.general)
    assert await handle.expired(timeout=2)
    status, body, _ = await call(
        http, "POST", f"/interactions/{handle.id}/{handle.token}/callback", json={"type": 5}
    )
    assert (status, body["code"]) == (404, 10062)
    assert handle.record.rejected_callbacks == [(404, 10062)]


async def test_follow_up_needs_an_acknowledged_interaction_and_a_fresh_token(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    await sync_echo(emulator, http)
    handle = emulator.invoke_command("echo", {"text": "hi"}, user=world.bob, channel=world.general)
    webhook = f"/webhooks/{emulator.application_id}/{handle.token}"
    status, body, _ = await call(http, "POST", webhook, json={"content": "early"})
    assert (status, body["code"]) == (404, 10015)
    await call(http, "POST", f"/interactions/{handle.id}/{handle.token}/callback", json={"type": 5})
    status, body, _ = await call(
        http, "POST", webhook, params={"wait": "true"}, json={"content": "filled"}
    )
    original = handle.record.original
    assert status == 200 and original is not None and body["id"] == str(original.id)
    emulator.config.followup_ttl = 0.0
    status, body, _ = await call(http, "POST", webhook, json={"content": "too late"})
    assert (status, body["code"]) == (401, 50027)


async def test_rest_withholds_content_when_the_intent_is_not_enabled(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    emulator.config.privileged_intents = frozenset()
    emulator.post_message(world.general, world.bob, "secret words")
    emulator.post_message(world.general, world.bob, f"hi {emulator.bot_user.mention}")
    _, body, _ = await call(http, "GET", f"/channels/{world.general.id}/messages")
    assert [m["content"] for m in body] == [f"hi {emulator.bot_user.mention}", ""]


async def test_callback_type_must_fit_the_interaction(
    emulator: DiscordEmulator, world: World, http: aiohttp.ClientSession
) -> None:
    option = {"name": "text", "description": "t", "type": 3, "required": True, "autocomplete": True}
    command = {"name": "echo", "description": "Say it back", "options": [option]}
    await call(http, "PUT", f"/applications/{emulator.application_id}/commands", json=[command])
    typing = emulator.autocomplete(
        "echo", {"text": "h"}, focused="text", user=world.bob, channel=world.general
    )
    path = f"/interactions/{typing.id}/{typing.token}/callback"
    status, body, _ = await call(http, "POST", path, json={"type": 4, "data": {"content": "no"}})
    assert (status, body["code"]) == (400, 50035)
    assert typing.record.ack_type is None
    status, body, _ = await call(
        http, "POST", path, json={"type": 8, "data": {"choices": [{"name": "hi", "value": "hi"}]}}
    )
    assert status == 200 and "resource" not in body
    assert await typing.choices() == [{"name": "hi", "value": "hi"}]

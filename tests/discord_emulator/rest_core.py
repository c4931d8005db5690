"""REST plumbing (recording, auth, rate limits, errors) and the login, gateway and
application-command routes."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BodyPartReader, web

from . import payloads
from .errors import ApiError, route_not_found, unauthorized
from .models import UploadFile
from .ratelimit import RateLimiter
from .records import RecordedRequest
from .state import EmulatorState

API = "/api/v10"
WEBSOCKET_PREFIX = "/ws/"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Routes Discord serves without the bot token (the interaction token is the credential).
TOKENLESS_PREFIXES = ("/interactions/", "/webhooks/{webhook_id}/{webhook_token}")


@dataclass
class Core:
    state: EmulatorState
    limiter: RateLimiter
    gateway_url: Callable[[], str]
    # route -> how many more requests are carried out but never answered (the connection drops)
    lost_answers: dict[str, int] = field(default_factory=dict)
    # route -> (status, how many more requests fail with it, not carried out)
    server_errors: dict[str, tuple[int, int]] = field(default_factory=dict)


CORE = web.AppKey("core", Core)
JSON_BODY = web.RequestKey("json_body", object)
UPLOADS: web.RequestKey[list[UploadFile]] = web.RequestKey("uploads", list)


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """Exactly `Content-Type: application/json` (discord.py reads anything else as text)."""
    return web.Response(
        body=json.dumps(data).encode(),
        status=status,
        headers={**(headers or {}), "Content-Type": "application/json"},
    )


def no_content() -> web.Response:
    return web.Response(status=204)


def body_of(request: web.Request) -> dict[str, Any]:
    body = request[JSON_BODY]
    return body if isinstance(body, dict) else {}


def uploads_of(request: web.Request) -> list[UploadFile]:
    files: list[UploadFile] = request[UPLOADS]
    return files


def snowflake(request: web.Request, key: str) -> int:
    raw = request.match_info[key]
    if not raw.isdigit():
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {
                key: {
                    "_errors": [
                        {
                            "code": "NUMBER_TYPE_COERCE",
                            "message": f'Value "{raw}" is not snowflake.',
                        }
                    ]
                }
            },
        )
    return int(raw)


async def parse_body(request: web.Request) -> tuple[Any, list[UploadFile]]:
    if request.content_type.startswith("multipart/"):
        payload: Any = None
        files: dict[int, UploadFile] = {}
        reader = await request.multipart()
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            name = part.name or ""
            if name == "payload_json":
                payload = json.loads(await part.text())
            elif name.startswith("files["):
                data = await part.read(decode=False)
                files[int(name[6:-1])] = UploadFile(
                    filename=part.filename or "file", data=bytes(data)
                )
        return payload, [files[i] for i in sorted(files)]
    raw = await request.read()
    if not raw:
        return None, []
    try:
        return json.loads(raw), []
    except ValueError:
        raise ApiError(400, 50109, "The request body contains invalid JSON.") from None


def _route_of(request: web.Request) -> str | None:
    info = request.match_info
    if info.handler is unknown_route or info.route.resource is None:
        return None
    template = info.route.resource.canonical
    return f"{request.method} {template.removeprefix(API)}"


def _major(request: web.Request) -> str:
    info = request.match_info
    keys = (
        "channel_id",
        "guild_id",
        "webhook_id",
        "webhook_token",
        "interaction_id",
        "interaction_token",
    )
    return "+".join(info[k] for k in keys if k in info)


@web.middleware
async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(WEBSOCKET_PREFIX):
        return await handler(request)
    core = request.app[CORE]
    route = _route_of(request)
    record = RecordedRequest(
        method=request.method,
        path=request.path,
        route=route,
        query=dict(request.query),
        json=None,
        files=[],
        at=time.monotonic(),
    )
    core.state.requests.append(record)
    headers: dict[str, str] = {}
    try:
        record.json, record.files = await parse_body(request)
        request[JSON_BODY], request[UPLOADS] = record.json, record.files
        if route is not None and request.path.startswith(API):
            tokenless = route.split(" ", 1)[1].startswith(TOKENLESS_PREFIXES)
            if (
                not tokenless
                and request.headers.get("Authorization") != f"Bot {core.state.config.token}"
            ):
                raise unauthorized()
            headers = core.limiter.check(route, _major(request))
            if (failing := core.server_errors.get(route)) is not None and failing[1] > 0:
                core.server_errors[route] = (failing[0], failing[1] - 1)
                raise ApiError(failing[0], 0, "Internal Server Error")
        response = await handler(request)
        response.headers.update(headers)
    except ApiError as error:
        response = json_response(error.body(), status=error.status, headers=error.headers)
    record.status = response.status
    core.state.notify()
    if route is not None and core.lost_answers.get(route, 0) > 0:
        core.lost_answers[route] -= 1
        record.status = None  # done, but the bot never hears of it
        if request.transport is not None:
            request.transport.abort()
    return response


async def unknown_route(request: web.Request) -> web.StreamResponse:
    raise route_not_found()


# login and gateway ------------------------------------------------------------------------
async def get_me(request: web.Request) -> web.Response:
    return json_response(payloads.me(request.app[CORE].state))


async def get_application(request: web.Request) -> web.Response:
    return json_response(payloads.application(request.app[CORE].state))


async def get_gateway(request: web.Request) -> web.Response:
    return json_response({"url": request.app[CORE].gateway_url()})


async def get_gateway_bot(request: web.Request) -> web.Response:
    core = request.app[CORE]
    limit = {"total": 1000, "remaining": 999, "reset_after": 14_400_000, "max_concurrency": 1}
    return json_response(
        {
            "url": core.gateway_url(),
            "shards": core.state.config.shard_count,
            "session_start_limit": limit,
        }
    )


# application commands ----------------------------------------------------------------------
def _scope(request: web.Request) -> int | None:
    core = request.app[CORE]
    if snowflake(request, "application_id") != core.state.application_id:
        raise ApiError(
            403, 20012, "You are not authorized to perform this action on this application"
        )
    if "guild_id" not in request.match_info:
        return None
    return core.state.guild(snowflake(request, "guild_id")).id


async def list_commands(request: web.Request) -> web.Response:
    return json_response(request.app[CORE].state.commands.commands(_scope(request)))


async def overwrite_commands(request: web.Request) -> web.Response:
    scope = _scope(request)
    commands: Any = request[JSON_BODY]
    return json_response(request.app[CORE].state.commands.overwrite(scope, commands))


async def upsert_command(request: web.Request) -> web.Response:
    scope = _scope(request)
    return json_response(
        request.app[CORE].state.commands.upsert(scope, body_of(request)), status=201
    )


async def get_command(request: web.Request) -> web.Response:
    found = request.app[CORE].state.commands.get(_scope(request), snowflake(request, "command_id"))
    if found is None:
        raise ApiError(404, 10063, "Unknown application command")
    return json_response(found)


async def delete_command(request: web.Request) -> web.Response:
    if not request.app[CORE].state.commands.delete(
        _scope(request), snowflake(request, "command_id")
    ):
        raise ApiError(404, 10063, "Unknown application command")
    return no_content()


def add_routes(router: web.UrlDispatcher) -> None:
    router.add_get(API + "/users/@me", get_me)
    router.add_get(API + "/oauth2/applications/@me", get_application)
    router.add_get(API + "/applications/@me", get_application)
    router.add_get(API + "/gateway", get_gateway)
    router.add_get(API + "/gateway/bot", get_gateway_bot)
    for base in (
        "/applications/{application_id}",
        "/applications/{application_id}/guilds/{guild_id}",
    ):
        router.add_get(API + base + "/commands", list_commands)
        router.add_put(API + base + "/commands", overwrite_commands)
        router.add_post(API + base + "/commands", upsert_command)
        router.add_get(API + base + "/commands/{command_id}", get_command)
        router.add_delete(API + base + "/commands/{command_id}", delete_command)

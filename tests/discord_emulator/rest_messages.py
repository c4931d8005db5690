"""REST routes for channels, messages, reactions, typing, DMs, threads, guild lookups and
attachment downloads (served like Discord's CDN, at absolute URLs on the emulator)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from aiohttp import web

from . import payloads, world
from .errors import (
    CANNOT_DM,
    CANNOT_EDIT_OTHERS,
    MISSING_PERMISSIONS,
    REQUEST_TOO_LARGE,
    UNKNOWN_MESSAGE,
    ApiError,
    not_found,
)
from .gateway import redact
from .limits import IS_COMPONENTS_V2, validate_message
from .messages import StoredMessage
from .models import DM, IS_VOICE_MESSAGE, PRIVATE_THREAD, PUBLIC_THREAD, UploadFile
from .rest_core import API, CORE, body_of, json_response, no_content, snowflake, uploads_of
from .state import EmulatorState

SUPPRESS_EMBEDS = 1 << 2
SUPPRESS_NOTIFICATIONS = 1 << 12
CHANNEL_MESSAGE_FLAGS = (
    SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
)


def check_upload_size(state: EmulatorState, uploads: list[UploadFile]) -> None:
    if sum(len(u.data) for u in uploads) > state.config.attachment_size_limit:
        raise ApiError(413, REQUEST_TOO_LARGE, "Request entity too large")


def rest_view(state: EmulatorState, message: StoredMessage) -> dict[str, Any]:
    """A message as REST returns it; content is withheld when the message-content intent is
    not enabled for the application (Discord's rule applies to REST too)."""
    data = payloads.message_for(state, message)
    bot = state.bot
    readable = (
        "message_content" in state.config.privileged_intents
        or message.guild_id is None
        or message.author.id == bot.id
        or any(u.id == bot.id for u in message.mentions)
    )
    return data if readable else redact(data)


def _state(request: web.Request) -> EmulatorState:
    return request.app[CORE].state


async def get_channel(request: web.Request) -> web.Response:
    return json_response(_state(request).channel(snowflake(request, "channel_id")).payload())


async def create_message(request: web.Request) -> web.Response:
    state = _state(request)
    channel = state.channel(snowflake(request, "channel_id"))
    if not channel.bot_can_send:
        raise ApiError(403, MISSING_PERMISSIONS, "Missing Permissions")
    if channel.type == DM and any(not u.accepts_dms for u in channel.recipients):
        raise ApiError(403, CANNOT_DM, "Cannot send messages to this user")
    body, uploads = body_of(request), uploads_of(request)
    check_upload_size(state, uploads)
    validate_message(body, creating=True, has_files=bool(uploads))
    reference = body.get("message_reference") or {}
    if reference.get("message_id") and state.find_message(int(reference["message_id"])) is None:
        if reference.get("fail_if_not_exists", True):
            errors = {
                "message_reference": {
                    "_errors": [
                        {"code": "MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "message": "Unknown message"}
                    ]
                }
            }
            raise ApiError(400, 50035, "Invalid Form Body", errors)
        body = {k: v for k, v in body.items() if k != "message_reference"}
    message = state.create_message(
        channel, state.bot, body, uploads, allowed_flags=CHANNEL_MESSAGE_FLAGS
    )
    return json_response(rest_view(state, message))


async def edit_message(request: web.Request) -> web.Response:
    state = _state(request)
    message = state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    if message.author.id != state.bot.id:
        raise ApiError(403, CANNOT_EDIT_OTHERS, "Cannot edit a message authored by another user")
    body, uploads = body_of(request), uploads_of(request)
    check_upload_size(state, uploads)
    validate_message(body, creating=False, has_files=bool(uploads))
    state.edit_message(message, body, uploads, allowed_flags=CHANNEL_MESSAGE_FLAGS)
    return json_response(rest_view(state, message))


async def delete_message(request: web.Request) -> web.Response:
    state = _state(request)
    state.delete_message(
        state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    )
    return no_content()


async def get_message(request: web.Request) -> web.Response:
    state = _state(request)
    message = state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    return json_response(rest_view(state, message))


async def list_messages(request: web.Request) -> web.Response:
    state = _state(request)
    channel = state.channel(snowflake(request, "channel_id"))
    limit = max(1, min(100, int(request.query.get("limit", "50"))))
    newest_first = list(reversed(state.visible_messages(channel.id)))
    if "before" in request.query:
        newest_first = [m for m in newest_first if m.id < int(request.query["before"])]
    elif "after" in request.query:
        newest_first = [m for m in newest_first if m.id > int(request.query["after"])][-limit:]
    elif "around" in request.query:
        around = int(request.query["around"])
        older = [m for m in newest_first if m.id <= around][: (limit + 1) // 2]
        newer = [m for m in newest_first if m.id > around][-(limit // 2) :] if limit > 1 else []
        newest_first = newer + older
    return json_response([rest_view(state, m) for m in newest_first[:limit]])


async def trigger_typing(request: web.Request) -> web.Response:
    _state(request).channel(snowflake(request, "channel_id"))
    return no_content()


def _emoji(request: web.Request) -> str:
    return unquote(request.match_info["emoji"])


async def add_own_reaction(request: web.Request) -> web.Response:
    state = _state(request)
    message = state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    state.react(message, state.bot.id, _emoji(request), add=True)
    return no_content()


async def remove_reaction(request: web.Request) -> web.Response:
    state = _state(request)
    message = state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    raw_user = request.match_info.get("user_id", "@me")
    user_id = state.bot.id if raw_user == "@me" else int(raw_user)
    state.react(message, user_id, _emoji(request), add=False)
    return no_content()


async def list_reactions(request: web.Request) -> web.Response:
    state = _state(request)
    message = state.message(snowflake(request, "channel_id"), snowflake(request, "message_id"))
    users = message.reactions.get(_emoji(request), [])
    return json_response([state.users[u].payload() for u in users])


async def create_dm(request: web.Request) -> web.Response:
    state = _state(request)
    user = state.user(int(body_of(request).get("recipient_id", 0)))
    return json_response(world.open_dm(state, user).payload())


async def create_thread(request: web.Request) -> web.Response:
    state = _state(request)
    parent = state.channel(snowflake(request, "channel_id"))
    if parent.type == DM or parent.is_thread:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    name = str(body_of(request).get("name") or "")
    if not 1 <= len(name) <= 100:
        raise ApiError(
            400,
            50035,
            "Invalid Form Body",
            {
                "name": {
                    "_errors": [
                        {
                            "code": "BASE_TYPE_BAD_LENGTH",
                            "message": "Must be between 1 and 100 in length.",
                        }
                    ]
                }
            },
        )
    thread_id, kind = None, int(body_of(request).get("type") or PRIVATE_THREAD)
    if "message_id" in request.match_info:
        thread_id, kind = (
            state.message(parent.id, snowflake(request, "message_id")).id,
            PUBLIC_THREAD,
        )
    thread = world.add_thread(state, parent, name, owner=state.bot, thread_id=thread_id, kind=kind)
    return json_response(thread.payload(), status=201)


async def get_user(request: web.Request) -> web.Response:
    return json_response(_state(request).user(snowflake(request, "user_id")).payload())


async def get_guild(request: web.Request) -> web.Response:
    guild = _state(request).guild(snowflake(request, "guild_id"))
    data = guild.payload()
    if request.query.get("with_counts") in ("true", "1"):
        data.update(approximate_member_count=len(guild.members), approximate_presence_count=0)
    return json_response(data)


async def get_guild_channels(request: web.Request) -> web.Response:
    state = _state(request)
    guild = state.guild(snowflake(request, "guild_id"))
    channels = [state.channels[c] for c in guild.channel_ids]
    return json_response([c.payload() for c in channels if not c.is_thread])


async def get_guild_roles(request: web.Request) -> web.Response:
    guild = _state(request).guild(snowflake(request, "guild_id"))
    return json_response([r.payload() for r in guild.roles.values()])


async def get_guild_member(request: web.Request) -> web.Response:
    state = _state(request)
    return json_response(
        state.member(snowflake(request, "guild_id"), snowflake(request, "user_id")).payload()
    )


async def list_guild_members(request: web.Request) -> web.Response:
    guild = _state(request).guild(snowflake(request, "guild_id"))
    limit = max(1, min(1000, int(request.query.get("limit", "1"))))
    after = int(request.query.get("after", "0"))
    members = sorted((m for m in guild.members.values() if m.id > after), key=lambda m: m.id)
    return json_response([m.payload() for m in members[:limit]])


async def get_attachment(request: web.Request) -> web.Response:
    state = _state(request)
    stored = state.attachments.get(snowflake(request, "attachment_id"))
    if stored is None or stored.filename != request.match_info["filename"]:
        raise not_found(UNKNOWN_MESSAGE, "Attachment")
    return web.Response(body=stored.data, headers={"Content-Type": stored.content_type})


def add_routes(router: web.UrlDispatcher) -> None:
    channel = API + "/channels/{channel_id}"
    message = channel + "/messages/{message_id}"
    router.add_get(channel, get_channel)
    router.add_get(channel + "/messages", list_messages)
    router.add_post(channel + "/messages", create_message)
    router.add_get(message, get_message)
    router.add_patch(message, edit_message)
    router.add_delete(message, delete_message)
    router.add_post(channel + "/typing", trigger_typing)
    router.add_put(message + "/reactions/{emoji}/@me", add_own_reaction)
    router.add_delete(message + "/reactions/{emoji}/@me", remove_reaction)
    router.add_delete(message + "/reactions/{emoji}/{user_id}", remove_reaction)
    router.add_get(message + "/reactions/{emoji}", list_reactions)
    router.add_post(channel + "/threads", create_thread)
    router.add_post(message + "/threads", create_thread)
    router.add_post(API + "/users/@me/channels", create_dm)
    router.add_get(API + "/users/{user_id}", get_user)
    guild = API + "/guilds/{guild_id}"
    router.add_get(guild, get_guild)
    router.add_get(guild + "/channels", get_guild_channels)
    router.add_get(guild + "/roles", get_guild_roles)
    router.add_get(guild + "/members", list_guild_members)
    router.add_get(guild + "/members/{user_id}", get_guild_member)
    router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", get_attachment)

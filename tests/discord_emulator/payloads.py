"""JSON payloads built from several records: GUILD_CREATE, READY, the application, interactions."""

from __future__ import annotations

from typing import Any

from .messages import StoredMessage
from .models import GUILD_MEMBERS_INTENT, GUILD_VOICE_STATES_INTENT, Channel, Guild, Member, User
from .state import EmulatorState

# Application flags: the "limited" privileged intents of an unverified bot.
PRIVILEGED_FLAGS = {"presences": 1 << 13, "members": 1 << 15, "message_content": 1 << 19}
APPLICATION_COMMAND_BADGE = 1 << 23


def application_flags(state: EmulatorState) -> int:
    flags = APPLICATION_COMMAND_BADGE
    for name in state.config.privileged_intents:
        flags |= PRIVILEGED_FLAGS.get(name, 0)
    return flags


def application(state: EmulatorState) -> dict[str, Any]:
    return {
        "id": str(state.application_id),
        "name": state.bot.username,
        "icon": None,
        "description": "",
        "summary": "",
        "type": None,
        "bot": state.bot.payload(),
        "bot_public": True,
        "bot_require_code_grant": False,
        "owner": state.owner.payload(),
        "team": None,
        "verify_key": "0" * 64,
        "flags": application_flags(state),
        "rpc_origins": [],
        "redirect_uris": [],
        "interactions_endpoint_url": None,
        "tags": [],
        "approximate_guild_count": len(state.guilds),
    }


def me(state: EmulatorState) -> dict[str, Any]:
    return {
        **state.bot.payload(),
        "verified": True,
        "mfa_enabled": False,
        "flags": 0,
        "locale": "en-US",
    }


def ready(
    state: EmulatorState, *, session_id: str, resume_url: str, shard: list[int] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "v": 10,
        "user": me(state),
        "guilds": [
            {"id": str(g.id), "unavailable": True}
            for g in state.guilds.values()
            if in_shard(g.id, shard)
        ],
        "session_id": session_id,
        "session_type": "normal",
        "resume_gateway_url": resume_url,
        "application": {"id": str(state.application_id), "flags": application_flags(state)},
        "private_channels": [],
        "relationships": [],
        "presences": [],
        "geo_ordered_rtc_regions": ["emulator"],
        "_trace": ["discord-emulator"],
    }
    if shard is not None:
        data["shard"] = shard
    return data


def in_shard(guild_id: int | None, shard: list[int] | None) -> bool:
    if shard is None:
        return True
    shard_id, count = shard
    if guild_id is None:
        return shard_id == 0
    return (guild_id >> 22) % count == shard_id


def visible_members(state: EmulatorState, guild: Guild, intents: int) -> list[Member]:
    """Without the members intent a bot only gets itself and members in voice channels."""
    if intents & GUILD_MEMBERS_INTENT:
        return list(guild.members.values())
    keep = {state.bot.id, *guild.voice_states}
    return [m for m in guild.members.values() if m.id in keep]


def guild_create(state: EmulatorState, guild: Guild, intents: int) -> dict[str, Any]:
    channels = [state.channels[c] for c in guild.channel_ids]
    data = guild.payload()
    data.update(
        joined_at=guild.members[state.bot.id].joined_at,
        large=False,
        unavailable=False,
        member_count=len(guild.members),
        members=[m.payload() for m in visible_members(state, guild, intents)],
        channels=[c.payload() for c in channels if not c.is_thread],
        threads=[c.payload() for c in channels if c.is_thread],
        voice_states=[v.payload() for v in guild.voice_states.values()]
        if intents & GUILD_VOICE_STATES_INTENT
        else [],
        presences=[],
        stage_instances=[],
        guild_scheduled_events=[],
        soundboard_sounds=[],
    )
    return data


def partial_channel(channel: Channel, permissions: int) -> dict[str, Any]:
    data = channel.payload()
    data["permissions"] = str(permissions)
    return data


def message_for(
    state: EmulatorState, message: StoredMessage, *, gateway: bool = False
) -> dict[str, Any]:
    member = state.author_member(message) if gateway else None
    return message.payload(viewer_id=state.bot.id, member=member, with_guild_id=gateway)


def invoker(state: EmulatorState, user: User, channel: Channel) -> tuple[str, dict[str, Any], int]:
    """("member" | "user", payload, permissions) for whoever triggers an interaction."""
    if channel.guild_id is None:
        return "user", user.payload(), 0
    guild = state.guilds[channel.guild_id]
    member = guild.members.get(user.id)
    if member is None:
        raise LookupError(f"{user.username} is not a member of {guild.name}")
    permissions = guild.permissions_of(member)
    return "member", member.payload(permissions=permissions), permissions


def interaction(
    state: EmulatorState,
    *,
    interaction_id: int,
    token: str,
    kind: int,
    data: dict[str, Any],
    user: User,
    channel: Channel,
    message: StoredMessage | None = None,
) -> dict[str, Any]:
    who, who_payload, permissions = invoker(state, user, channel)
    channel_perms = permissions if channel.guild_id is not None else 0
    payload: dict[str, Any] = {
        "id": str(interaction_id),
        "application_id": str(state.application_id),
        "type": kind,
        "data": data,
        "token": token,
        "version": 1,
        "channel_id": str(channel.id),
        "channel": partial_channel(channel, channel_perms),
        who: who_payload,
        "locale": user.locale,
        "entitlements": [],
        "attachment_size_limit": state.config.attachment_size_limit,
    }
    if channel.guild_id is not None:
        guild = state.guilds[channel.guild_id]
        bot_perms = guild.permissions_of(guild.members[state.bot.id])
        payload.update(
            guild_id=str(guild.id),
            guild={"id": str(guild.id), "locale": guild.preferred_locale, "features": []},
            guild_locale=guild.preferred_locale,
            app_permissions=str(bot_perms),
            authorizing_integration_owners={"0": str(guild.id)},
            context=0,
        )
    else:
        payload.update(app_permissions="0", authorizing_integration_owners={"0": "0"}, context=1)
    if message is not None:
        payload["message"] = message_for(state, message)
    return payload

"""Building the world: guilds, roles, channels, threads, members, DM channels.

Changes made while the bot is connected are announced over the gateway like Discord does
(GUILD_CREATE, CHANNEL_CREATE, THREAD_CREATE, GUILD_MEMBER_ADD).
"""

from __future__ import annotations

from .models import (
    ADMINISTRATOR,
    ALL_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    DM,
    GUILD_MEMBERS_INTENT,
    GUILD_TEXT,
    GUILD_VOICE,
    GUILDS_INTENT,
    PUBLIC_THREAD,
    Channel,
    Guild,
    Member,
    Role,
    User,
)
from .state import EmulatorState

BOT_ROLE_PERMISSIONS = ALL_PERMISSIONS & ~ADMINISTRATOR


def add_user(
    state: EmulatorState, username: str, *, locale: str = "en-US", bot: bool = False
) -> User:
    user = User(
        id=state.ids.next(), username=username, global_name=username.title(), bot=bot, locale=locale
    )
    state.users[user.id] = user
    return user


def add_guild(
    state: EmulatorState, name: str, *, owner: User | None = None, locale: str = "en-US"
) -> Guild:
    owner = owner or state.owner
    guild = Guild(id=state.ids.next(), name=name, owner_id=owner.id, preferred_locale=locale)
    guild.roles[guild.id] = Role(
        id=guild.id, guild_id=guild.id, name="@everyone", permissions=DEFAULT_EVERYONE_PERMISSIONS
    )
    bot_role = add_role(
        state, guild, state.bot.username, permissions=BOT_ROLE_PERMISSIONS, announce=False
    )
    guild.members[state.bot.id] = Member(user=state.bot, guild_id=guild.id, role_ids=[bot_role.id])
    guild.members[owner.id] = Member(user=owner, guild_id=guild.id)
    state.guilds[guild.id] = guild
    state.sink.guild_created(guild)
    state.notify()
    return guild


def add_role(
    state: EmulatorState, guild: Guild, name: str, *, permissions: int = 0, announce: bool = True
) -> Role:
    role = Role(
        id=state.ids.next(),
        guild_id=guild.id,
        name=name,
        permissions=permissions,
        position=len(guild.roles),
    )
    guild.roles[role.id] = role
    if announce:
        data = {"guild_id": str(guild.id), "role": role.payload()}
        state.sink.guild_event("GUILD_ROLE_CREATE", guild.id, data, GUILDS_INTENT)
        state.notify()
    return role


def add_member(
    state: EmulatorState,
    guild: Guild,
    user: User,
    *,
    roles: list[Role] | None = None,
    nick: str | None = None,
) -> Member:
    member = Member(user=user, guild_id=guild.id, role_ids=[r.id for r in roles or []], nick=nick)
    guild.members[user.id] = member
    data = {**member.payload(), "guild_id": str(guild.id)}
    state.sink.guild_event("GUILD_MEMBER_ADD", guild.id, data, GUILD_MEMBERS_INTENT)
    state.notify()
    return member


def add_channel(
    state: EmulatorState,
    guild: Guild,
    name: str,
    *,
    kind: int = GUILD_TEXT,
    parent: Channel | None = None,
    owner: User | None = None,
    channel_id: int | None = None,
) -> Channel:
    channel = Channel(
        id=channel_id or state.ids.next(),
        type=kind,
        name=name,
        guild_id=guild.id,
        parent_id=parent.id if parent else None,
        position=len(guild.channel_ids),
        owner_id=owner.id if owner else None,
    )
    state.channels[channel.id] = channel
    guild.channel_ids.append(channel.id)
    event = "THREAD_CREATE" if channel.is_thread else "CHANNEL_CREATE"
    data = channel.payload()
    if channel.is_thread:
        data["newly_created"] = True
    state.sink.guild_event(event, guild.id, data, GUILDS_INTENT)
    state.notify()
    return channel


def add_voice_channel(state: EmulatorState, guild: Guild, name: str) -> Channel:
    return add_channel(state, guild, name, kind=GUILD_VOICE)


def add_thread(
    state: EmulatorState,
    parent: Channel,
    name: str,
    *,
    owner: User,
    thread_id: int | None = None,
    kind: int = PUBLIC_THREAD,
) -> Channel:
    if parent.guild_id is None:
        raise ValueError("threads live in guild channels")
    guild = state.guilds[parent.guild_id]
    return add_channel(
        state, guild, name, kind=kind, parent=parent, owner=owner, channel_id=thread_id
    )


def open_dm(state: EmulatorState, user: User) -> Channel:
    for channel in state.channels.values():
        if channel.type == DM and channel.recipients and channel.recipients[0].id == user.id:
            return channel
    channel = Channel(id=state.ids.next(), type=DM, recipients=[user])
    state.channels[channel.id] = channel
    state.notify()
    return channel

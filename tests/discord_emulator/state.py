"""The emulator's shared state: the world, the recorded traffic, change notification."""

# Test-facing waits take a `timeout` argument on purpose (pytest-style helpers).
# ruff: noqa: ASYNC109

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .commands import CommandRegistry
from .errors import (
    UNKNOWN_CHANNEL,
    UNKNOWN_GUILD,
    UNKNOWN_MEMBER,
    UNKNOWN_MESSAGE,
    UNKNOWN_USER,
    not_found,
)
from .ids import SnowflakeGenerator, iso_now, new_token
from .messages import StoredMessage, apply_body
from .models import (
    GUILD_VOICE_STATES_INTENT,
    LOADING,
    Channel,
    Guild,
    Member,
    StoredAttachment,
    UploadFile,
    User,
    VoiceState,
)
from .records import InteractionRecord, RecordedRequest

T = TypeVar("T")
POLL_INTERVAL = 0.02


@dataclass
class EmulatorConfig:
    """Knobs a test may change, also while the emulator runs."""

    token: str = "emulator-bot-token"
    bot_name: str = "trainerbot"
    heartbeat_interval_ms: int = 41_250
    ack_timeout: float = 3.0
    followup_ttl: float = 15 * 60.0
    privileged_intents: frozenset[str] = frozenset({"members", "presences", "message_content"})
    attachment_size_limit: int = 10 * 1024 * 1024
    shard_count: int = 1
    replay_buffer: int = 1000


class EventSink(Protocol):
    """Receives world changes that Discord would push over the gateway."""

    def message_event(self, name: str, message: StoredMessage) -> None: ...
    def reaction_event(
        self, name: str, message: StoredMessage, user_id: int, emoji: str
    ) -> None: ...
    def guild_event(
        self, name: str, guild_id: int | None, data: dict[str, Any], intent: int
    ) -> None: ...
    def interaction_event(self, record: InteractionRecord) -> None: ...
    def guild_created(self, guild: Guild) -> None: ...


class _NoSink:
    def message_event(self, name: str, message: StoredMessage) -> None:
        pass

    def reaction_event(self, name: str, message: StoredMessage, user_id: int, emoji: str) -> None:
        pass

    def guild_event(
        self, name: str, guild_id: int | None, data: dict[str, Any], intent: int
    ) -> None:
        pass

    def interaction_event(self, record: InteractionRecord) -> None:
        pass

    def guild_created(self, guild: Guild) -> None:
        pass


@dataclass
class EmulatorState:
    config: EmulatorConfig
    ids: SnowflakeGenerator = field(default_factory=SnowflakeGenerator)
    base_url: str = ""
    users: dict[int, User] = field(default_factory=dict)
    guilds: dict[int, Guild] = field(default_factory=dict)
    channels: dict[int, Channel] = field(default_factory=dict)
    messages: dict[int, list[StoredMessage]] = field(default_factory=dict)
    attachments: dict[int, StoredAttachment] = field(default_factory=dict)
    interactions: dict[int, InteractionRecord] = field(default_factory=dict)
    interactions_by_token: dict[str, InteractionRecord] = field(default_factory=dict)
    requests: list[RecordedRequest] = field(default_factory=list)
    sink: EventSink = field(default_factory=_NoSink)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.bot = User(id=self.ids.next(), username=self.config.bot_name, bot=True)
        self.owner = User(id=self.ids.next(), username="app-owner")
        self.users[self.bot.id] = self.bot
        self.users[self.owner.id] = self.owner
        self.commands = CommandRegistry(application_id=self.bot.id, next_id=self.ids.next)

    @property
    def application_id(self) -> int:
        return self.bot.id

    # change notification -------------------------------------------------------------
    def notify(self) -> None:
        """Wakes every waiter; each then re-checks its own condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_for(
        self,
        predicate: Callable[[], T | None],
        timeout: float,
        *,
        poll: float | None = POLL_INTERVAL,
    ) -> T:
        """Re-evaluates `predicate` after every change (and every `poll` seconds, for conditions
        on the bot's side) until it returns something truthy; TimeoutError after `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout:.1f}s")
            changed = self._changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    changed.wait(), remaining if poll is None else min(remaining, poll)
                )

    # lookups (raising Discord's 404s) ---------------------------------------------------
    def channel(self, channel_id: int) -> Channel:
        found = self.channels.get(channel_id)
        if found is None:
            raise not_found(UNKNOWN_CHANNEL, "Channel")
        return found

    def guild(self, guild_id: int) -> Guild:
        found = self.guilds.get(guild_id)
        if found is None:
            raise not_found(UNKNOWN_GUILD, "Guild")
        return found

    def user(self, user_id: int) -> User:
        found = self.users.get(user_id)
        if found is None:
            raise not_found(UNKNOWN_USER, "User")
        return found

    def member(self, guild_id: int, user_id: int) -> Member:
        found = self.guild(guild_id).members.get(user_id)
        if found is None:
            raise not_found(UNKNOWN_MEMBER, "Member")
        return found

    def message(self, channel_id: int, message_id: int) -> StoredMessage:
        for message in self.messages.get(channel_id, []):
            if message.id == message_id and not message.deleted:
                return message
        raise not_found(UNKNOWN_MESSAGE, "Message")

    def find_message(self, message_id: int) -> StoredMessage | None:
        for messages in self.messages.values():
            for message in messages:
                if message.id == message_id:
                    return message
        return None

    def author_member(self, message: StoredMessage) -> Member | None:
        if message.guild_id is None or message.webhook_id is not None:
            return None
        return self.guilds[message.guild_id].members.get(message.author.id)

    def voice_state(self, guild_id: int, user_id: int) -> VoiceState | None:
        return self.guild(guild_id).voice_states.get(user_id)

    def set_voice_state(
        self,
        guild_id: int,
        user_id: int,
        channel_id: int | None,
        *,
        self_mute: bool = False,
        self_deaf: bool = False,
    ) -> VoiceState:
        """Moves a user into (or, with None, out of) a voice channel and tells the bot."""
        guild = self.guild(guild_id)
        previous = guild.voice_states.get(user_id)
        session_id = previous.session_id if previous else new_token("v")
        voice = VoiceState(
            guild_id, channel_id, user_id, session_id, self_mute=self_mute, self_deaf=self_deaf
        )
        if channel_id is None:
            guild.voice_states.pop(user_id, None)
        else:
            guild.voice_states[user_id] = voice
        data = voice.payload(guild.members.get(user_id))
        self.sink.guild_event("VOICE_STATE_UPDATE", guild_id, data, GUILD_VOICE_STATES_INTENT)
        self.notify()
        return voice

    # messages -----------------------------------------------------------------------------
    def store_upload(
        self, channel_id: int, upload: UploadFile, description: str | None = None
    ) -> StoredAttachment:
        attachment_id = self.ids.next()
        url = f"{self.base_url}/attachments/{channel_id}/{attachment_id}/{upload.filename}"
        stored = StoredAttachment(
            id=attachment_id,
            filename=upload.filename,
            content_type=upload.guessed_content_type(),
            data=upload.data,
            url=url,
            description=description,
            duration_secs=upload.duration_secs,
            waveform=upload.waveform,
        )
        self.attachments[attachment_id] = stored
        return stored

    def create_message(
        self,
        channel: Channel,
        author: User,
        body: dict[str, Any],
        uploads: list[UploadFile],
        *,
        allowed_flags: int,
        **fields: Any,
    ) -> StoredMessage:
        message = StoredMessage(
            id=self.ids.next(), channel_id=channel.id, guild_id=channel.guild_id, author=author
        )
        for key, value in fields.items():
            setattr(message, key, value)
        reference = body.get("message_reference")
        if reference and reference.get("message_id"):
            message.referenced = self.find_message(int(reference["message_id"]))
            message.message_reference = {
                "type": 0,
                "message_id": str(reference["message_id"]),
                "channel_id": str(channel.id),
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            message.type = 19
        apply_body(
            message,
            body,
            uploads,
            store_upload=lambda upload, description: self.store_upload(
                channel.id, upload, description
            ),
            users=self.users,
            allowed_flags=allowed_flags,
        )
        message.record_revision()
        if not message.loading:
            message.notified = list(message.mentions)
        self.messages.setdefault(channel.id, []).append(message)
        if not message.ephemeral:
            self.sink.message_event("MESSAGE_CREATE", message)
        self.notify()
        return message

    def edit_message(
        self,
        message: StoredMessage,
        body: dict[str, Any],
        uploads: list[UploadFile],
        *,
        allowed_flags: int,
    ) -> StoredMessage:
        """Edits a message. Filling in a deferred ("thinking") response is not shown as an
        edit by Discord, and like every edit it notifies nobody it newly mentions."""
        filling = message.loading
        message.flags &= ~LOADING
        apply_body(
            message,
            body,
            uploads,
            store_upload=lambda upload, description: self.store_upload(
                message.channel_id, upload, description
            ),
            users=self.users,
            allowed_flags=allowed_flags,
        )
        if not filling:
            message.edited_timestamp = iso_now()
        message.record_revision()
        if not message.ephemeral:
            self.sink.message_event("MESSAGE_UPDATE", message)
        self.notify()
        return message

    def delete_message(self, message: StoredMessage) -> None:
        message.deleted = True
        if not message.ephemeral:
            self.sink.message_event("MESSAGE_DELETE", message)
        self.notify()

    def react(self, message: StoredMessage, user_id: int, emoji: str, *, add: bool) -> None:
        users = message.reactions.setdefault(emoji, [])
        if add and user_id not in users:
            users.append(user_id)
            self.sink.reaction_event("MESSAGE_REACTION_ADD", message, user_id, emoji)
        elif not add and user_id in users:
            users.remove(user_id)
            self.sink.reaction_event("MESSAGE_REACTION_REMOVE", message, user_id, emoji)
        self.notify()

    def visible_messages(self, channel_id: int) -> list[StoredMessage]:
        """What a channel's history shows: no deleted and no ephemeral messages."""
        return [m for m in self.messages.get(channel_id, []) if not m.deleted and not m.ephemeral]

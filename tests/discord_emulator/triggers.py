"""Triggering interactions the way users do: slash commands, autocomplete, context menus,
components, modal submissions. Mixed into `DiscordEmulator`."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from . import payloads
from .commands import CHAT_INPUT, MESSAGE_COMMAND, USER_COMMAND
from .gateway import Gateway
from .ids import new_token
from .interactions import (
    CommandOptionsBuilder,
    InteractionHandle,
    find_component,
    modal_submit_components,
)
from .messages import StoredMessage
from .models import ADMINISTRATOR, Channel, Member, User
from .records import (
    APPLICATION_COMMAND,
    AUTOCOMPLETE,
    MESSAGE_COMPONENT,
    MODAL_SUBMIT,
    InteractionRecord,
)
from .state import EmulatorConfig, EmulatorState

Person = User | Member


def as_user(person: Person) -> User:
    return person.user if isinstance(person, Member) else person


class InteractionTriggers:
    state: EmulatorState
    gateway: Gateway
    config: EmulatorConfig
    _timers: list[asyncio.TimerHandle]

    def _command(
        self, name: str, kind: int, channel: Channel, user: User, bypass: bool
    ) -> dict[str, Any]:
        command = self.state.commands.find(name, kind, channel.guild_id)
        if command is None:
            raise LookupError(
                f"command {name!r} (type {kind}) is not registered where {channel.name!r} is"
            )
        context = 0 if channel.guild_id is not None else 1
        contexts = command.get("contexts")
        if (contexts is not None and context not in contexts) or (
            context == 1 and command.get("dm_permission") is False
        ):
            raise LookupError(f"command {name!r} is not available in this context")
        needed = command.get("default_member_permissions")
        if needed is not None and channel.guild_id is not None and not bypass:
            guild = self.state.guilds[channel.guild_id]
            perms = guild.permissions_of(guild.members[user.id])
            wanted = int(needed) or ADMINISTRATOR
            if perms & wanted != wanted:
                raise PermissionError(
                    f"{user.username} cannot see {name!r} (default_member_permissions)"
                )
        return command

    def _dispatch(
        self,
        kind: int,
        data: dict[str, Any],
        *,
        user: User,
        channel: Channel,
        message: StoredMessage | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        interaction_id, token = self.state.ids.next(), new_token("interaction.")
        payload = payloads.interaction(
            self.state,
            interaction_id=interaction_id,
            token=token,
            kind=kind,
            data=data,
            user=user,
            channel=channel,
            message=message,
        )
        if locale is not None:
            payload["locale"] = locale
        record = InteractionRecord(
            id=interaction_id,
            token=token,
            type=kind,
            payload=payload,
            channel=channel,
            user=user,
            guild_id=channel.guild_id,
            created=time.monotonic(),
            source_message=message,
        )
        self.state.interactions[interaction_id] = record
        self.state.interactions_by_token[token] = record
        self.gateway.interaction_event(record)
        loop = asyncio.get_running_loop()
        self._timers.append(loop.call_later(self.config.ack_timeout, self._expire, record))
        self.state.notify()
        return InteractionHandle(self.state, record)

    def _expire(self, record: InteractionRecord) -> None:
        if record.ack_type is None:
            record.expired = True
            self.state.notify()

    def invoke_command(
        self,
        name: str,
        options: dict[str, Any] | None = None,
        *,
        user: Person,
        channel: Channel,
        locale: str | None = None,
        bypass_permissions: bool = False,
    ) -> InteractionHandle:
        """A user runs a slash command; `name` may name a group and subcommand ("dataset add")."""
        top, *words = name.split()
        who = as_user(user)
        command = self._command(top, CHAT_INPUT, channel, who, bypass_permissions)
        builder = CommandOptionsBuilder(self.state, channel)
        data = self._command_data(command, builder.build(command, words, options or {}), builder)
        return self._dispatch(APPLICATION_COMMAND, data, user=who, channel=channel, locale=locale)

    def autocomplete(
        self,
        name: str,
        options: dict[str, Any],
        *,
        focused: str,
        user: Person,
        channel: Channel,
        locale: str | None = None,
    ) -> InteractionHandle:
        """A user types into an autocomplete option; await `handle.choices()`."""
        top, *words = name.split()
        who = as_user(user)
        command = self._command(top, CHAT_INPUT, channel, who, True)
        builder = CommandOptionsBuilder(self.state, channel)
        data = self._command_data(
            command, builder.build(command, words, options, focused=focused), builder
        )
        return self._dispatch(AUTOCOMPLETE, data, user=who, channel=channel, locale=locale)

    def _command_data(
        self, command: dict[str, Any], options: list[dict[str, Any]], builder: CommandOptionsBuilder
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": command["id"],
            "name": command["name"],
            "type": command["type"],
            "options": options,
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        if builder.resolved:
            data["resolved"] = builder.resolved
        return data

    def invoke_message_command(
        self, name: str, target: StoredMessage, *, user: Person, locale: str | None = None
    ) -> InteractionHandle:
        """A user picks an app from a message's context menu."""
        channel, who = self.state.channel(target.channel_id), as_user(user)
        command = self._command(name, MESSAGE_COMMAND, channel, who, False)
        data = {
            "id": command["id"],
            "name": name,
            "type": MESSAGE_COMMAND,
            "target_id": str(target.id),
            "resolved": {"messages": {str(target.id): payloads.message_for(self.state, target)}},
        }
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return self._dispatch(APPLICATION_COMMAND, data, user=who, channel=channel, locale=locale)

    def invoke_user_command(
        self,
        name: str,
        target: Person,
        *,
        user: Person,
        channel: Channel,
        locale: str | None = None,
    ) -> InteractionHandle:
        who = as_user(user)
        command = self._command(name, USER_COMMAND, channel, who, False)
        builder = CommandOptionsBuilder(self.state, channel)
        target_id = builder._resolve(6, as_user(target))
        data = {
            "id": command["id"],
            "name": name,
            "type": USER_COMMAND,
            "target_id": str(target_id),
        }
        data["resolved"] = builder.resolved
        if "guild_id" in command:
            data["guild_id"] = command["guild_id"]
        return self._dispatch(APPLICATION_COMMAND, data, user=who, channel=channel, locale=locale)

    def invoke_component(
        self,
        message: StoredMessage,
        custom_id: str,
        *,
        user: Person,
        values: list[str] | None = None,
        locale: str | None = None,
    ) -> InteractionHandle:
        """A user clicks a button (or picks `values` in a select menu) on a message."""
        component = find_component(message, custom_id)
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        channel = self.state.channel(message.channel_id)
        return self._dispatch(
            MESSAGE_COMPONENT,
            data,
            user=as_user(user),
            channel=channel,
            message=message,
            locale=locale,
        )

    def submit_modal(
        self, opened_by: InteractionHandle, values: dict[str, str], *, user: Person | None = None
    ) -> InteractionHandle:
        """Submits the modal the bot opened in answer to `opened_by`."""
        modal = opened_by.record.modal
        if modal is None:
            raise LookupError("the bot has not opened a modal for this interaction")
        data = {
            "custom_id": modal["custom_id"],
            "components": modal_submit_components(modal, values),
        }
        record = opened_by.record
        who = as_user(user) if user is not None else record.user
        return self._dispatch(
            MODAL_SUBMIT, data, user=who, channel=record.channel, message=record.source_message
        )

"""Building INTERACTION_CREATE data from a test's intent, and the handle a test awaits on."""

# Test-facing waits take a `timeout` argument on purpose (pytest-style helpers).
# ruff: noqa: ASYNC109

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from . import payloads
from .commands import SUB_COMMAND, SUB_COMMAND_GROUP
from .limits import modal_inputs
from .messages import StoredMessage, iter_components
from .models import Channel, Member, Role, StoredAttachment, UploadFile, User
from .records import InteractionRecord
from .state import EmulatorState

T = TypeVar("T")
Mentionable = User | Member | Role


class InteractionExpired(AssertionError):
    """The bot did not acknowledge the interaction within the acknowledgement window."""


class CommandOptionsBuilder:
    """Turns `{"name": value}` into Discord's typed, nested options plus `resolved` data."""

    def __init__(self, state: EmulatorState, channel: Channel) -> None:
        self.state = state
        self.channel = channel
        self.resolved: dict[str, dict[str, Any]] = {}

    def build(
        self,
        command: dict[str, Any],
        words: list[str],
        values: dict[str, Any],
        *,
        focused: str | None = None,
    ) -> list[dict[str, Any]]:
        schemas: list[dict[str, Any]] = command.get("options") or []
        chain: list[dict[str, Any]] = []
        for word in words:
            sub = next(
                (
                    o
                    for o in schemas
                    if o["name"] == word and o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP)
                ),
                None,
            )
            if sub is None:
                raise LookupError(f"/{command['name']} has no subcommand {word!r}")
            chain.append(sub)
            schemas = sub.get("options") or []
        if any(o["type"] in (SUB_COMMAND, SUB_COMMAND_GROUP) for o in schemas):
            raise LookupError(f"/{command['name']} {' '.join(words)}: name a subcommand")
        by_name = {o["name"]: o for o in schemas}
        options = []
        for name, value in values.items():
            schema = by_name.get(name)
            if schema is None:
                raise LookupError(f"unknown option {name!r}; known: {sorted(by_name)}")
            option = {
                "name": name,
                "type": schema["type"],
                "value": self._convert(schema, value, name == focused),
            }
            if name == focused:
                option["focused"] = True
            options.append(option)
        missing = [o["name"] for o in schemas if o.get("required") and o["name"] not in values]
        if missing and focused is None:
            raise ValueError(f"required options missing: {missing}")
        for sub in reversed(chain):
            options = [{"name": sub["name"], "type": sub["type"], "options": options}]
        return options

    def _convert(self, schema: dict[str, Any], value: Any, focused: bool) -> Any:
        kind = schema["type"]
        if focused:
            return value if isinstance(value, str) else str(value)
        if kind == 3:
            _expect(isinstance(value, str), schema, value)
            low, high = schema.get("min_length", 0), schema.get("max_length", 6000)
            _expect(low <= len(value) <= high, schema, value)
        elif kind == 4:
            _expect(isinstance(value, int) and not isinstance(value, bool), schema, value)
        elif kind == 5:
            _expect(isinstance(value, bool), schema, value)
        elif kind == 10:
            _expect(isinstance(value, int | float) and not isinstance(value, bool), schema, value)
        if kind in (4, 10):
            _expect(
                schema.get("min_value", value) <= value <= schema.get("max_value", value),
                schema,
                value,
            )
        choices = schema.get("choices")
        if choices:
            _expect(value in [c["value"] for c in choices], schema, value)
        if kind in (3, 4, 5, 10):
            return value
        return str(self._resolve(kind, value))

    def _resolve(self, kind: int, value: Any) -> int:
        if isinstance(value, Member):
            value = value.user
        if kind in (6, 9) and isinstance(value, User):
            self.resolved.setdefault("users", {})[str(value.id)] = value.payload()
            if self.channel.guild_id is not None:
                guild = self.state.guilds[self.channel.guild_id]
                member = guild.members.get(value.id)
                if member is not None:
                    data = member.payload(with_user=False, permissions=guild.permissions_of(member))
                    self.resolved.setdefault("members", {})[str(value.id)] = data
            return value.id
        if kind in (8, 9) and isinstance(value, Role):
            self.resolved.setdefault("roles", {})[str(value.id)] = value.payload()
            return value.id
        if kind == 7 and isinstance(value, Channel):
            self.resolved.setdefault("channels", {})[str(value.id)] = payloads.partial_channel(
                value, 0
            )
            return value.id
        if kind == 11 and isinstance(value, UploadFile | StoredAttachment):
            stored = (
                value
                if isinstance(value, StoredAttachment)
                else self.state.store_upload(self.channel.id, value)
            )
            stored.ephemeral = True
            self.resolved.setdefault("attachments", {})[str(stored.id)] = stored.payload()
            return stored.id
        raise TypeError(f"option type {kind} cannot take {value!r}")


def _expect(ok: bool, schema: dict[str, Any], value: Any) -> None:
    if not ok:
        raise ValueError(f"option {schema['name']!r} (type {schema['type']}) cannot take {value!r}")


def find_component(message: StoredMessage, custom_id: str) -> dict[str, Any]:
    for component in iter_components(message.components):
        if component.get("custom_id") == custom_id:
            if component.get("disabled"):
                raise ValueError(f"component {custom_id!r} is disabled; a user cannot use it")
            return component
    raise LookupError(
        f"message {message.id} has no component {custom_id!r}; it has {message.custom_ids()}"
    )


def modal_submit_components(modal: dict[str, Any], values: dict[str, str]) -> list[dict[str, Any]]:
    """The submitted components, mirroring the modal's layout (action rows or labels)."""
    known: set[str] = set()
    submitted = []
    for item in modal.get("components") or []:
        inputs = []
        for field in modal_inputs(item):
            custom_id = field.get("custom_id", "")
            known.add(custom_id)
            value = values.get(custom_id, field.get("value") or "")
            if field.get("required", True) and not value and field.get("type") == 4:
                raise ValueError(f"modal field {custom_id!r} is required")
            low, high = field.get("min_length", 0), field.get("max_length", 4000)
            if value and not low <= len(value) <= high:
                raise ValueError(f"modal field {custom_id!r} must be {low}..{high} characters")
            inputs.append({"type": field.get("type", 4), "custom_id": custom_id, "value": value})
        if item.get("type") == 18 and inputs:
            submitted.append({"type": 18, "component": inputs[0]})
        elif inputs:
            submitted.append({"type": 1, "components": inputs})
    unknown = set(values) - known
    if unknown:
        raise LookupError(f"modal has no fields {sorted(unknown)}; it has {sorted(known)}")
    return submitted


class InteractionHandle:
    """What a test holds after triggering an interaction; every wait has a timeout."""

    def __init__(self, state: EmulatorState, record: InteractionRecord) -> None:
        self._state = state
        self.record = record

    @property
    def id(self) -> int:
        return self.record.id

    @property
    def token(self) -> str:
        return self.record.token

    @property
    def ack_latency(self) -> float | None:
        return self.record.ack_latency

    @property
    def followups(self) -> list[StoredMessage]:
        return list(self.record.followups)

    async def _wait(self, predicate: Callable[[], T | None], timeout: float) -> T:
        return await self._state.wait_for(predicate, timeout, poll=None)

    async def acknowledged(self, timeout: float = 5.0) -> int:
        """The callback type once acknowledged; raises InteractionExpired if it came too late."""
        record = self.record
        await self._wait(lambda: record.ack_type is not None or record.expired, timeout)
        if record.ack_type is None:
            raise InteractionExpired(f"interaction {record.id} was not acknowledged in time")
        return record.ack_type

    async def response(self, timeout: float = 5.0) -> StoredMessage:
        """The original response once it has content (a deferral counts once filled in)."""
        await self.acknowledged(timeout)
        return await self._wait(
            lambda: (
                self.record.original
                if self.record.original and not self.record.original.loading
                else None
            ),
            timeout,
        )

    async def wait_followups(self, count: int = 1, timeout: float = 5.0) -> list[StoredMessage]:
        await self._wait(lambda: len(self.record.followups) >= count, timeout)
        return self.followups

    async def modal(self, timeout: float = 5.0) -> dict[str, Any]:
        return await self._wait(lambda: self.record.modal, timeout)

    async def choices(self, timeout: float = 5.0) -> list[dict[str, Any]]:
        await self._wait(lambda: self.record.choices is not None, timeout)
        return list(self.record.choices or [])

    async def expired(self, timeout: float = 5.0) -> bool:
        """Waits until the acknowledgement window closed without an acknowledgement."""
        return await self._wait(lambda: self.record.expired, timeout)

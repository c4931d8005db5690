"""What the emulator records for tests to assert on: requests, interactions, connections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .messages import StoredMessage
from .models import Channel, UploadFile, User

APPLICATION_COMMAND, MESSAGE_COMPONENT, AUTOCOMPLETE, MODAL_SUBMIT = 2, 3, 4, 5
CALLBACK_MESSAGE, CALLBACK_DEFERRED, CALLBACK_DEFERRED_UPDATE = 4, 5, 6
CALLBACK_UPDATE, CALLBACK_AUTOCOMPLETE, CALLBACK_MODAL = 7, 8, 9


@dataclass
class RecordedRequest:
    """One HTTP request the bot made. `route` is the matched template such as
    "POST /channels/{channel_id}/messages" (None for a route Discord does not have)."""

    method: str
    path: str
    route: str | None
    query: dict[str, str]
    json: Any
    files: list[UploadFile]
    at: float
    status: int | None = None

    @property
    def unknown(self) -> bool:
        return self.route is None


@dataclass
class InteractionRecord:
    id: int
    token: str
    type: int
    payload: dict[str, Any]
    channel: Channel
    user: User
    guild_id: int | None
    created: float
    source_message: StoredMessage | None = None
    ack_type: int | None = None
    ack_at: float | None = None
    expired: bool = False
    original: StoredMessage | None = None
    followups: list[StoredMessage] = field(default_factory=list)
    modal: dict[str, Any] | None = None
    choices: list[dict[str, Any]] | None = None
    rejected_callbacks: list[tuple[int, int]] = field(default_factory=list)

    @property
    def ack_latency(self) -> float | None:
        return None if self.ack_at is None else self.ack_at - self.created

    def owns(self, message_id: int) -> StoredMessage | None:
        """The original response or one of the follow-ups with this id."""
        if self.original is not None and self.original.id == message_id:
            return self.original
        return next((m for m in self.followups if m.id == message_id), None)


@dataclass(frozen=True)
class GatewayConnection:
    """One websocket connection: `kind` is "identify", "resume", "invalid_session" or "closed"."""

    kind: str
    path: str
    session_id: str | None
    at: float
    detail: str = ""

"""Stored messages: their current state, their edit history, and their JSON payloads."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .ids import iso_now
from .models import EPHEMERAL, LOADING, Member, StoredAttachment, UploadFile, User


def json_copy(value: Any) -> Any:
    """A deep copy of JSON-shaped data (dicts, lists, scalars), several times faster than
    `copy.deepcopy`, which the emulator would otherwise spend most of a burst in."""
    if isinstance(value, dict):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [json_copy(item) for item in value]
    return value


USER_MENTION = re.compile(r"<@!?(\d+)>")
ROLE_MENTION = re.compile(r"<@&(\d+)>")


@dataclass(frozen=True)
class Revision:
    """One state of a message; `at` is `time.monotonic()` when it was written."""

    at: float
    content: str
    embeds: tuple[dict[str, Any], ...]
    components: tuple[dict[str, Any], ...]
    attachment_names: tuple[str, ...]
    flags: int


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    guild_id: int | None
    author: User
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[StoredAttachment] = field(default_factory=list)
    mentions: list[User] = field(default_factory=list)
    # Users pinged: mentions present when the message was created (edits ping nobody).
    notified: list[User] = field(default_factory=list)
    mention_roles: list[int] = field(default_factory=list)
    mention_everyone: bool = False
    flags: int = 0
    type: int = 0
    tts: bool = False
    timestamp: str = field(default_factory=iso_now)
    edited_timestamp: str | None = None
    webhook_id: int | None = None
    application_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    message_reference: dict[str, Any] | None = None
    referenced: StoredMessage | None = None
    reactions: dict[str, list[int]] = field(default_factory=dict)
    deleted: bool = False
    history: list[Revision] = field(default_factory=list)

    @property
    def ephemeral(self) -> bool:
        return bool(self.flags & EPHEMERAL)

    @property
    def loading(self) -> bool:
        return bool(self.flags & LOADING)

    @property
    def created_at(self) -> float:
        return self.history[0].at

    @property
    def edits(self) -> list[Revision]:
        """Every revision after the first one (a deferred message's fill-in counts as an edit)."""
        return self.history[1:]

    def edit_intervals(self) -> list[float]:
        """Seconds between consecutive revisions, to check a streaming bot's edit pace."""
        times = [r.at for r in self.history]
        return [b - a for a, b in itertools.pairwise(times)]

    def max_revisions_within(self, seconds: float = 1.0) -> int:
        """The most revisions written inside any window of `seconds` (streaming pace check)."""
        times = [r.at for r in self.history]
        return max(
            (sum(1 for t in times[i:] if t - start < seconds) for i, start in enumerate(times)),
            default=0,
        )

    def custom_ids(self) -> list[str]:
        return [c["custom_id"] for c in iter_components(self.components) if "custom_id" in c]

    def record_revision(self) -> None:
        self.history.append(
            Revision(
                at=time.monotonic(),
                content=self.content,
                embeds=tuple(json_copy(self.embeds)),
                components=tuple(json_copy(self.components)),
                attachment_names=tuple(a.filename for a in self.attachments),
                flags=self.flags,
            )
        )

    def payload(
        self, *, viewer_id: int, member: Member | None = None, with_guild_id: bool = False
    ) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": str(self.id),
            "channel_id": str(self.channel_id),
            "author": self.author.payload(),
            "content": self.content,
            "timestamp": self.timestamp,
            "edited_timestamp": self.edited_timestamp,
            "tts": self.tts,
            "mention_everyone": self.mention_everyone,
            "mentions": [u.payload() for u in self.mentions],
            "mention_roles": [str(r) for r in self.mention_roles],
            "attachments": [a.payload() for a in self.attachments],
            "embeds": json_copy(self.embeds),
            "components": json_copy(self.components),
            "reactions": [
                _reaction_payload(e, users, viewer_id)
                for e, users in self.reactions.items()
                if users
            ],
            "pinned": False,
            "type": self.type,
            "flags": self.flags,
        }
        if with_guild_id and self.guild_id is not None:
            data["guild_id"] = str(self.guild_id)
        if member is not None:
            data["member"] = member.payload(with_user=False)
        if self.webhook_id is not None:
            data["webhook_id"] = str(self.webhook_id)
        if self.application_id is not None:
            data["application_id"] = str(self.application_id)
        if self.interaction_metadata is not None:
            data["interaction_metadata"] = json_copy(self.interaction_metadata)
        if self.message_reference is not None:
            data["message_reference"] = dict(self.message_reference)
            ref = self.referenced
            data["referenced_message"] = (
                None if ref is None or ref.deleted else ref.payload(viewer_id=viewer_id)
            )
        return data


def _reaction_payload(emoji: str, users: list[int], viewer_id: int) -> dict[str, Any]:
    name, _, emoji_id = emoji.partition(":")
    return {
        "emoji": {"id": emoji_id or None, "name": name},
        "count": len(users),
        "count_details": {"burst": 0, "normal": len(users)},
        "me": viewer_id in users,
        "me_burst": False,
        "burst_colors": [],
    }


def iter_components(components: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every component, depth first (action rows, containers, sections' accessories)."""
    found: list[dict[str, Any]] = []
    for item in components:
        found.append(item)
        found.extend(iter_components(item.get("components") or []))
        if item.get("accessory"):
            found.append(item["accessory"])
    return found


StoreUpload = Callable[[UploadFile, str | None], StoredAttachment]


def apply_body(
    message: StoredMessage,
    body: Mapping[str, Any],
    uploads: list[UploadFile],
    *,
    store_upload: StoreUpload,
    users: Mapping[int, User],
    allowed_flags: int,
) -> None:
    """Applies a create/edit body (plus uploaded files) to a message, Discord-style."""
    if "content" in body:
        message.content = body["content"] or ""
    if "embeds" in body:
        message.embeds = json_copy(body["embeds"] or [])
    if "components" in body:
        message.components = json_copy(body["components"] or [])
    if body.get("flags") is not None:
        kept = message.flags & ~allowed_flags
        message.flags = kept | (int(body["flags"]) & allowed_flags)
    if "attachments" in body and body["attachments"] is not None:
        message.attachments = _attachments_from(message, body["attachments"], uploads, store_upload)
    elif uploads:
        message.attachments += [store_upload(u, None) for u in uploads]
    if "content" in body or "allowed_mentions" in body:
        _apply_mentions(message, body.get("allowed_mentions"), users)


def _attachments_from(
    message: StoredMessage,
    entries: list[dict[str, Any]],
    uploads: list[UploadFile],
    store_upload: StoreUpload,
) -> list[StoredAttachment]:
    existing = {a.id: a for a in message.attachments}
    result: list[StoredAttachment] = []
    for entry in entries:
        raw_id = int(entry["id"])
        if raw_id in existing:
            result.append(existing[raw_id])
        elif 0 <= raw_id < len(uploads):
            result.append(store_upload(uploads[raw_id], entry.get("description")))
    return result


def _apply_mentions(
    message: StoredMessage, allowed: dict[str, Any] | None, users: Mapping[int, User]
) -> None:
    parse = {"users", "roles", "everyone"} if allowed is None else set(allowed.get("parse") or [])
    allowed_users = {int(u) for u in (allowed or {}).get("users") or []}
    allowed_roles = {int(r) for r in (allowed or {}).get("roles") or []}
    mentioned: list[User] = []
    for raw in USER_MENTION.findall(message.content):
        user = users.get(int(raw))
        if user and ("users" in parse or user.id in allowed_users) and user not in mentioned:
            mentioned.append(user)
    ref = message.referenced
    replied = allowed is None or bool(allowed.get("replied_user", False))
    if ref is not None and replied and ref.author not in mentioned:
        mentioned.append(ref.author)
    message.mentions = mentioned
    message.mention_roles = [
        int(r)
        for r in ROLE_MENTION.findall(message.content)
        if "roles" in parse or int(r) in allowed_roles
    ]
    message.mention_everyone = "everyone" in parse and (
        "@everyone" in message.content or "@here" in message.content
    )

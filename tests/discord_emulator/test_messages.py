"""Stored messages on their own: edit pace, mentions, allowed mentions."""

from __future__ import annotations

from .messages import Revision, StoredMessage, apply_body
from .models import StoredAttachment, UploadFile, User

ALICE = User(id=1, username="alice")
BOT = User(id=2, username="bot", bot=True)


def message_with_revisions_at(*times: float) -> StoredMessage:
    message = StoredMessage(id=10, channel_id=20, guild_id=None, author=BOT)
    message.history = [
        Revision(at=t, content="", embeds=(), components=(), attachment_names=(), flags=0)
        for t in times
    ]
    return message


def no_upload(upload: UploadFile, description: str | None) -> StoredAttachment:
    raise AssertionError("no uploads expected")


def test_edit_pace_counts_revisions_in_the_busiest_second() -> None:
    steady = message_with_revisions_at(0.0, 1.1, 2.2, 3.3)
    burst = message_with_revisions_at(0.0, 0.2, 0.4, 0.6, 2.0)
    assert steady.max_revisions_within(1.0) == 1
    assert burst.max_revisions_within(1.0) == 4
    assert [round(i, 1) for i in steady.edit_intervals()] == [1.1, 1.1, 1.1]


def test_mentions_follow_allowed_mentions() -> None:
    message = StoredMessage(id=10, channel_id=20, guild_id=None, author=BOT)
    users = {ALICE.id: ALICE}
    body = {"content": "<@1> hi", "allowed_mentions": {"parse": []}}
    apply_body(message, body, [], store_upload=no_upload, users=users, allowed_flags=0)
    assert message.mentions == []
    body = {"content": "<@!1> hi", "allowed_mentions": {"parse": [], "users": ["1"]}}
    apply_body(message, body, [], store_upload=no_upload, users=users, allowed_flags=0)
    assert message.mentions == [ALICE]


def test_flags_outside_the_allowed_set_are_kept_unchanged() -> None:
    message = StoredMessage(id=10, channel_id=20, guild_id=None, author=BOT, flags=64)
    apply_body(message, {"flags": 4}, [], store_upload=no_upload, users={}, allowed_flags=4)
    assert message.flags == 64 | 4

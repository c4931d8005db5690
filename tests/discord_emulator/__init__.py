"""A protocol-faithful local Discord (REST + gateway) for driving the real discord.py in tests.

See docs/discord-emulator.md.
"""

from .errors import ApiError
from .interactions import InteractionExpired, InteractionHandle
from .messages import Revision, StoredMessage
from .models import Channel, Guild, Member, Role, StoredAttachment, UploadFile, User
from .patching import DiscordPatch, point_discord_at
from .ratelimit import RateLimitPolicy
from .records import GatewayConnection, InteractionRecord, RecordedRequest
from .server import DiscordEmulator
from .state import EmulatorConfig

__all__ = [
    "ApiError",
    "Channel",
    "DiscordEmulator",
    "DiscordPatch",
    "EmulatorConfig",
    "GatewayConnection",
    "Guild",
    "InteractionExpired",
    "InteractionHandle",
    "InteractionRecord",
    "Member",
    "RateLimitPolicy",
    "RecordedRequest",
    "Revision",
    "Role",
    "StoredAttachment",
    "StoredMessage",
    "UploadFile",
    "User",
    "point_discord_at",
]

"""What the Discord adapter needs to know, as a plain value the app builds from settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_HELP_FILE = Path(__file__).resolve().parents[2] / "docs" / "help.md"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscordConfig:
    """Discord settings; ``app`` fills it from ``DiscordSettings``.

    ``api_base``/``gateway_url`` point the client at another Discord (the tests'
    emulator): the REST base including ``/api/v10`` and a ``ws://`` or ``wss://`` URL.
    """

    token: str = field(repr=False)
    dev_guild_id: int | None = None  # sync commands to this guild only (development)
    sync_commands: bool = True  # sync the command tree at start-up
    trainer_role: str = "Trainer"  # role name or id
    # Discord-side default for trainer commands (a permission flag name, "" = everyone);
    # server admins re-map it under Server Settings → Integrations.
    trainer_permission: str = "manage_messages"
    chat_channels: frozenset[int] = frozenset()
    chat_cooldown: float = 3.0  # seconds between chat turns per user
    transcribe_cooldown: float = 10.0  # seconds between transcriptions per user
    max_audio_bytes: int = 25 * 1024 * 1024
    max_upload_bytes: int = 10 * 1024 * 1024  # largest file the bot sends
    download_timeout: float = 30.0  # seconds to fetch an attachment
    stream_interval: float = 1.0  # seconds between edits of one message
    max_concurrent_answers: int = 16  # answers generated at once; more wait their turn
    message_limit: int = 2000  # characters per message
    help_file: Path = DEFAULT_HELP_FILE
    api_base: str | None = None
    gateway_url: str | None = None
    guild_ready_timeout: float = 2.0

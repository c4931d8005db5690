"""All configuration, from the environment and ``.env``; documented in config/.env.example.

Variables are prefixed ``TRAINERBOT_`` and groups are separated by ``__``:
``TRAINERBOT_LLM__BASE_URL``, ``TRAINERBOT_DISCORD__TOKEN``. Built once in the
entry point and passed down; nothing reads settings at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SYSTEM_PROMPT = (
    "You are trainerbot, a helpful assistant in a Discord community. "
    "Answer clearly and briefly, in the language of the question. "
    "When examples of good answers are given, follow them."
)


class LlmSettings(BaseModel):
    base_url: str | None = Field(
        None,
        description="OpenAI-compatible endpoint (…/v1); unset: the embedded local LLM.",
    )
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key for the endpoint.")
    model: str = Field("local-model", description="Model id sent to the endpoint.")
    timeout: float = Field(60.0, gt=0, description="Seconds before a request times out.")
    connect_timeout: float = Field(5.0, gt=0, description="Seconds to connect.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries on transient errors.")
    deadline: float = Field(
        120.0,
        gt=0,
        description="Seconds one chat answer may take in all, retries and streaming "
        "included, whatever the server does (docs/reliability.md#model-endpoint).",
    )
    temperature: float | None = Field(0.3, ge=0, le=2)
    max_tokens: int | None = Field(512, gt=0)


class LocalLlmSettings(BaseModel):
    """The embedded llama.cpp server, used when ``llm.base_url`` is unset (docs/local-llm.md)."""

    enabled: Literal["auto", "true", "false"] = Field(
        "auto",
        description="auto: use it when installed and pulled; true: required; false: never.",
    )
    model: str = Field(
        "qwen2.5-coder-0.5b-instruct-q4_k_m", description="Model name from the manifest."
    )
    manifest: Path | None = Field(None, description="Model manifest; default config/models.toml.")
    port: int = Field(0, ge=0, le=65535, description="0: a free port on 127.0.0.1.")
    n_ctx: int = Field(2048, ge=256, le=131072, description="Context window in tokens.")
    n_threads: int = Field(0, ge=0, le=256, description="0: one per CPU.")
    start_timeout: float = Field(120.0, gt=0, description="Seconds to wait for it to serve.")
    max_restarts: int = Field(5, ge=0, le=100, description="Restarts in a row before giving up.")
    restart_backoff: float = Field(
        1.0, gt=0, le=60, description="Seconds before the first restart; doubles up to 30."
    )


class ChatSettings(BaseModel):
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    max_history_turns: int = Field(10, ge=0, le=200)
    max_history_chars: int = Field(6000, ge=0)
    max_question_chars: int = Field(4000, gt=0)
    max_answer_chars: int = Field(
        8000,
        gt=0,
        description="An answer is cut off here and marked so, even when the server ignores "
        "max_tokens (about 4 Discord messages).",
    )
    demonstrations: int = Field(4, ge=0, le=20, description="Examples retrieved per answer.")
    correction_match: float = Field(
        0.8,
        ge=0,
        le=1,
        description="Word similarity at which a taught example answers the question itself "
        "(it comes first, marked, and the earlier turns that asked it leave the history).",
    )
    semantic_match: float | None = Field(
        None,
        ge=0,
        le=1,
        description="The same by meaning: the memory's cosine of the question to a taught "
        "question (unset: words only). docs/teach-loop.md#paraphrases has the measurements.",
    )


class StorageSettings(BaseModel):
    url: str | None = Field(
        None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/trainerbot.db (the stdlib "
        "sqlite3 driver; a sqlite+aiosqlite:// URL from an older config means the same). "
        "PostgreSQL: postgresql+asyncpg://user:pass@host/db",
    )


class DatasetSettings(BaseModel):
    corrections_dataset: str = "corrections"
    max_file_bytes: int = Field(20 * 1024 * 1024, gt=0)
    max_examples: int = Field(50_000, gt=0)
    max_text_chars: int = Field(20_000, gt=0)


class ReviewSettings(BaseModel):
    """Who decides what the bot learns (docs/review.md)."""

    mode: Literal["review", "trainers-only", "open"] = Field(
        "review",
        description="For a guild that did not choose one (/review mode): review — a "
        "member's correction waits for a trainer; trainers-only — only trainers correct; "
        "open — anyone's correction is learned at once (small private servers).",
    )
    proposals_per_day: int = Field(
        20, ge=0, le=10_000, description="Proposals (corrections, 👎) a member may make a day."
    )


class TrainingSettings(BaseModel):
    default_backend: str = "local"
    max_concurrent_jobs: int = Field(1, ge=1, le=8)
    progress_interval: float = Field(
        0.5, ge=0.0, le=60.0, description="Seconds between a job's stored progress reports."
    )
    heartbeat_seconds: float = Field(
        5.0,
        gt=0.0,
        le=300.0,
        description=(
            "Seconds between the heartbeats of the process that holds a training job or "
            "answers an evaluation run; after 3 missed ones another process counts it as "
            "orphaned."
        ),
    )


class FineTuneSettings(BaseModel):
    """The ``openai`` training backend: fine-tuning jobs at a provider (docs/finetuning.md)."""

    enabled: bool = Field(False, description="Register the `openai` training backend.")
    base_url: str | None = Field(
        None, description="Provider endpoint (…/v1); unset: the LLM endpoint (llm.base_url)."
    )
    api_key: SecretStr | None = Field(None, description="Provider key; unset: llm.api_key.")
    base_model: str | None = Field(
        None, description="Model to fine-tune; unset: the model of the version trained from."
    )
    poll_interval: float = Field(10.0, gt=0, description="Seconds between polls after a change.")
    max_poll_interval: float = Field(
        120.0, gt=0, description="Longest wait between polls while nothing changes."
    )
    timeout: float = Field(60.0, gt=0, description="Seconds before one request gives up.")


class EvaluationSettings(BaseModel):
    concurrency: int = Field(4, ge=1, le=64)
    max_cases: int = Field(500, gt=0)


class BackupSettings(BaseModel):
    """Backups of the database, artifacts and memories (docs/storage.md#backup-and-restore)."""

    daily: bool = Field(
        False, description="While the bot runs, write a backup a day into backup.dir."
    )
    keep: int = Field(7, ge=1, le=1000, description="Daily backups kept; older ones are removed.")
    dir: Path | None = Field(None, description="Where backups go; default <data_dir>/backups.")


class LogSettings(BaseModel):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "console", "json"] = Field(
        "auto", description="auto: console on a terminal, JSON otherwise."
    )


class WorkerSettings(BaseModel):
    threads: int = Field(2, ge=1, le=32, description="Bounded pool for CPU work.")
    malloc_arenas: int = Field(
        2,
        ge=0,
        le=256,
        description="glibc malloc arenas for the whole process (threads reuse each "
        "other's freed memory); 0: glibc's default, 8 per core.",
    )


class SpeechSettings(BaseModel):
    """Local speech to text with faster-whisper (docs/speech.md)."""

    enabled: Literal["auto", "true", "false"] = Field(
        "auto", description="auto: transcribe when the speech extra is installed."
    )
    model_dir: Path | None = Field(
        None, description="A CTranslate2 Whisper model directory; default: packaged Whisper base."
    )
    model_name: str | None = Field(
        None, description="A faster-whisper model name (downloads: needs network)."
    )
    compute_type: str = "int8"
    cpu_threads: int = Field(2, ge=1, le=64)
    workers: int = Field(1, ge=1, le=8, description="Transcriptions at once.")
    beam_size: int = Field(5, ge=1, le=10)
    vad: bool = Field(True, description="Skip silence with the Silero voice-activity filter.")
    language: str | None = Field(None, description="Force a language (e.g. en, ru); else detect.")
    max_seconds: float = Field(300.0, gt=0, description="Longest audio accepted.")
    preload: bool = Field(False, description="Load the model at start-up, not on first use.")


class VoiceSettings(BaseModel):
    """Speech out with Piper, and voice channels (docs/voice.md)."""

    enabled: Literal["auto", "true", "false"] = Field(
        "auto", description="auto: voice commands when piper-tts and libopus are installed."
    )
    voices: dict[str, Path] = Field(
        default_factory=dict,
        description="Language → Piper .onnx voice file, e.g. "
        '{"ru": "/voices/ru_RU-irina-medium.onnx"}.',
    )
    default_voice: Path | None = Field(None, description="Default: the packaged en_US joe voice.")
    length_scale: float | None = Field(
        None, gt=0, le=4, description="Speech rate: above 1 slower, below 1 faster."
    )
    speaker_id: int | None = Field(None, ge=0, description="Speaker of a multi-speaker voice.")
    idle_seconds: float = Field(300.0, gt=0, description="Leave a voice channel after this.")
    connect_seconds: float = Field(15.0, gt=0)
    max_say_chars: int = Field(1000, gt=0)
    bitrate_kbps: int = Field(64, ge=8, le=512)


class DiscordSettings(BaseModel):
    token: SecretStr | None = Field(
        None, description="Bot token; without it `run` chats in the terminal."
    )
    dev_guild_id: int | None = Field(None, description="Sync commands to this guild only.")
    trainer_role: str = Field("Trainer", description="Role name (or id) allowed to train.")
    chat_channels: list[int] = Field(
        default_factory=list, description="Channel ids answered in full."
    )
    chat_cooldown_seconds: float = Field(3.0, ge=0)
    transcribe_cooldown_seconds: float = Field(10.0, ge=0)
    max_audio_bytes: int = Field(25 * 1024 * 1024, gt=0)
    max_upload_bytes: int = Field(10 * 1024 * 1024, gt=0, description="Largest file sent.")
    sync_commands: bool = Field(True, description="Sync slash commands at start-up.")
    trainer_permission: str = Field(
        "manage_messages",
        description="Discord permission trainer commands default to ('' = everyone).",
    )
    stream_interval: float = Field(1.0, ge=0.5, description="Seconds between edits.")
    max_concurrent_answers: int = Field(16, ge=1, le=256)
    # advanced: point the client at another API (tests use a local emulator)
    api_base: str | None = None
    gateway_url: str | None = None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="TRAINERBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Field(Path("var"), description="Database, artifacts, memories, models.")
    llm: LlmSettings = LlmSettings()
    local_llm: LocalLlmSettings = LocalLlmSettings()
    chat: ChatSettings = ChatSettings()
    storage: StorageSettings = StorageSettings()
    datasets: DatasetSettings = DatasetSettings()
    review: ReviewSettings = ReviewSettings()
    training: TrainingSettings = TrainingSettings()
    finetune: FineTuneSettings = FineTuneSettings()
    evaluation: EvaluationSettings = EvaluationSettings()
    backup: BackupSettings = BackupSettings()
    log: LogSettings = LogSettings()
    workers: WorkerSettings = WorkerSettings()
    speech: SpeechSettings = SpeechSettings()
    voice: VoiceSettings = VoiceSettings()
    discord: DiscordSettings = DiscordSettings()

    @property
    def database_url(self) -> str:
        if self.storage.url:
            return self.storage.url
        return f"sqlite:///{(self.data_dir / 'trainerbot.db').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def memories_dir(self) -> Path:
        return self.data_dir / "memories"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def backups_dir(self) -> Path:
        return self.backup.dir or self.data_dir / "backups"

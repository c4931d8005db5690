"""``trainerbot run``: the bot's main job.

With a Discord token the bot serves Discord; without one it chats in the terminal.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import Coroutine
from typing import TYPE_CHECKING

import structlog

from app.backup_daily import start_daily_backups
from app.bootstrap import Container, bootstrap, describe
from app.logging import configure_logging
from app.malloc import limit_malloc_arenas
from app.settings import Settings
from app.speech import build_speech_to_text, build_text_to_speech
from domain.errors import DomainError
from domain.ports import SpeechToText, TextToSpeech

if TYPE_CHECKING:
    from adapters.discord import BotServices, CogFactory

log = structlog.get_logger()


def run_main(settings: Settings | None = None) -> int:
    settings = settings or Settings()
    limit_malloc_arenas(settings.workers.malloc_arenas)  # before any worker thread starts
    if settings.discord.token is None:
        print(
            "No Discord token set (TRAINERBOT_DISCORD__TOKEN): starting the terminal chat.",
            file=sys.stderr,
        )
        from app.repl import run_repl

        return run_repl(settings)
    configure_logging(level=settings.log.level, fmt=settings.log.format)
    return asyncio.run(_until_signalled(serve_discord(settings)))


async def _until_signalled(main: Coroutine[object, object, int]) -> int:
    """Run ``main``; SIGINT or SIGTERM cancel it, so that everything closes in order."""
    task = asyncio.ensure_future(main)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        log.info("bot_stopped")
        return 0
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def bot_services(container: Container, speech: SpeechToText | None) -> BotServices:
    """What the Discord bot is given of the container (the tests' harness uses it too)."""
    from adapters.discord import BotServices

    return BotServices(
        chat=container.chat,
        feedback=container.feedback,
        review=container.review,
        datasets=container.datasets,
        training=container.training,
        evaluation=container.evaluation,
        models=container.models,
        artifacts=container.artifacts,
        speech=speech,
    )


async def serve_discord(settings: Settings) -> int:
    """Run the Discord bot until it is stopped; close everything on the way out."""
    from adapters.discord import DiscordConfig, DiscordLoginFailed, run_discord

    d = settings.discord
    assert d.token is not None
    try:
        container = await bootstrap(settings)
    except DomainError as error:
        print(error.user_message, file=sys.stderr)
        return 1
    speech = None
    tts = None
    backups = start_daily_backups(settings)
    try:
        speech = build_speech_to_text(settings)
        if speech is not None and settings.speech.preload:
            await speech.start()
        tts = build_text_to_speech(settings)
        extra_cogs: list[CogFactory] = []
        if tts is not None:
            await tts.start()
            extra_cogs.append(_voice_cog(settings, tts))
        if container.llm_problem:
            print(container.llm_problem, file=sys.stderr)
        log.info(
            "bot_starting", **describe(container), speech=speech is not None, voice=tts is not None
        )
        config = DiscordConfig(
            token=d.token.get_secret_value(),
            dev_guild_id=d.dev_guild_id,
            sync_commands=d.sync_commands,
            trainer_role=d.trainer_role,
            trainer_permission=d.trainer_permission,
            chat_channels=frozenset(d.chat_channels),
            chat_cooldown=d.chat_cooldown_seconds,
            transcribe_cooldown=d.transcribe_cooldown_seconds,
            max_audio_bytes=d.max_audio_bytes,
            max_upload_bytes=d.max_upload_bytes,
            stream_interval=d.stream_interval,
            max_concurrent_answers=d.max_concurrent_answers,
            api_base=d.api_base,
            gateway_url=d.gateway_url,
        )
        services = bot_services(container, speech)
        await run_discord(services, config, extra_cogs=extra_cogs)
        return 0
    except DiscordLoginFailed as error:
        print(error.user_message, file=sys.stderr)
        return 1
    except DomainError as error:
        print(error.user_message, file=sys.stderr)
        return 1
    finally:
        if backups is not None:
            await backups.aclose()
        if tts is not None:
            await tts.aclose()
        if speech is not None:
            await speech.aclose()
        await container.aclose()


def _voice_cog(settings: Settings, tts: TextToSpeech) -> CogFactory:
    from adapters.discord.voice import SpeechFile, VoiceCog, VoiceConfig
    from adapters.speech_piper import to_ogg_opus_bytes

    v = settings.voice
    config = VoiceConfig(
        idle_timeout=v.idle_seconds,
        connect_timeout=v.connect_seconds,
        max_say_chars=v.max_say_chars,
        bitrate=v.bitrate_kbps,
    )
    # OGG/Opus, like the voice messages Discord clients record: a tenth of a WAV's size
    speech_file = SpeechFile(encode=to_ogg_opus_bytes, filename="speech.ogg")
    return lambda bot: VoiceCog(bot, tts, speech_file=speech_file, config=config)

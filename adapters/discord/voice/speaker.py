"""One playback queue per guild: utterances are spoken one after another, never mixed.

An ``Utterance`` receives text (a whole ``/say`` text, or an answer streamed piece by
piece: it is the chat's answer sink) and cuts it into sentences. The guild's
``Speaker`` takes utterances in order; for each it synthesizes sentence after
sentence, resamples into 20 ms frames and starts discord.py's player as soon as the
first sentence's frames exist, while the next sentences are synthesized. It stays
connected between utterances; after ``idle_timeout`` seconds with nothing to say it
calls ``on_idle`` (the cog leaves the channel).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import Any

import discord
import structlog

from adapters.discord.voice.frames import FrameCutter
from adapters.discord.voice.sentences import SentenceCutter
from adapters.discord.voice.source import FrameSource
from domain.errors import DomainError
from domain.ports import TextToSpeech

log = structlog.get_logger()

AHEAD_FRAMES = 500  # synthesize the next sentence once less than 10 s are waiting


class Utterance:
    """Text to speak, arriving in pieces; implements the bot's ``AnswerSink``."""

    def __init__(self, *, kind: str) -> None:
        self.kind = kind  # "answer" or "say", for logs
        self.created = time.perf_counter()
        self.cancelled = False
        self._cutter = SentenceCutter()
        self._sentences: asyncio.Queue[str | None] = asyncio.Queue()
        self._closed = False
        self.sentence_times: list[float] = []  # when each sentence became complete
        self.playback_started: float | None = None  # when discord.py's player was started

    def feed(self, piece: str) -> None:
        if self._closed or self.cancelled:
            return
        for sentence in self._cutter.feed(piece):
            self._put(sentence)

    def close(self, *, complete: bool = True) -> None:
        """No more text; an interrupted answer's unfinished sentence is not spoken."""
        if self._closed:
            return
        self._closed = True
        if complete and not self.cancelled:
            for sentence in self._cutter.flush():
                self._put(sentence)
        self._sentences.put_nowait(None)

    def say(self, text: str) -> Utterance:
        self.feed(text)
        self.close(complete=True)
        return self

    def cancel(self) -> None:
        self.cancelled = True
        self.close(complete=False)

    async def next_sentence(self) -> str | None:
        return None if self.cancelled else await self._sentences.get()

    def _put(self, sentence: str) -> None:
        self.sentence_times.append(time.perf_counter())
        self._sentences.put_nowait(sentence)


class Speaker:
    """The playback queue of one guild's voice connection."""

    def __init__(
        self,
        *,
        guild_id: int,
        tts: TextToSpeech,
        voice_client: Callable[[], discord.VoiceClient | None],
        on_idle: Callable[[], Coroutine[Any, Any, object]],
        idle_timeout: float,
        bitrate: int = 64,
    ) -> None:
        self.guild_id = guild_id
        self._tts = tts
        self._voice_client = voice_client
        self._on_idle = on_idle
        self._idle_timeout = idle_timeout
        self._bitrate = bitrate
        self._queue: deque[Utterance] = deque()
        self._wake = asyncio.Event()
        self._current: Utterance | None = None
        self._source: FrameSource | None = None
        self._idle: asyncio.TimerHandle | None = None
        self._idle_task: asyncio.Task[object] | None = None
        self._worker = asyncio.create_task(self._run(), name=f"voice-speaker-{guild_id}")
        self.spoken = 0  # utterances played to the end
        self._arm_idle()

    @property
    def busy(self) -> bool:
        return self._current is not None or bool(self._queue)

    def enqueue(self, utterance: Utterance) -> Utterance:
        self._disarm_idle()
        self._queue.append(utterance)
        self._wake.set()
        return utterance

    def stop(self) -> bool:
        """Silence now: the current utterance ends and the queued ones are dropped."""
        dropped = list(self._queue)
        self._queue.clear()
        for utterance in dropped:
            utterance.cancel()
        current = self._current
        if current is not None:
            current.cancel()
        if self._source is not None:
            self._source.stop()
        client = self._voice_client()
        if client is not None and client.is_playing():
            client.stop()
        stopped = current is not None or bool(dropped)
        if stopped:
            log.info("voice_stopped", guild_id=self.guild_id, dropped=len(dropped))
        return stopped

    async def aclose(self) -> None:
        self.stop()
        self._disarm_idle()
        self._worker.cancel()
        await asyncio.gather(self._worker, return_exceptions=True)

    # ----------------------------------------------------------------- idle

    def _arm_idle(self) -> None:
        self._disarm_idle()
        loop = asyncio.get_running_loop()
        self._idle = loop.call_later(self._idle_timeout, self._went_idle)

    def _disarm_idle(self) -> None:
        if self._idle is not None:
            self._idle.cancel()
            self._idle = None

    def _went_idle(self) -> None:
        self._idle = None
        if not self.busy:
            log.info("voice_idle", guild_id=self.guild_id, seconds=self._idle_timeout)
            self._idle_task = asyncio.create_task(self._on_idle())

    # ----------------------------------------------------------------- playback

    async def _run(self) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            utterance = self._queue.popleft()
            self._current = utterance
            try:
                await self._speak(utterance)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("voice_playback_failed", guild_id=self.guild_id)
            finally:
                self._current = None
                self._source = None
            if not self._queue:
                self._arm_idle()

    async def _speak(self, utterance: Utterance) -> None:
        loop = asyncio.get_running_loop()
        source = self._source = FrameSource()
        cutter = FrameCutter()
        ended = asyncio.Event()
        started = False

        def after(error: Exception | None) -> None:
            if error is not None:
                log.warning("voice_player_error", error=type(error).__name__)
            loop.call_soon_threadsafe(ended.set)

        def start() -> bool:
            client = self._voice_client()
            if client is None or not client.is_connected():
                return False
            client.play(
                source, after=after, application="voip", bitrate=self._bitrate, signal_type="voice"
            )
            utterance.playback_started = time.perf_counter()
            log.info(
                "voice_playback_started",
                guild_id=self.guild_id,
                kind=utterance.kind,
                wait_ms=round((utterance.playback_started - utterance.sentence_times[0]) * 1000, 1),
            )
            return True

        while (sentence := await utterance.next_sentence()) is not None:
            # Enough is ready: bound the memory of long answers. The player thread
            # drains the source, so this polls (an event would need a thread hop per frame).
            while source.pending > AHEAD_FRAMES and not utterance.cancelled:  # noqa: ASYNC110
                await asyncio.sleep(0.1)
            if utterance.cancelled:
                break
            try:
                async for speech in self._tts.synthesize(sentence):
                    if utterance.cancelled:
                        break
                    frames = await asyncio.to_thread(cutter.feed, speech.pcm, speech.sample_rate)
                    source.push(frames)
                    if not started and frames:
                        started = start()
                        if not started:
                            utterance.cancel()
            except DomainError as error:  # one sentence Piper cannot say: skip it
                log.warning("voice_sentence_skipped", reason=error.params.get("reason"))
            if utterance.cancelled:
                break
        if not utterance.cancelled:
            source.push(cutter.finish())
        source.finish()
        if not started and source.pending and not utterance.cancelled:
            started = start()
        if started:
            await ended.wait()
            if not utterance.cancelled:
                self.spoken += 1
        log.info(
            "voice_utterance_done",
            guild_id=self.guild_id,
            kind=utterance.kind,
            frames=source.played,
            underruns=source.underruns,
            stopped=utterance.cancelled,
        )

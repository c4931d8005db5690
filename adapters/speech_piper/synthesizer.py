"""Text to speech with Piper: a voice per language, sentence by sentence, off the loop."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import structlog

from adapters.speech_piper.text import detect_language, split_sentences
from adapters.speech_piper.voices import VoiceCache
from domain.errors import SpeechError
from domain.models import Speech

if TYPE_CHECKING:
    from piper import PiperVoice, SynthesisConfig

log = structlog.get_logger()

_T = TypeVar("_T")


class PiperTextToSpeech:
    """Implements ``domain.ports.TextToSpeech``.

    ``voices`` maps ISO 639-1 codes ("en", "ru") to Piper ``.onnx`` files (each next
    to its ``.onnx.json``). The language of a text is ``language=`` when given, else
    guessed from its script (Cyrillic → "ru", Latin → ``default_language``); a
    language without a voice, or whose voice fails to load, uses the default voice.
    Voices load once and stay cached.
    """

    def __init__(
        self,
        *,
        voices: Mapping[str, Path] | None = None,
        default_voice: Path | None = None,
        default_language: str = "en",
        length_scale: float | None = None,
        speaker_id: int | None = None,
        max_chars: int = 2_000,
        workers: int = 1,
        preload: bool = False,
        release_memory_after: float | None = 2.0,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self._voices = VoiceCache(
            voices=voices or {}, default_voice=default_voice, default_language=default_language
        )
        self._default_language = default_language.lower()
        self._length_scale = length_scale
        self._speaker_id = speaker_id
        self.max_chars = max_chars
        self._preload = preload
        self._release_after = release_memory_after
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="piper")
        self._speaking = 0  # synthesize() calls in progress (loop thread only)
        self._release: asyncio.TimerHandle | None = None
        self._closed = False

    async def start(self) -> None:
        """Load the default voice and every configured voice now when ``preload`` is set."""
        if self._preload:
            await self._run(self._voices.preload_all)

    def voice_path(self, language: str) -> Path:
        """The voice file used for ``language`` (the default voice when none is set)."""
        return self._voices.path_for(language)

    async def synthesize(self, text: str, *, language: str | None = None) -> AsyncIterator[Speech]:
        """Speech per sentence, each yielded as soon as it is ready.

        The next sentence is synthesized when the caller asks for it: a caller that
        buffers frames and pulls again at once keeps speech ahead of playback, and the
        first sentence does not compete for the CPU with the second.
        ``release_memory_after`` seconds after the last speech ends, the working
        memory of the voices is handed back (see ``VoiceCache.release_memory``).
        """
        cleaned = text.strip()
        if not cleaned:
            raise SpeechError("There is no text to say.", reason="empty")
        if len(cleaned) > self.max_chars:
            raise SpeechError(
                f"That text is too long to say: the limit is {self.max_chars} characters.",
                reason="too_long",
                limit_chars=self.max_chars,
            )
        sentences = split_sentences(cleaned)
        if not sentences:
            raise _nothing_to_say()
        wanted = (language or detect_language(cleaned, default=self._default_language)).lower()
        self._begin()
        produced = 0.0
        try:
            log.info(
                "speech_started", language=wanted, sentences=len(sentences), chars=len(cleaned)
            )
            started = time.perf_counter()
            config = self._synthesis_config()
            # One trip to the pool for the voice and the first sentence: the first audio
            # is what the listener waits for.
            voice, speech = await self._run(
                lambda: _first(self._voices.voice_for(wanted), sentences[0], config)
            )
            for index in range(len(sentences)):
                if index:
                    speech = await self._run(partial(_speak, voice, sentences[index], config))
                if speech.pcm:
                    produced += len(speech.pcm) / 2 / speech.sample_rate
                    yield speech
        finally:
            self._end()
        if produced == 0:
            raise _nothing_to_say()
        log.info(
            "speech_finished",
            language=wanted,
            seconds=round(produced, 2),
            elapsed=round(time.perf_counter() - started, 3),
        )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._release is not None:
            self._release.cancel()
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        self._voices.clear()

    # ----------------------------------------------------------------- memory

    def _begin(self) -> None:
        self._speaking += 1
        if self._release is not None:
            self._release.cancel()
            self._release = None

    def _end(self) -> None:
        self._speaking -= 1
        if self._speaking or self._release_after is None or self._closed:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # finalised outside the loop: skip this release
            return
        self._release = loop.call_later(self._release_after, self._release_when_idle)

    def _release_when_idle(self) -> None:
        self._release = None
        if not self._speaking and not self._closed:
            self._pool.submit(self._voices.release_memory)

    # ----------------------------------------------------------------- worker side

    async def _run(self, fn: Callable[[], _T]) -> _T:
        if self._closed:
            raise SpeechError("Speech is shutting down.", reason="closed")
        return await asyncio.wrap_future(self._pool.submit(fn))

    def _synthesis_config(self) -> SynthesisConfig:
        from piper import SynthesisConfig

        return SynthesisConfig(speaker_id=self._speaker_id, length_scale=self._length_scale)


def _nothing_to_say() -> SpeechError:
    return SpeechError("There is nothing in that text I can say aloud.", reason="silent")


def _first(voice: PiperVoice, sentence: str, config: SynthesisConfig) -> tuple[PiperVoice, Speech]:
    return voice, _speak(voice, sentence, config)


def _speak(voice: PiperVoice, sentence: str, config: SynthesisConfig) -> Speech:
    try:
        pcm = b"".join(chunk.audio_int16_bytes for chunk in voice.synthesize(sentence, config))
    except Exception as exc:
        log.exception("speech_synthesis_failed", error=type(exc).__name__)
        raise SpeechError("Speaking that text failed.", reason="failed") from None
    return Speech(pcm=pcm, sample_rate=voice.config.sample_rate, text=sentence)

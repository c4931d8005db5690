"""Speech to text with faster-whisper, off the event loop in a bounded worker pool."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import structlog

from adapters.speech_whisper.assembly import assemble_whisper_base
from adapters.speech_whisper.decoding import decode_audio
from adapters.speech_whisper.memory import IdleTrigger, release_free_memory
from domain.errors import SpeechError
from domain.models import Audio, Transcript, TranscriptSegment

if TYPE_CHECKING:
    from faster_whisper import WhisperModel

log = structlog.get_logger()

_T = TypeVar("_T")
MiB = 1024 * 1024


class FasterWhisperSpeechToText:
    """Implements ``domain.ports.SpeechToText``.

    The model is the Whisper base assembled from the packaged parts unless
    ``model_dir`` (a CTranslate2 model directory) or ``model_name`` (a size or hub
    name; needs the network once) is given. It is loaded once, lazily on the first
    transcription or at ``start()`` when ``preload`` is set. ``release_memory_after``
    seconds after the last transcription, freed work buffers go back to the OS.
    """

    def __init__(
        self,
        *,
        cache_dir: Path,
        model_dir: Path | None = None,
        model_name: str | None = None,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int = 2,
        workers: int = 1,
        beam_size: int = 5,
        vad: bool = True,
        language: str | None = None,
        max_seconds: float = 300,
        max_bytes: int = 25 * MiB,
        max_queue: int = 32,
        preload: bool = False,
        release_memory_after: float | None = 2.0,
    ) -> None:
        if workers < 1 or max_queue < 1:
            raise ValueError("workers and max_queue must be at least 1")
        self._cache_dir = cache_dir
        self._model_dir = model_dir
        self._model_name = model_name
        self._device = device
        self._compute_type = compute_type
        self._cpu_threads = cpu_threads
        self._workers = workers
        self._beam_size = beam_size
        self._vad = vad
        self._language = language
        self.max_seconds = max_seconds
        self.max_bytes = max_bytes
        self._max_queue = max_queue
        self._preload = preload
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="whisper")
        self._model: WhisperModel | None = None
        self._load_lock = threading.Lock()
        self._in_pool = 0  # transcriptions submitted and not finished (loop thread only)
        self._idle = IdleTrigger(release_memory_after, self._release_memory)
        self._closed = False

    async def start(self) -> None:
        """Load the model now when ``preload`` is set (otherwise on first use)."""
        if self._preload:
            await self._run(self._loaded_model)

    async def transcribe(self, audio: Audio, *, language: str | None = None) -> Transcript:
        size = len(audio.data)
        if size == 0:
            raise SpeechError("The audio file is empty.", reason="empty")
        if size > self.max_bytes:
            raise SpeechError(
                f"That audio file is too big: the limit is {self.max_bytes / MiB:g} MB.",
                reason="too_big",
                limit_bytes=self.max_bytes,
            )
        if self._in_pool >= self._max_queue:
            raise SpeechError(
                "Too many recordings are being transcribed right now; try again in a minute.",
                reason="busy",
            )
        wanted = language or self._language
        self._idle.busy()
        self._in_pool += 1
        log.info(
            "transcription_queued",
            queue_length=self._in_pool,
            workers=self._workers,
            size=size,
            content_type=audio.content_type,
        )
        try:
            return await self._run(lambda: self._transcribe_now(audio.data, wanted))
        finally:
            self._in_pool -= 1
            if not self._in_pool:
                self._idle.idle()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._idle.busy()
        await asyncio.to_thread(self._pool.shutdown, wait=True, cancel_futures=True)
        self._model = None

    def _release_memory(self) -> None:
        if not self._in_pool and not self._closed:
            self._pool.submit(release_free_memory)

    # ----------------------------------------------------------------- worker side

    async def _run(self, fn: Callable[[], _T]) -> _T:
        if self._closed:
            raise SpeechError("Speech recognition is shutting down.", reason="closed")
        return await asyncio.wrap_future(self._pool.submit(fn))

    def _transcribe_now(self, data: bytes, language: str | None) -> Transcript:
        started = time.perf_counter()
        decoded = decode_audio(data, max_seconds=self.max_seconds)
        if decoded.is_silent:
            raise _no_speech()
        model = self._loaded_model()
        try:
            segments_iter, info = model.transcribe(
                decoded.samples,
                language=language,
                vad_filter=self._vad,
                beam_size=self._beam_size,
            )
            segments = tuple(
                TranscriptSegment(start=s.start, end=s.end, text=s.text.strip())
                for s in segments_iter
            )
        except Exception as exc:  # the library's errors become a domain error here
            log.exception("transcription_failed", error=type(exc).__name__)
            raise SpeechError(
                "Transcription failed; try another recording.", reason="failed"
            ) from None
        text = " ".join(s.text for s in segments if s.text)
        if not text:
            raise _no_speech()
        elapsed = time.perf_counter() - started
        log.info(
            "transcription_finished",
            duration=round(decoded.duration, 2),
            language=info.language,
            language_probability=round(info.language_probability, 3),
            segments=len(segments),
            elapsed=round(elapsed, 3),
            rtf=round(elapsed / decoded.duration, 3) if decoded.duration else None,
        )
        return Transcript(
            text=text,
            language=info.language,
            duration=round(decoded.duration, 3),
            segments=segments,
        )

    def _loaded_model(self) -> WhisperModel:
        with self._load_lock:
            if self._model is None:
                self._model = self._load()
                release_free_memory()
            return self._model

    def _load(self) -> WhisperModel:
        started = time.perf_counter()
        try:
            from adapters.speech_whisper.single_encode import SingleEncodeWhisperModel

            if self._model_dir is not None:
                source = str(self._model_dir)
                model = SingleEncodeWhisperModel(
                    source, local_files_only=True, **self._model_options()
                )
            elif self._model_name is not None:
                source = self._model_name
                model = SingleEncodeWhisperModel(
                    source, download_root=str(self._cache_dir / "hub"), **self._model_options()
                )
            else:
                source = str(assemble_whisper_base(self._cache_dir))
                model = SingleEncodeWhisperModel(
                    source, local_files_only=True, **self._model_options()
                )
        except SpeechError:
            raise
        except Exception as exc:
            log.exception("whisper_model_load_failed", error=type(exc).__name__)
            raise SpeechError(
                "The speech recognition model could not be loaded; check the speech "
                "model settings.",
                reason="model_unavailable",
            ) from None
        log.info(
            "whisper_model_loaded",
            source=source,
            compute_type=self._compute_type,
            cpu_threads=self._cpu_threads,
            elapsed=round(time.perf_counter() - started, 3),
        )
        return model

    def _model_options(self) -> dict[str, Any]:
        return {
            "device": self._device,
            "compute_type": self._compute_type,
            "cpu_threads": self._cpu_threads,
            "num_workers": self._workers,
        }


def _no_speech() -> SpeechError:
    return SpeechError("I heard no speech in that recording.", reason="no_speech")

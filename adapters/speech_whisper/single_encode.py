"""Language detection from the encoder output the first window is decoded with.

With ``language=None``, ``WhisperModel.transcribe`` (faster-whisper 1.2) computes the
features of the whole (VAD-filtered) audio, runs ``detect_language`` on them — one
encoder pass over the first 30 s window — and then ``generate_segments`` encodes that
same first window again before decoding it. On 2 cores that second pass costs ~0.8 s
per transcription, ~40 % of a 5 s voice message's time.

:class:`SingleEncodeWhisperModel` keeps everything else of ``transcribe`` (VAD,
features, prompts, fallbacks, timestamps) and changes two methods:

* ``detect_language(features=...)`` encodes the window ``generate_segments`` will
  decode first — ``features[:, :min(3000, frames - 1)]`` padded to 3,000 frames, the
  slice it takes at seek 0 — asks CTranslate2's ``detect_language`` for the language
  of that encoder output, and keeps window and output for this thread;
* ``encode`` returns the kept output, once, when it is asked for exactly that window
  (compared value by value), and encodes anything else as usual.

The language is the top language of that one window, reported with its probability
and the full list, as faster-whisper reports it with its default
``language_detection_segments=1`` (where the threshold cannot change the answer).
Audio at least 30 s long after the VAD gives faster-whisper's own detection window
exactly; shorter audio differs from it in one 10 ms frame: faster-whisper's detection
window also holds the feature frame past the end of the audio, its decoding window
does not, and this class detects on the decoding window. The transcript is decoded
from the same encoder output either way. Other calls (``audio=``, more detection
segments) are faster-whisper's own.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from faster_whisper import WhisperModel
from faster_whisper.audio import pad_or_trim


class SingleEncodeWhisperModel(WhisperModel):  # type: ignore[misc]  # untyped library
    """A ``WhisperModel`` whose language detection costs no extra encoder pass."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._kept = threading.local()  # transcriptions may run in several threads

    def detect_language(
        self,
        audio: np.ndarray | None = None,
        features: np.ndarray | None = None,
        vad_filter: bool = False,
        vad_parameters: Any = None,
        language_detection_segments: int = 1,
        language_detection_threshold: float = 0.5,
    ) -> tuple[str, float, list[tuple[str, float]]]:
        self._kept.first = None
        content_frames = 0 if features is None else features.shape[-1] - 1
        if audio is not None or language_detection_segments != 1 or content_frames < 1:
            return super().detect_language(  # type: ignore[no-any-return]
                audio=audio,
                features=features,
                vad_filter=vad_filter,
                vad_parameters=vad_parameters,
                language_detection_segments=language_detection_segments,
                language_detection_threshold=language_detection_threshold,
            )
        assert features is not None
        size = min(self.feature_extractor.nb_max_frames, content_frames)
        window = pad_or_trim(features[:, :size])
        output = super().encode(window)
        results = self.model.detect_language(output)[0]
        all_language_probs = [(token[2:-2], probability) for token, probability in results]
        language, probability = all_language_probs[0]
        self._kept.first = (window, output)
        return language, probability, all_language_probs

    def encode(self, features: np.ndarray) -> Any:
        first: tuple[np.ndarray, Any] | None = getattr(self._kept, "first", None)
        self._kept.first = None  # used once at most
        if first is not None:
            window, output = first
            if window.shape == features.shape and np.array_equal(window, features):
                return output
        return super().encode(features)

"""A working, deterministic speech-to-text: a fixed or scripted transcript per call."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from domain.errors import SpeechError
from domain.models import Audio, Transcript, TranscriptSegment


class FakeSpeechToText:
    """Implements ``SpeechToText``.

    Returns ``text`` for every clip, or the next of ``script`` while it lasts; an
    empty clip is refused with ``SpeechError`` like a real decoder would. Every
    clip it was given is kept in ``heard``.
    """

    def __init__(
        self,
        text: str = "hello from a voice message",
        *,
        language: str = "en",
        script: Iterable[str] = (),
        seconds_per_kib: float = 0.5,
    ) -> None:
        self.text = text
        self.language = language
        self.script = deque(script)
        self.seconds_per_kib = seconds_per_kib
        self.heard: list[Audio] = []

    async def transcribe(self, audio: Audio, *, language: str | None = None) -> Transcript:
        if not audio.data:
            raise SpeechError("The recording is empty: there is nothing to transcribe.")
        self.heard.append(audio)
        text = self.script.popleft() if self.script else self.text
        duration = max(0.1, len(audio.data) / 1024 * self.seconds_per_kib)
        return Transcript(
            text=text,
            language=language or self.language,
            duration=duration,
            segments=(TranscriptSegment(start=0.0, end=duration, text=text),),
        )

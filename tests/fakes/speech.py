"""A working, deterministic speech-to-text: a fixed or scripted transcript per call."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from domain.errors import SpeechError
from domain.models import Audio, Transcript, TranscriptSegment

MiB = 1024 * 1024


def looks_like_audio(data: bytes) -> bool:
    """Whether ``data`` begins like a sound file a decoder can read: wav, ogg, flac,
    mp3, webm or m4a (only the container's signature is looked at)."""
    return (
        (data[:4] == b"RIFF" and data[8:12] == b"WAVE")
        or data[:4] in (b"OggS", b"fLaC", b"\x1aE\xdf\xa3")
        or data[:3] == b"ID3"
        or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0)  # an MPEG frame
        or data[4:8] == b"ftyp"
    )


class FakeSpeechToText:
    """Implements ``SpeechToText``.

    Returns ``text`` for every clip, or the next of ``script`` while it lasts.
    Refuses, with the real adapter's ``SpeechError``s, an empty clip, one over
    ``max_bytes``, bytes that are no sound file (by their signature) and any clip
    after ``aclose()``. Every clip it was given is kept in ``heard``.
    """

    def __init__(
        self,
        text: str = "hello from a voice message",
        *,
        language: str = "en",
        script: Iterable[str] = (),
        seconds_per_kib: float = 0.5,
        max_bytes: int = 25 * MiB,
    ) -> None:
        self.text = text
        self.language = language
        self.script = deque(script)
        self.seconds_per_kib = seconds_per_kib
        self.max_bytes = max_bytes
        self.heard: list[Audio] = []
        self.closed = False

    async def transcribe(self, audio: Audio, *, language: str | None = None) -> Transcript:
        if not audio.data:
            raise SpeechError("The audio file is empty.", reason="empty")
        if len(audio.data) > self.max_bytes:
            raise SpeechError(
                f"That audio file is too big: the limit is {self.max_bytes / MiB:g} MB.",
                reason="too_big",
                limit_bytes=self.max_bytes,
            )
        if self.closed:
            raise SpeechError("Speech recognition is shutting down.", reason="closed")
        if not looks_like_audio(audio.data):
            raise SpeechError(
                "I could not read that as audio: the file is damaged or not a sound file "
                "(voice messages, wav, mp3, m4a, webm, ogg and flac work).",
                reason="not_audio",
            )
        self.heard.append(audio)
        text = self.script.popleft() if self.script else self.text
        duration = max(0.1, len(audio.data) / 1024 * self.seconds_per_kib)
        return Transcript(
            text=text,
            language=language or self.language,
            duration=duration,
            segments=(TranscriptSegment(start=0.0, end=duration, text=text),),
        )

    async def aclose(self) -> None:
        self.closed = True

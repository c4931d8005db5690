"""Files people upload (datasets, test sets, archives): their names shown back, their text.

One place for both, so that ``dataset import`` and ``eval run`` name a file and report
a byte that is not UTF-8 in the same words.
"""

from __future__ import annotations


def shown_name(name: str, *, limit: int = 120) -> str:
    """A name fit to show back: no control characters, not too long."""
    clean = "".join(ch if ch.isprintable() else "?" for ch in name)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def display_name(filename: str, *, fallback: str = "upload", limit: int = 100) -> str:
    """The last path segment of an uploaded file's name, fit to show back."""
    base = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
    return shown_name(base or fallback, limit=limit)


class NotUtf8(ValueError):
    """The bytes are not UTF-8 text; ``line`` is where the first bad byte is (from 1)."""

    def __init__(self, line: int) -> None:
        super().__init__(f"line {line}: not UTF-8 text")
        self.line = line


def utf8_text(data: bytes) -> str:
    """``data`` as text (a UTF-8 byte-order mark is dropped), or :class:`NotUtf8`."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise NotUtf8(data.count(b"\n", 0, exc.start) + 1) from None

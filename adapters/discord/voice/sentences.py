"""Cut streamed answer text into sentences as soon as each one is complete.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with closing quotes or brackets)
followed by whitespace, or at a line break; not after common abbreviations
("e.g.", "Dr.") or a single initial. Text that runs long without an end is cut at
a comma or a space, and the first piece of an answer may end at a clause (a comma
of at least 12 characters), so the wait for the first audio stays short. Markdown marks
are removed and pieces with nothing speakable (no letter or digit) are dropped.
"""

from __future__ import annotations

import re

_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s)|\n+")
_ABBREVIATIONS = frozenset(
    [
        "e.g",
        "i.e",
        "etc",
        "vs",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "jr",
        "sr",
        "fig",
        "approx",
        "cf",
        "al",
        "inc",
        "ltd",
    ]
)
_MARKDOWN = re.compile(r"```[a-zA-Z0-9_+-]*|[*_`#>|~]+|\[([^\]]*)\]\([^)]*\)")
_SPEAKABLE = re.compile(r"\w")
_CLAUSE = re.compile(r"[,;:](?=\s)")


def speakable(text: str) -> str:
    """``text`` without markdown marks and link targets; "" if nothing is left to say."""
    cleaned = _MARKDOWN.sub(lambda m: m.group(1) or " ", text)
    cleaned = re.sub(r"https?://\S+", " ", cleaned)
    cleaned = " ".join(cleaned.split())
    return cleaned if _SPEAKABLE.search(cleaned) else ""


class SentenceCutter:
    """``feed(piece) -> sentences completed by it``; ``flush() -> the rest``.

    ``first_clause``: the very first piece may end at a comma, semicolon or colon
    once it is at least this long, so a long first sentence does not hold back the
    first audio (synthesis time grows with the length of the piece). ``None``: off.
    """

    def __init__(
        self, *, soft_limit: int = 160, hard_limit: int = 240, first_clause: int | None = 12
    ) -> None:
        self._buffer = ""
        self._soft = soft_limit
        self._hard = hard_limit
        self._first_clause = first_clause
        self._started = False  # a piece was released

    def feed(self, piece: str) -> list[str]:
        self._buffer += piece
        out: list[str] = []
        start = 0
        for match in _END.finditer(self._buffer):
            end = match.end()
            if match.group().startswith((".",)) and _is_abbreviation(self._buffer[start:end]):
                continue
            out.append(self._buffer[start:end])
            start = end
        self._buffer = self._buffer[start:]
        if not self._started and self._first_clause is not None:
            self._cut_first_clause(out)
        while len(self._buffer) > self._hard:
            head, self._buffer = _cut_long(self._buffer, self._soft, self._hard)
            out.append(head)
        said = [s for s in (speakable(part) for part in out) if s]
        self._started = self._started or bool(said)
        return said

    def _cut_first_clause(self, out: list[str]) -> None:
        """Split the first piece (a finished sentence or the text so far) at a clause."""
        head = out[0] if out else self._buffer
        assert self._first_clause is not None
        for mark in _CLAUSE.finditer(head):
            if mark.end() >= self._first_clause and head[mark.end() :].strip():
                first, rest = head[: mark.end()], head[mark.end() :]
                if out:
                    out[0:1] = [first, rest]
                else:
                    out.append(first)
                    self._buffer = rest
                return

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        said = speakable(rest)
        return [said] if said else []


def _is_abbreviation(sentence: str) -> bool:
    words = sentence.rstrip(".").split()
    if not words:
        return False
    last = words[-1].lower().strip("([\"'")
    return last in _ABBREVIATIONS or (len(last) == 1 and last.isalpha())


def _cut_long(text: str, soft: int, hard: int) -> tuple[str, str]:
    """Cut before ``hard`` characters: after the last comma-like mark past ``soft``
    (or anywhere), else at the last space, else hard."""
    window = text[:hard]
    for marks in (",;:", " "):
        cut = max(window.rfind(mark) for mark in marks)
        if cut > 0 and (cut >= soft or marks == " "):
            return text[: cut + 1], text[cut + 1 :]
    return text[:hard], text[hard:]

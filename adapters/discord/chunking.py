"""Split long text into Discord messages without cutting a word or a code block.

A cut is looked for, best first: between paragraphs, between lines, between words,
always outside fenced code blocks; a code block that fits in one message moves to
the next message whole. Only a block too long for any message is split — at a line
break inside it, the part closed with its fence and the rest reopened with the same
opening line (language kept), so that both halves render as code. A "word" longer
than a whole message (a huge URL) is the one thing ever cut hard.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DISCORD_LIMIT = 2000
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_MIN_FILL = 0.5  # better-ranked cuts are preferred while they keep a message this full

_PARAGRAPH, _LINE, _WORD, _CODE_LINE, _CODE_WORD, _HARD = 6, 5, 4, 3, 2, 1


@dataclass(frozen=True, slots=True)
class _Cut:
    head_end: int  # the message is text[:head_end] (plus a closing fence)
    rest_start: int  # the remainder is text[rest_start:] (after a reopening fence)
    rank: int  # higher is better
    fence: str | None  # opening line of the code block the cut is inside


@dataclass(frozen=True, slots=True)
class _Line:
    start: int
    end: int  # exclusive, without the newline
    fence: str | None  # opening line of the block this line is inside, else None
    code_start: int  # first code line of that block
    fence_line: bool  # the line opens or closes a block
    blank: bool


def split_message(text: str, limit: int = DISCORD_LIMIT) -> list[str]:
    """``text`` as messages of at most ``limit`` characters each, none empty."""
    chunks: list[str] = []
    rest = text.strip("\n")
    while len(rest) > limit:
        head, rest = cut(rest, limit)
        if head.strip():
            chunks.append(head)
    if rest.strip():
        chunks.append(rest)
    return chunks


def cut(text: str, limit: int = DISCORD_LIMIT) -> tuple[str, str]:
    """The first message of ``text`` and the raw remainder (reopening fence included).

    Text that fits comes back whole with an empty remainder.
    """
    if limit < 40:
        raise ValueError("a message limit below 40 characters leaves no room for fences")
    if len(text) <= limit:
        return text, ""
    lines, blocks = _scan(text)
    fits = any(s <= limit < e and e - s <= limit for s, e in blocks)
    best = _choose(_candidates(text, lines, limit), limit, block_fits=fits)
    head = text[: best.head_end].rstrip()
    rest = text[best.rest_start :]
    if best.fence is None:
        return head, rest.lstrip("\n")
    return f"{head}\n{_marker(best.fence)}", f"{best.fence}\n{rest}"


def _scan(text: str) -> tuple[list[_Line], list[tuple[int, int]]]:
    """Lines with their code-block state, and the (start, end) span of every block."""
    lines: list[_Line] = []
    blocks: list[tuple[int, int]] = []
    fence: str | None = None
    code_start = block_start = position = 0
    for raw in text.split("\n"):
        start, end = position, position + len(raw)
        match = _FENCE.fullmatch(raw.rstrip())
        if fence is None:
            lines.append(_Line(start, end, None, 0, bool(match), not raw.strip()))
            if match:
                fence, code_start, block_start = raw.rstrip(), end + 1, start
        else:
            closing = match is not None and _closes(fence, match)
            lines.append(_Line(start, end, fence, code_start, closing, False))
            if closing:
                blocks.append((block_start, end))
                fence = None
        position = end + 1
    if fence is not None:
        blocks.append((block_start, len(text)))
    return lines, blocks


def _candidates(text: str, lines: list[_Line], limit: int) -> list[_Cut]:
    found: list[_Cut] = []
    previous_blank = False
    hard_fence: str | None = None
    for line in lines:
        if line.start > limit:
            break
        fence = line.fence if line.fence and len(line.fence) <= limit // 4 else None
        hard_fence = fence
        if line.start > 0 and line.fence is None:
            rank = _PARAGRAPH if previous_blank else _LINE
            found.append(_Cut(line.start - 1, line.start, rank, None))
        elif (
            fence
            and not line.fence_line
            and line.start > line.code_start
            and line.start + _overhead(fence) <= limit
        ):
            found.append(_Cut(line.start, line.start, _CODE_LINE, fence))
        if not line.fence_line and (line.fence is None or fence):
            _words(found, text, line, fence, limit)
        previous_blank = line.blank
    if not found:
        at = limit - _overhead(hard_fence) if hard_fence else limit
        found.append(_Cut(at, at, _HARD, hard_fence))
    return found


def _words(found: list[_Cut], text: str, line: _Line, fence: str | None, limit: int) -> None:
    """Cuts at the spaces of one line (inside code only as a last resort)."""
    stop = min(line.end, limit + 1)
    for index in range(line.start + 1, stop):
        if text[index] != " ":
            continue
        if fence is None:
            found.append(_Cut(index, index + 1, _WORD, None))
        elif index > line.code_start and index + _overhead(fence) <= limit:
            found.append(_Cut(index, index + 1, _CODE_WORD, fence))


def _choose(candidates: list[_Cut], limit: int, *, block_fits: bool) -> _Cut:
    floor = int(limit * _MIN_FILL)
    outside = [c for c in candidates if c.fence is None and c.rank >= _WORD]
    full = [c for c in outside if c.head_end >= floor]
    if full:
        return max(full, key=lambda c: (c.rank, c.head_end))
    if block_fits and outside:  # move the whole block to the next message
        return max(outside, key=lambda c: c.head_end)
    code = [c for c in candidates if c.fence is not None and c.head_end >= floor]
    if code:
        return max(code, key=lambda c: (c.rank, c.head_end))
    return max(candidates, key=lambda c: (c.head_end > 0, c.rank, c.head_end))


def _marker(fence: str) -> str:
    match = _FENCE.match(fence)
    return match.group(1) if match else "```"


def _overhead(fence: str | None) -> int:
    """Characters a closing fence adds to a message: a newline and the marker."""
    return 0 if fence is None else 1 + len(_marker(fence))


def _closes(fence: str, match: re.Match[str]) -> bool:
    opening = _marker(fence)
    marker, info = match.group(1), match.group(2)
    return marker[0] == opening[0] and len(marker) >= len(opening) and not info.strip()


def fit(text: str, limit: int = DISCORD_LIMIT) -> str:
    """``text`` if it fits, else its first message-sized part marked as shortened."""
    if len(text) <= limit:
        return text
    head = split_message(text, limit - 2)[0]
    return f"{head}\n…"

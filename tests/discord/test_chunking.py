"""Splitting long answers: limits kept, no word or code block cut when avoidable."""

from __future__ import annotations

import re

import pytest

from adapters.discord.chunking import cut, fit, split_message

FENCE = re.compile(r"^ {0,3}```", re.MULTILINE)


def balanced(chunk: str) -> bool:
    return len(FENCE.findall(chunk)) % 2 == 0


def words_of(text: str) -> list[str]:
    """The words outside fence lines (reopened fences add fence lines, nothing else)."""
    return [w for line in text.splitlines() if not FENCE.match(line) for w in line.split()]


def test_short_text_is_one_message() -> None:
    assert split_message("hello there", 2000) == ["hello there"]


def test_long_prose_is_split_between_words_within_the_limit() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    chunks = split_message(text, 500)
    assert len(chunks) > 1
    assert all(len(c) <= 500 for c in chunks)
    assert " ".join(chunks) == text  # no word cut, none lost


def test_paragraph_breaks_are_preferred_over_word_breaks() -> None:
    first = "First paragraph sentence. " * 12
    second = "Second paragraph sentence. " * 12
    chunks = split_message(first.strip() + "\n\n" + second.strip(), 500)
    assert chunks[0] == first.strip()
    assert chunks[1] == second.strip()


def test_a_code_block_that_fits_moves_whole_to_the_next_message() -> None:
    prose = "some words " * 30
    code = "```python\n" + "".join(f"x_{i} = {i}\n" for i in range(30)) + "```"
    chunks = split_message(prose + "\n\n" + code + "\n\nafter", 500)
    assert chunks[0] == prose.strip()
    assert chunks[1] == code + "\n\nafter"


def test_a_code_block_longer_than_a_message_is_closed_and_reopened_with_its_language() -> None:
    code = "```python\n" + "".join(f"print('line {i}')\n" for i in range(120)) + "```"
    chunks = split_message("Here:\n\n" + code, 400)
    assert len(chunks) > 3
    assert all(len(c) <= 400 and balanced(c) for c in chunks)
    assert all(c.startswith("```python\n") for c in chunks[2:])
    lines = [ln for c in chunks for ln in c.splitlines() if ln.startswith("print(")]
    assert lines == [f"print('line {i}')" for i in range(120)]  # every line whole, in order


def test_only_a_word_longer_than_a_message_is_cut_hard() -> None:
    url = "https://example.com/" + "a" * 1200
    chunks = split_message(f"see {url} now", 500)
    assert all(len(c) <= 500 for c in chunks)
    assert "".join(chunks).replace(" ", "") == f"see{url}now"


@pytest.mark.parametrize("limit", [100, 333, 2000])
def test_mixed_markdown_never_exceeds_the_limit_and_keeps_fences_balanced(limit: int) -> None:
    parts = []
    for i in range(15):
        parts.append(f"Paragraph {i} " + "lorem ipsum dolor " * (i * 3 % 11 + 1))
        parts.append("```js\n" + "".join(f"let v{j} = {j};\n" for j in range(i * 7 % 40)) + "```")
    text = "\n\n".join(parts)
    chunks = split_message(text, limit)
    assert all(len(c) <= limit for c in chunks)
    assert all(balanced(c) for c in chunks)
    assert words_of("\n".join(chunks)) == words_of(text)


def test_cut_returns_the_raw_remainder_with_the_fence_reopened() -> None:
    text = "```sh\n" + "echo hello world\n" * 40 + "```"
    head, rest = cut(text, 200)
    assert len(head) <= 200 and head.endswith("\n```")
    assert rest.startswith("```sh\necho hello world")


def test_fit_keeps_short_text_and_shortens_long_text_at_a_boundary() -> None:
    assert fit("short", 100) == "short"
    long = "\n".join(f"line number {i}" for i in range(100))
    shortened = fit(long, 100)
    assert len(shortened) <= 100 and shortened.endswith("\n…")
    assert all(line.startswith("line number") for line in shortened.splitlines()[:-1])

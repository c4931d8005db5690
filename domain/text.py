"""Text helpers shared by the services: normalisation and question similarity.

Pure functions over ``str``; they work for any script (Russian as well as English)
because they rely on Unicode word characters, not on a language's alphabet.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_APOSTROPHES = re.compile(r"(?<=\w)['’ʼ`](?=\w)")
_NOT_WORD = re.compile(r"[\W_]+")

_STEM_MIN = 4  # two words may share a stem only if they agree on this many first letters
_ENDING_MAX = 3  # ... and neither goes on for more than this many letters after it
_NUMBER_BONUS = 5  # a different number makes a different question
_MAX_CANDIDATES = 16  # distinct words per stem bucket considered for stem matches
_DIGIT = re.compile(r"\d")


def normalize(text: str) -> str:
    """Case-fold, drop punctuation and collapse spaces.

    ``"What's the CAPITAL of  France?!"`` → ``"whats the capital of france"``;
    ``"Ёлка, ёж!"`` → ``"елка еж"`` (``ё`` is written ``е`` as often as not).
    """
    text = unicodedata.normalize("NFKC", text).casefold().replace("ё", "е")
    text = _APOSTROPHES.sub("", text)
    return _NOT_WORD.sub(" ", text).strip()


def tokens(text: str) -> list[str]:
    """The normalised words of ``text`` in order."""
    return normalize(text).split()


def similarity(a: str, b: str) -> float:
    """How alike two questions are, from 0 (nothing shared) to 1 (the same words).

    A weighted Dice coefficient over the normalised words: each word weighs its
    length, so content words ("capital", "France") count more than short function
    words ("is", "of"), and "the capital of France" is *not* close to "the capital
    of Spain"; words with digits weigh more still ("2+2=4" is not "2+2=5").
    Words match exactly, or by a shared stem — the same first letters (at least
    four) with endings of at most three letters — so inflected forms
    ("Франции"/"Франция", "question"/"questions") still match; a stem match counts
    the shared letters only. Order is ignored; repeats count as often as they occur.
    Linear in the length of the texts.
    """
    count_a, count_b = Counter(tokens(a)), Counter(tokens(b))
    total = _weight_of(count_a) + _weight_of(count_b)
    if total == 0:
        return 0.0
    shared = 0
    left: dict[str, int] = {}
    for word, n in count_a.items():
        both = min(n, count_b.get(word, 0))
        if both:
            shared += 2 * both * _weight(word)
        if n > both:
            left[word] = n - both
    if left:
        right = {w: n - count_a.get(w, 0) for w, n in count_b.items() if n > count_a.get(w, 0)}
        if right:
            shared += 2 * _stem_overlap(left, right)
    return min(1.0, shared / total)


def _weight_of(words: dict[str, int]) -> int:
    return sum(_weight(word) * n for word, n in words.items())


def _weight(word: str) -> int:
    return len(word) + _NUMBER_BONUS if _has_digit(word) else len(word)


def _has_digit(word: str) -> bool:
    return not word.isalpha() and _DIGIT.search(word) is not None


def _stem_overlap(left: dict[str, int], right: dict[str, int]) -> int:
    """Letters shared by stem-matched pairs of the words left after exact matches.

    Greedy: each word takes the unmatched word with the longest common prefix among
    the first few sharing its first letters (bounded, so no input is quadratic).
    """
    by_prefix: dict[str, dict[str, int]] = {}
    for word, n in right.items():
        if len(word) >= _STEM_MIN and not _has_digit(word):
            bucket = by_prefix.setdefault(word[:_STEM_MIN], {})
            if len(bucket) < _MAX_CANDIDATES:
                bucket[word] = n
    overlap = 0
    for word, wanted in left.items():
        if len(word) < _STEM_MIN or _has_digit(word):
            continue
        candidates = by_prefix.get(word[:_STEM_MIN], {})
        while wanted and candidates:
            best, best_prefix = "", 0
            for other in candidates:
                prefix = _common_prefix(word, other)
                if prefix >= max(len(word), len(other)) - _ENDING_MAX and prefix > best_prefix:
                    best, best_prefix = other, prefix
            if not best:
                break
            taken = min(wanted, candidates[best])
            overlap += best_prefix * taken
            wanted -= taken
            candidates[best] -= taken
            if not candidates[best]:
                del candidates[best]
    return overlap


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n

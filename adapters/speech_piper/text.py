"""Text preparation for speech: which language (by script) and where sentences end."""

from __future__ import annotations

import re
import unicodedata

# Unicode script (first word of the character name) → ISO 639-1 code of the language
# a voice for that script most likely speaks. Latin text uses the configured default.
_SCRIPT_LANGUAGES = {
    "CYRILLIC": "ru",
    "GREEK": "el",
    "ARABIC": "ar",
    "HEBREW": "he",
    "DEVANAGARI": "hi",
    "THAI": "th",
    "GEORGIAN": "ka",
    "ARMENIAN": "hy",
    "HANGUL": "ko",
    "HIRAGANA": "ja",
    "KATAKANA": "ja",
    "CJK": "zh",
}

_SENTENCE_END = re.compile(
    r"(?<=[.!?…。！？])\s+"  # end of sentence
    r"|(?<=[.!?…。！？][\"'”’»)\]])\s+"  # … followed by a closing quote or bracket
    r"|\s*\n\s*"  # line break: paragraphs and list items are spoken apart
)
_ABBREVIATION = re.compile(r"(?:^|\s)(?:mr|mrs|ms|dr|prof|st|sr|jr|vs|etc|e\.g|i\.e)\.$", re.I)
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
# Piper's memory and time grow with the length of one piece (~20 MB and ~0.06 s per
# second of speech), so long sentences are cut at clause ends, and at spaces when
# still too long: this bounds both the peak memory and the wait for the first audio.
SOFT_LIMIT = 120
HARD_LIMIT = 200


def detect_language(text: str, *, default: str = "en") -> str:
    """ISO 639-1 code guessed from the script most letters are written in."""
    counts: dict[str, int] = {}
    latin = 0
    for char in text:
        if not char.isalpha():
            continue
        name = unicodedata.name(char, "")
        script = name.split(" ", 1)[0]
        if script == "LATIN":
            latin += 1
        elif script in _SCRIPT_LANGUAGES:
            language = _SCRIPT_LANGUAGES[script]
            counts[language] = counts.get(language, 0) + 1
    if not counts:
        return default
    language, count = max(counts.items(), key=lambda item: item[1])
    return language if count > latin else default


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text`` in order, each short enough to synthesize quickly.

    Pieces without a letter or digit (a lone "...", emoji, markdown rules) are dropped.
    """
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        sentence = " ".join(sentence.split())
        if not any(char.isalnum() for char in sentence):
            continue  # punctuation, emoji, markup: nothing worth saying
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] = f"{sentences[-1]} {sentence}"
        else:
            sentences.append(sentence)
    return [piece for sentence in sentences for piece in _shorten(sentence)]


def _shorten(sentence: str) -> list[str]:
    if len(sentence) <= SOFT_LIMIT:
        return [sentence]
    parts: list[str] = []
    current = ""
    for clause in _CLAUSE_END.split(sentence):
        candidate = f"{current} {clause}".strip()
        if current and len(candidate) > SOFT_LIMIT:
            parts.append(current)
            current = clause
        else:
            current = candidate
    if current:
        parts.append(current)
    return [piece for part in parts for piece in _cut_at_spaces(part)]


def _cut_at_spaces(text: str) -> list[str]:
    if len(text) <= HARD_LIMIT:
        return [text]
    pieces: list[str] = []
    current = ""
    for word in text.split(" "):
        if current and len(current) + 1 + len(word) > HARD_LIMIT:
            pieces.append(current)
            current = word
        else:
            current = f"{current} {word}".strip()
    if current:
        pieces.append(current)
    return pieces

"""Test sets for evaluation: parsing JSON and JSONL into :class:`TestCase` values.

Pure functions, no I/O. Accepted shapes, one object per case:

- ``{"input": ..., "expected": ...}``
- ``{"prompt": ..., "answer": ...}`` or ``{"question": ..., "answer": ...}``
- ``{"text": ..., "label": ..., "name": ...}`` (the prototype's labelled format)

each optionally with ``"name"`` (which matches cases across runs) and ``"label"``.
What an answer is checked for:

- ``"expected": "Paris"`` — the expected answer: scored ``exact`` and ``contains``;
- ``"expected": ["Paris", "France"]`` — phrases that must **all** appear (no
  ``exact`` score for such a case); ``"require": [...]`` adds phrases the same way,
  beside an ``"expected"`` text or alone;
- ``"forbid": ["Lyon"]`` — phrases **none** of which may appear (a case may have
  only these, e.g. a question whose answer must not leak a taught fact).

``"require"`` and ``"forbid"`` also take a single text. Phrases are matched as
whole words after normalisation (see :mod:`domain.scoring`).
A file is a JSON list, a JSON object ``{"cases": [...]}``, or JSON Lines, read by
:mod:`domain.json_input` like a dataset file, with the same nesting limit.
Every error is an :class:`InvalidInput` saying exactly where: ``file:line:column``
for JSON syntax, ``file:line`` for a JSON Lines row, ``file: case N`` for an entry
of a JSON list.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from domain.errors import InvalidInput, LimitExceeded
from domain.importing import DatasetLimits
from domain.json_input import json_type, loads
from domain.models import TestCase
from domain.scoring import has_phrase
from domain.text import normalize
from domain.uploads import NotUtf8, display_name, utf8_text

_INPUT_KEYS = ("input", "prompt", "question", "text")
_EXPECTED_KEYS = ("expected", "answer")
_JSONL_SUFFIXES = (".jsonl", ".ndjson")
_DATASET_LIMITS = DatasetLimits()


@dataclass(frozen=True, slots=True)
class TestSetLimits:
    __test__ = False  # not a pytest class

    max_cases: int = 500
    max_chars: int = _DATASET_LIMITS.max_text_chars  # per field, as in a dataset
    max_bytes: int = 5 * 1024 * 1024
    max_phrases: int = 50  # required plus forbidden phrases of one case
    max_depth: int = _DATASET_LIMITS.max_depth  # JSON nesting, as in a dataset


def parse_test_cases(
    filename: str, data: bytes, *, limits: TestSetLimits | None = None
) -> list[TestCase]:
    """Parse a test set; raise :class:`InvalidInput` naming the exact place of a problem."""
    limits = limits or TestSetLimits()
    shown = display_name(filename, fallback="the file", limit=80)
    if len(data) > limits.max_bytes:
        raise LimitExceeded(
            f"{shown} is too large ({len(data):,} bytes; the limit is {limits.max_bytes:,}).",
        )
    text = _decode(shown, data)
    if not text.strip():
        raise InvalidInput(f"{shown} is empty: it holds no test cases.")
    if filename.lower().endswith(_JSONL_SUFFIXES):
        cases = _parse_jsonl(shown, text, limits)
    else:
        cases = _parse_json_or_jsonl(shown, text, limits)
    if not cases:
        raise InvalidInput(f"{shown} holds no test cases.")
    return cases


def _decode(shown: str, data: bytes) -> str:
    try:
        return utf8_text(data)
    except NotUtf8 as exc:
        raise InvalidInput(f"{shown}:{exc.line}: the file is not UTF-8 text.") from None


def _parse_json_or_jsonl(shown: str, text: str, limits: TestSetLimits) -> list[TestCase]:
    try:
        document = loads(text, max_depth=limits.max_depth)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and text.lstrip().startswith("{"):
            return _parse_jsonl(shown, text, limits)  # several objects: JSON Lines
        raise InvalidInput(
            f"{shown}:{exc.lineno}:{exc.colno}: invalid JSON ({exc.msg}).",
        ) from None
    if isinstance(document, dict) and "cases" in document:
        document = document["cases"]
        if not isinstance(document, list):
            raise InvalidInput(f'{shown}: "cases" must be a list of test cases.')
    if isinstance(document, dict):
        return [_case(document, f"{shown}:1", limits)]  # a single case (one JSON line)
    if not isinstance(document, list):
        raise InvalidInput(
            f'{shown}: expected a list of test cases or {{"cases": [...]}}, '
            f"found {json_type(document)}.",
        )
    _check_count(shown, len(document), limits)
    return [_case(item, f"{shown}: case {i}", limits) for i, item in enumerate(document, 1)]


def _parse_jsonl(shown: str, text: str, limits: TestSetLimits) -> list[TestCase]:
    cases: list[TestCase] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{shown}:{number}"
        try:
            item = loads(line, max_depth=limits.max_depth)
        except json.JSONDecodeError as exc:
            raise InvalidInput(
                f"{where}: invalid JSON at column {exc.colno} ({exc.msg}).",
            ) from None
        cases.append(_case(item, where, limits))
        _check_count(shown, len(cases), limits)
    return cases


def _check_count(shown: str, count: int, limits: TestSetLimits) -> None:
    if count > limits.max_cases:
        raise LimitExceeded(
            f"{shown} has more than {limits.max_cases:,} test cases; split it into smaller sets.",
        )


def _case(item: object, where: str, limits: TestSetLimits) -> TestCase:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where}: a test case must be an object, found {json_type(item)}.")
    input_key = next((k for k in _INPUT_KEYS if k in item), None)
    if input_key is None:
        raise InvalidInput(
            f'{where}: the case has no input; give "input" (or "prompt", "question", "text").',
        )
    text = _text(item, input_key, where, limits)
    if not text or not text.strip():
        raise InvalidInput(f'{where}: "{input_key}" is empty.')
    expected: str | None = None
    require: list[str] = []
    expected_key = next((k for k in _EXPECTED_KEYS if k in item), None)
    if expected_key is not None and isinstance(item[expected_key], list):
        require = _phrases(item, expected_key, where, limits)  # every one must appear
    elif expected_key is not None:
        expected = _text(item, expected_key, where, limits)
    require += _phrases(item, "require", where, limits)
    forbid = _phrases(item, "forbid", where, limits)
    label = _text(item, "label", where, limits)
    for key, value in ((expected_key, expected), ("label", label)):
        if value is not None and not value.strip():
            raise InvalidInput(f'{where}: "{key}" is empty.')
    if expected is not None and not normalize(expected):
        raise InvalidInput(f'{where}: "{expected_key}" has no letters or digits to look for.')
    if expected is None and label is None and not require and not forbid:
        raise InvalidInput(
            f'{where}: the case has nothing to check; give "expected" (or "answer"), '
            '"require", "forbid" or "label".',
        )
    required = _unique([expected, *require] if expected is not None else require)
    forbid = _unique(forbid)
    if len(required) + len(forbid) > limits.max_phrases:
        raise LimitExceeded(
            f"{where}: the case has more than {limits.max_phrases} required and forbidden phrases.",
        )
    _check_satisfiable(where, [*required, *([label] if label is not None else [])], forbid)
    return TestCase(
        input=text,
        expected=expected,
        label=label,
        name=_text(item, "name", where, limits) or None,
        require=tuple(required[1:] if expected is not None else required),
        forbid=tuple(forbid),
    )


def _phrases(item: Mapping[str, object], key: str, where: str, limits: TestSetLimits) -> list[str]:
    """``item[key]`` as a list of phrases: one text or a non-empty list of texts."""
    value = item.get(key)
    if value is None:
        return []
    values = value if isinstance(value, list) else [value]
    if not values:
        raise InvalidInput(f'{where}: "{key}" is an empty list; give at least one phrase.')
    phrases = []
    for number, phrase in enumerate(values, 1):
        shown = f'"{key}" item {number}' if isinstance(value, list) else f'"{key}"'
        if isinstance(phrase, bool) or not isinstance(phrase, str | int | float):
            raise InvalidInput(f"{where}: {shown} must be text, found {json_type(phrase)}.")
        text = str(phrase)
        if len(text) > limits.max_chars:
            raise LimitExceeded(f"{where}: {shown} is longer than {limits.max_chars:,} characters.")
        if not normalize(text):
            raise InvalidInput(f"{where}: {shown} has no letters or digits to look for.")
        phrases.append(text)
    return phrases


def _unique(phrases: list[str]) -> list[str]:
    """The phrases without repeats (compared as they are matched), in order."""
    seen: set[str] = set()
    kept = []
    for phrase in phrases:
        if normalize(phrase) not in seen:
            seen.add(normalize(phrase))
            kept.append(phrase)
    return kept


def _check_satisfiable(where: str, required: list[str], forbid: list[str]) -> None:
    """Refuse a case no answer can pass: a required phrase holding a forbidden one."""
    for needed in required:
        for banned in forbid:
            if has_phrase(needed, banned):
                raise InvalidInput(
                    f"{where}: no answer can pass: the required {needed!r} "
                    f"contains the forbidden {banned!r}.",
                )


def _text(item: Mapping[str, object], key: str, where: str, limits: TestSetLimits) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f'{where}: "{key}" must be text, found {json_type(value)}.')
    text = str(value)
    if len(text) > limits.max_chars:
        raise LimitExceeded(
            f'{where}: "{key}" is longer than {limits.max_chars:,} characters.',
        )
    return text

"""JSON that people upload, datasets and test sets alike: one reader, one depth limit.

``json.loads`` fails in three ways that are not ``JSONDecodeError``: a document
nested deeper than the interpreter's recursion limit (``RecursionError``), an
integer with more digits than Python converts (``ValueError``), and — within the
recursion limit — nesting no record ever needs. :func:`loads` and
:func:`decode_at` turn all three into ``json.JSONDecodeError`` with a short
message and the position where it happens, so every reader reports them as it
reports a syntax error: ``file:line:column: invalid JSON (nested too deeply)``.
"""

from __future__ import annotations

import json
import re

MAX_DEPTH = 32  # a record is three levels deep: {"messages": [{"role": …}]}
TOO_DEEP = "nested too deeply"
NUMBER_TOO_LONG = "a number is too long"

_DECODER = json.JSONDecoder()
_SPACE = re.compile(r"[ \t\n\r]*")
_STRUCTURE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_LONG_NUMBER = re.compile(r"[0-9]{1000,}")


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> object:
    """The one JSON value in ``text``; ``json.JSONDecodeError`` for anything wrong."""
    value, end = decode_at(text, _skip_space(text, 0), max_depth=max_depth)
    end = _skip_space(text, end)
    if end != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def decode_at(text: str, pos: int, *, max_depth: int = MAX_DEPTH) -> tuple[object, int]:
    """The JSON value starting at ``pos`` and where it ends (``JSONDecoder.raw_decode``)."""
    try:
        value, end = _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise json.JSONDecodeError(TOO_DEEP, text, _too_deep_at(text, pos, max_depth)) from None
    except json.JSONDecodeError:
        raise
    except ValueError:  # int() refuses more than sys.get_int_max_str_digits() digits
        found = _LONG_NUMBER.search(text, pos)
        raise json.JSONDecodeError(NUMBER_TOO_LONG, text, found.start() if found else pos) from None
    if _deeper_than(value, max_depth):
        raise json.JSONDecodeError(TOO_DEEP, text, _too_deep_at(text, pos, max_depth))
    return value, end


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _deeper_than(value: object, max_depth: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: list[object] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _too_deep_at(text: str, pos: int, max_depth: int) -> int:
    """Where the bracket one level too deep opens (``pos`` if it cannot be found)."""
    depth = 0
    for match in _STRUCTURE.finditer(text, pos):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > max_depth:
                return match.start()
        elif token in ("]", "}"):
            depth -= 1
            if depth <= 0:
                break
    return pos


def json_type(value: object) -> str:
    """What a JSON value is, as a message names it: ``must be text, found a list``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "something else"

"""Readers for one decoded file: JSONL, a JSON list, CSV/TSV and plain text.

Each reader adds examples and problems to a :class:`Collector`; a problem is
``file:line: what`` (``file:line:column`` for JSON syntax errors).
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import replace

from domain.importing.problems import Collector, RowError
from domain.importing.records import ANSWER_KEYS, EXTRA_KEYS, PROMPT_KEYS, example_from_record
from domain.json_input import decode_at, loads
from domain.uploads import NotUtf8, utf8_text

Reader = Callable[[str, str, Collector], None]

_JSON_SPACE = re.compile(r"[ \t\n\r]*")
_QUESTION = re.compile(r"\s*Q\s*:\s?", re.IGNORECASE)
_ANSWER = re.compile(r"\s*A\s*:\s?", re.IGNORECASE)


def decode(name: str, data: bytes, sink: Collector) -> str | None:
    """UTF-8 text (a BOM is dropped), or a problem saying where the bad byte is."""
    try:
        return utf8_text(data)
    except NotUtf8 as exc:
        sink.problem(f"{name}:{exc.line}", "not UTF-8 text; save the file as UTF-8 and try again")
        return None


def _record(where: str, record: object, sink: Collector) -> None:
    try:
        example = example_from_record(record, max_chars=sink.limits.max_text_chars)
    except RowError as exc:
        sink.problem(where, exc.what)
        return
    sink.add(replace(example, where=where))


def read_jsonl(name: str, text: str, sink: Collector) -> None:
    """One JSON object per line; blank lines are skipped. Lines end at ``\\n`` only."""
    for number, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            record = loads(line, max_depth=sink.limits.max_depth)
        except json.JSONDecodeError as exc:
            sink.problem(f"{name}:{number}:{exc.colno}", f"invalid JSON: {exc.msg}")
            continue
        _record(f"{name}:{number}", record, sink)


def read_json(name: str, text: str, sink: Collector) -> None:
    """A JSON list of records (each reported at the line where it starts).

    A file starting with ``{`` holds one object, or one object per line (JSONL).
    """
    start = _JSON_SPACE.match(text)
    pos = start.end() if start else 0
    if text.startswith("{", pos):
        try:
            record = loads(text, max_depth=sink.limits.max_depth)
        except json.JSONDecodeError:
            read_jsonl(name, text, sink)  # JSON lines saved as .json
            return
        _record(f"{name}:{text.count(chr(10), 0, pos) + 1}", record, sink)
        return
    if not text.startswith("[", pos):
        line = text.count("\n", 0, pos) + 1
        sink.problem(f"{name}:{line}", "expected a JSON list of records: [{...}, {...}]")
        return
    _read_list(name, text, pos + 1, sink)


def _read_list(name: str, text: str, pos: int, sink: Collector) -> None:
    line, counted = 1, 0

    def line_at(at: int) -> int:
        nonlocal line, counted
        line += text.count("\n", counted, at)
        counted = at
        return line

    def skip(at: int) -> int:
        match = _JSON_SPACE.match(text, at)
        return match.end() if match else at

    pos = skip(pos)
    if text.startswith("]", pos):
        pos = skip(pos + 1)
    else:
        while True:
            try:
                # depth counts from the document, as for a test set: the list is one level
                record, end = decode_at(text, pos, max_depth=sink.limits.max_depth - 1)
            except json.JSONDecodeError as exc:
                sink.problem(f"{name}:{exc.lineno}:{exc.colno}", f"invalid JSON: {exc.msg}")
                return
            _record(f"{name}:{line_at(pos)}", record, sink)
            pos = skip(end)
            if text.startswith(",", pos):
                pos = skip(pos + 1)
                continue
            if text.startswith("]", pos):
                pos = skip(pos + 1)
                break
            where = f"{name}:{line_at(pos)}:{pos - text.rfind(chr(10), 0, pos)}"
            sink.problem(where, "invalid JSON: expected ',' or ']' after a record")
            return
    if pos < len(text):
        sink.problem(f"{name}:{line_at(pos)}", "unexpected text after the closing ']'")


def _column_index(header: list[str]) -> tuple[dict[str, int], str | None]:
    """Known columns by their lower-cased names, or what is wrong with the header."""
    columns: dict[str, int] = {}
    for i, title in enumerate(header):
        key = title.strip().casefold()
        if key in columns:
            return {}, f"the column {title.strip()!r} appears twice"
        columns[key] = i
    if not any(k in columns for k in PROMPT_KEYS):
        return {}, "no prompt column: name one prompt, question, input or text"
    if not any(k in columns for k in (*ANSWER_KEYS, "label")):
        return {}, "no answer column: name one answer, completion, output, response or label"
    known = (*PROMPT_KEYS, *ANSWER_KEYS, *EXTRA_KEYS)
    return {k: i for k, i in columns.items() if k in known}, None


def read_csv(name: str, text: str, sink: Collector, *, delimiter: str = ",") -> None:
    """A header row naming the columns (any case), then one example per row."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    columns: dict[str, int] | None = None
    width = 0
    while True:
        line = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            what = "a field is too long" if "field larger" in str(exc) else "malformed CSV"
            sink.problem(f"{name}:{line}", f"{what} (check the quotes); reading stopped here")
            return
        if not any(cell.strip() for cell in row):
            continue
        if columns is None:
            columns, wrong = _column_index(row)
            if wrong is not None:
                sink.problem(f"{name}:{line}", wrong)
                return
            width = len(row)
            continue
        extra = row[width:]
        if len(row) < width or any(cell.strip() for cell in extra):
            sink.problem(f"{name}:{line}", f"expected {width} columns, found {len(row)}")
            continue
        record = {k: _lines(row[i]) for k, i in columns.items() if row[i].strip()}
        for key in PROMPT_KEYS + ANSWER_KEYS:  # an empty required cell is an error
            if key in columns and key not in record:
                record[key] = ""
        _record(f"{name}:{line}", record, sink)
    if columns is None:
        sink.problem(name, "no header row")


def _lines(cell: str) -> str:
    """Line breaks inside a quoted cell become ``\n`` whatever wrote the file."""
    return cell.replace("\r\n", "\n").replace("\r", "\n")


def read_tsv(name: str, text: str, sink: Collector) -> None:
    read_csv(name, text, sink, delimiter="\t")


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[tuple[int, list[str]]] = []
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip()
        if not line:
            blocks.append((0, []))
        elif blocks and blocks[-1][1]:
            blocks[-1][1].append(line)
        else:
            blocks.append((number, [line]))
    return [(start, block) for start, block in blocks if block]


def read_txt(name: str, text: str, sink: Collector) -> None:
    """Blocks separated by blank lines; see docs/datasets.md for the exact rule."""
    for start, block in _blocks(text):
        if _QUESTION.match(block[0]):
            _read_qa(name, start, block, sink)
        elif len(block) < 2:
            sink.problem(
                f"{name}:{start}",
                "a block needs a question line followed by answer lines (or Q:/A: lines)",
            )
        else:
            _record(f"{name}:{start}", {"prompt": block[0], "answer": "\n".join(block[1:])}, sink)


def _read_qa(name: str, start: int, block: list[str], sink: Collector) -> None:
    """``Q: …`` lines then ``A: …`` lines; a new ``Q:`` starts the next pair."""
    pairs: list[tuple[int, list[str], list[str] | None]] = []
    for offset, line in enumerate(block):
        if q := _QUESTION.match(line):
            pairs.append((start + offset, [line[q.end() :]], None))
        elif a := _ANSWER.match(line):
            at, question, answer = pairs[-1]
            if answer is not None:
                sink.problem(f"{name}:{start + offset}", "a second 'A:' for one question")
                return
            pairs[-1] = (at, question, [line[a.end() :]])
        else:
            at, question, answer = pairs[-1]
            (question if answer is None else answer).append(line)
    for at, question, answer in pairs:
        if answer is None:
            sink.problem(f"{name}:{at}", "a 'Q:' without an 'A:' line after it")
            continue
        record = {"prompt": "\n".join(question), "answer": "\n".join(answer)}
        _record(f"{name}:{at}", record, sink)


READERS: dict[str, Reader] = {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".tsv": read_tsv,
    ".txt": read_txt,
}


def sniff(text: str) -> Reader:
    """The reader for a file without a known extension, by its first characters."""
    start = _JSON_SPACE.match(text)
    head = text[start.end() if start else 0 :]
    if head.startswith("["):
        return read_json
    if head.startswith("{"):
        return read_jsonl
    first = head.split("\n", 1)[0].casefold()
    cells = {c.strip().strip('"') for c in first.split(",")}
    if cells & set(PROMPT_KEYS) and cells & {*ANSWER_KEYS, "label"}:
        return read_csv
    return read_txt

"""Parsing uploaded dataset files into examples: pure functions, CPU work.

:func:`parse_import` detects the format by the file's extension (by its content
when it has none), reads every record, and returns the examples — or raises
:class:`~domain.errors.InvalidInput` listing each bad row as ``file:line: what``
(:class:`~domain.errors.LimitExceeded` when a limit is crossed). Nothing is
returned half-read. Formats are described in ``docs/datasets.md``.
"""

from __future__ import annotations

import posixpath

from domain.errors import LimitExceeded
from domain.importing.archive import is_zip, read_members
from domain.importing.formats import READERS, decode, sniff
from domain.importing.limits import DatasetLimits, size_text
from domain.importing.problems import Collector, ParsedExample, ParsedImport
from domain.uploads import display_name

__all__ = [
    "DatasetLimits",
    "ParsedExample",
    "ParsedImport",
    "display_name",
    "parse_import",
]

SUPPORTED = ".jsonl, .ndjson, .json, .csv, .tsv, .txt or .zip"


def _extension(name: str) -> str:
    return posixpath.splitext(name)[1].casefold()


def parse_import(
    filename: str, data: bytes, *, limits: DatasetLimits, existing: int = 0
) -> ParsedImport:
    """Every example in ``data`` (a file named ``filename``); all or an error.

    ``existing`` is how many examples the target dataset already holds: the
    example limit counts them.
    """
    name = display_name(filename)
    if len(data) > limits.max_file_bytes:
        raise LimitExceeded(
            f"{name} is {size_text(len(data))}; the limit is "
            f"{size_text(limits.max_file_bytes)}. Nothing was imported.",
            limit=limits.max_file_bytes,
        )
    sink = Collector(limits, existing=existing)
    if _extension(name) == ".zip" or is_zip(data):
        for member, content in read_members(name, data, limits):
            _parse_file(f"{name}/{member}", content, sink, in_archive=True)
        if not sink.files and not sink.problem_count:
            sink.problem(name, "the archive holds no files to import")
    else:
        _parse_file(name, data, sink, in_archive=False)
    return sink.finish(name)


def _parse_file(name: str, data: bytes, sink: Collector, *, in_archive: bool) -> None:
    extension = _extension(name)
    if in_archive and (extension == ".zip" or is_zip(data)):
        sink.problem(name, "archives inside an archive are not supported")
        return
    reader = READERS.get(extension)
    if reader is None and extension:
        sink.problem(name, f"unsupported file type {extension!r}: use {SUPPORTED}")
        return
    text = decode(name, data, sink)
    if text is None:
        return
    sink.files.append(name)
    (reader or sniff(text))(name, text, sink)

"""What an import found: its examples, and every problem named by file and line."""

from __future__ import annotations

from dataclasses import dataclass

from domain.errors import InvalidInput, LimitExceeded
from domain.importing.limits import DatasetLimits
from domain.models import ChatMessage

MAX_SHOWN = 10  # problems listed in the message; the rest are counted


@dataclass(frozen=True, slots=True)
class ParsedExample:
    """One example read from a file, before it belongs to a dataset."""

    messages: tuple[ChatMessage, ...]  # the input, ending with the user's message
    answer: str
    rejected: str | None = None
    label: str | None = None
    name: str | None = None
    where: str = ""  # "file:line"

    @property
    def prompt(self) -> str:
        return self.messages[-1].content if self.messages else ""


@dataclass(frozen=True, slots=True)
class ParsedImport:
    examples: tuple[ParsedExample, ...]
    files: tuple[str, ...]  # the files read (members of a zip by their path in it)


class RowError(Exception):
    """One thing wrong with one record; becomes ``file:line: what``."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class Collector:
    """Gathers examples and problems across every file of one import."""

    def __init__(self, limits: DatasetLimits, *, existing: int = 0) -> None:
        self.limits = limits
        self.existing = existing
        self.room = max(0, limits.max_examples - existing)
        self.examples: list[ParsedExample] = []
        self.files: list[str] = []
        self.problems: list[str] = []
        self.problem_count = 0

    def problem(self, where: str, what: str) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_SHOWN:
            self.problems.append(f"{where}: {what}")

    def add(self, example: ParsedExample) -> None:
        if len(self.examples) >= self.room:
            raise self._too_many()
        self.examples.append(example)

    def _too_many(self) -> LimitExceeded:
        limit = self.limits.max_examples
        if self.existing:
            message = (
                f"Too many examples: the dataset already holds {self.existing:,} and a "
                f"dataset holds at most {limit:,}, so this import may add {self.room:,} "
                "at most; it holds more. Nothing was imported."
            )
        else:
            message = (
                f"Too many examples: a dataset holds at most {limit:,} and this import "
                "holds more. Nothing was imported."
            )
        return LimitExceeded(message, limit=limit, existing=self.existing)

    def finish(self, filename: str) -> ParsedImport:
        if self.problem_count:
            noun = "problem" if self.problem_count == 1 else "problems"
            lines = [f"Nothing was imported: {self.problem_count:,} {noun} found.", *self.problems]
            if self.problem_count > len(self.problems):
                lines.append(f"…and {self.problem_count - len(self.problems):,} more.")
            raise InvalidInput("\n".join(lines), problems=tuple(self.problems))
        if not self.examples:
            raise InvalidInput(f"{filename}: no examples found. Nothing was imported.")
        return ParsedImport(examples=tuple(self.examples), files=tuple(self.files))

"""Datasets: create, list, show, add, import, select, export and archive.

Reading (``all``, ``show``, ``selected``) is open to everyone; everything that
changes a dataset or writes a file is for trainers. Parsing and building files
is CPU work and runs through the injected ``offload``; an import writes all its
examples in one unit of work, or nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

import structlog

from domain.errors import (
    AlreadyExists,
    Conflict,
    InvalidInput,
    LimitExceeded,
    NotFound,
    PermissionDenied,
)
from domain.exporting import ExportFormat, artifact_name, build_archive, write
from domain.importing import (
    DatasetLimits,
    ParsedExample,
    ParsedImport,
    display_name,
    parse_import,
)
from domain.importing.problems import RowError
from domain.importing.records import text_field
from domain.models import (
    Actor,
    Artifact,
    ChatMessage,
    Dataset,
    Example,
    ExampleSource,
    Provenance,
    Removal,
    Role,
    new_id,
    utcnow,
)
from domain.ports import ArtifactStore, Offload, UnitOfWork, UnitOfWorkFactory
from domain.services.models import ACTIVE_KEY

__all__ = [
    "SELECTED_KEY",
    "DatasetLimits",
    "DatasetService",
    "DatasetView",
    "ExportFormat",
    "ImportReport",
    "Removed",
    "normalize_dataset_name",
]

log = structlog.get_logger()

SELECTED_KEY = "selected_dataset"
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")


def normalize_dataset_name(name: str) -> str:
    """Case-folded and stripped; ``InvalidInput`` unless it is a valid dataset name."""
    folded = name.strip().casefold() if isinstance(name, str) else ""
    if not _NAME.fullmatch(folded):
        raise InvalidInput(
            "Dataset names use lowercase letters, digits, '-' and '_', start with a letter "
            "or digit and have at most 64 characters.",
        )
    return folded


@dataclass(frozen=True, slots=True)
class DatasetView:
    dataset: Dataset
    examples: tuple[Example, ...]


@dataclass(frozen=True, slots=True)
class Removed:
    example: Example
    # the active version when it was trained on the example: retrain to drop it there
    active_version: str | None = None


@dataclass(frozen=True, slots=True)
class ImportReport:
    dataset: Dataset
    added: int
    files: tuple[str, ...]


def _require_trainer(actor: Actor, doing: str) -> None:
    if not actor.is_trainer:
        raise PermissionDenied(f"Only trainers can {doing}.")


class DatasetService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        artifacts: ArtifactStore,
        offload: Offload,
        limits: DatasetLimits | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._uow = uow
        self._artifacts = artifacts
        self._offload = offload
        self._limits = limits or DatasetLimits()
        self._clock = clock

    @property
    def limits(self) -> DatasetLimits:
        return self._limits

    # ------------------------------------------------------------------ reading

    async def all(self) -> list[Dataset]:
        async with self._uow() as uow:
            return await uow.datasets.all()

    async def get(self, name: str) -> Dataset:
        key = normalize_dataset_name(name)
        async with self._uow() as uow:
            return await self._existing(uow, key)

    async def show(self, name: str, *, limit: int = 5, offset: int = 0) -> DatasetView:
        key = normalize_dataset_name(name)
        async with self._uow() as uow:
            dataset = await self._existing(uow, key)
            examples = await uow.datasets.examples(key, offset=max(0, offset), limit=max(0, limit))
        return DatasetView(dataset=dataset, examples=tuple(examples))

    async def selected(self) -> Dataset | None:
        async with self._uow() as uow:
            key = await uow.state.get(SELECTED_KEY)
            return None if key is None else await uow.datasets.get(key)

    # ------------------------------------------------------------------ changing

    async def create(self, name: str, actor: Actor, description: str = "") -> Dataset:
        _require_trainer(actor, "create datasets")
        key = normalize_dataset_name(name)
        description = self._checked(description, "the description", required=False) or ""
        async with self._uow() as uow:
            if await uow.datasets.get(key) is not None:
                raise AlreadyExists(f"A dataset named {key!r} already exists.")
            dataset = Dataset(name=key, created_at=self._clock(), description=description)
            await uow.datasets.add(dataset)
            await uow.commit()
        log.info("dataset_created", dataset=key, actor_id=actor.id)
        return dataset

    async def add_example(
        self,
        name: str,
        actor: Actor,
        *,
        prompt: str,
        answer: str,
        rejected: str | None = None,
        label: str | None = None,
        system: str | None = None,
    ) -> Example:
        _require_trainer(actor, "add examples to datasets")
        key = normalize_dataset_name(name)
        messages = [ChatMessage(Role.USER, self._checked(prompt, "the prompt") or "")]
        if system_text := self._checked(system, "the system prompt", required=False):
            messages.insert(0, ChatMessage(Role.SYSTEM, system_text))
        example = Example(
            id=new_id(),
            dataset=key,
            messages=tuple(messages),
            answer=self._checked(answer, "the answer") or "",
            source=ExampleSource.MANUAL,
            created_at=self._clock(),
            rejected=self._checked(rejected, "the rejected answer", required=False),
            label=self._checked(label, "the label", required=False),
            provenance=Provenance(
                origin=ExampleSource.MANUAL,
                detail="added by hand",
                approved_by=actor,
                approved_at=self._clock(),
            ),
        )
        async with self._uow() as uow:
            dataset = await self._existing(uow, key)
            if dataset.example_count >= self._limits.max_examples:
                raise LimitExceeded(
                    f"The dataset {key!r} is full: a dataset holds at most "
                    f"{self._limits.max_examples:,} examples.",
                    limit=self._limits.max_examples,
                )
            await uow.datasets.add_examples([example])
            await uow.commit()
        log.info("dataset_example_added", dataset=key, actor_id=actor.id)
        return example

    async def import_file(
        self, name: str, actor: Actor, *, filename: str, data: bytes, create: bool = True
    ) -> ImportReport:
        _require_trainer(actor, "import datasets")
        key = normalize_dataset_name(name)
        async with self._uow() as uow:
            current = await uow.datasets.get(key)
        if current is None and not create:
            raise self._not_found(key)
        existing = current.example_count if current else 0
        limits = self._limits
        now = self._clock()

        def parse() -> tuple[ParsedImport, list[Example]]:
            parsed = parse_import(filename, data, limits=limits, existing=existing)
            return parsed, [_example(key, p, now, actor) for p in parsed.examples]

        parsed, examples = await self._offload(parse)
        async with self._uow() as uow:
            dataset = await uow.datasets.get(key)
            if dataset is None:
                if not create:
                    raise self._not_found(key)
                await uow.datasets.add(Dataset(name=key, created_at=now))
            held = dataset.example_count if dataset else 0
            if held + len(examples) > limits.max_examples:
                raise LimitExceeded(
                    f"Too many examples: {key!r} holds {held:,}, this import adds "
                    f"{len(examples):,}, and a dataset holds at most {limits.max_examples:,}. "
                    "Nothing was imported.",
                    limit=limits.max_examples,
                )
            await uow.datasets.add_examples(examples)
            result = await uow.datasets.get(key)
            await uow.commit()
        assert result is not None
        log.info(
            "dataset_imported",
            dataset=key,
            actor_id=actor.id,
            added=len(examples),
            files=len(parsed.files),
            upload=display_name(filename),
        )
        return ImportReport(dataset=result, added=len(examples), files=parsed.files)

    async def remove_example(self, ref: str, actor: Actor) -> Removed:
        """Take an example out of its dataset: kept as removed (who, when), never in a
        snapshot or export again. Says whether the active version was trained on it."""
        _require_trainer(actor, "remove examples")
        async with self._uow() as uow:
            example = await _find_example(uow, ref)
            if example.removed is not None:
                raise Conflict(
                    f"That example was already removed by {example.removed.by.name} "
                    f"on {example.removed.at:%Y-%m-%d %H:%M} UTC."
                )
            removal = Removal(by=actor, at=self._clock())
            await uow.datasets.remove_example(example.id, removal)
            active = await uow.models.get(await uow.state.get(ACTIVE_KEY) or "")
            trained = bool(
                active and active.job_id and await uow.jobs.snapshot_has(active.job_id, example.id)
            )
            await uow.commit()
        log.info(
            "dataset_example_removed",
            dataset=example.dataset,
            example_id=example.id,
            active=trained,
        )
        return Removed(
            replace(example, removed=removal),
            active_version=active.name if trained and active else None,
        )

    async def select(self, name: str, actor: Actor) -> Dataset:
        _require_trainer(actor, "select the dataset")
        key = normalize_dataset_name(name)
        async with self._uow() as uow:
            dataset = await self._existing(uow, key)
            await uow.state.set(SELECTED_KEY, key)
            await uow.commit()
        log.info("dataset_selected", dataset=key, actor_id=actor.id)
        return dataset

    # ------------------------------------------------------------------ files

    async def export(self, name: str, actor: Actor, *, fmt: ExportFormat | str) -> Artifact:
        _require_trainer(actor, "export datasets")
        try:
            fmt = ExportFormat(fmt)
        except ValueError:
            raise InvalidInput(
                "Export as 'sft' (chat fine-tuning) or 'dpo' (preferences)."
            ) from None
        dataset, examples = await self._load(name, "export")
        result = await self._offload(lambda: write(fmt, examples))
        if not result.count:
            raise InvalidInput(
                f"The dataset {dataset.name!r} has no preference pairs (examples with a "
                "rejected answer), so there is nothing to export as DPO. Corrections make "
                "such pairs."
            )
        at = self._clock()
        stored = await self._store(artifact_name(dataset.name, fmt.value, at, "jsonl"), result.data)
        log.info(
            "dataset_exported",
            dataset=dataset.name,
            fmt=fmt.value,
            records=result.count,
            artifact=stored.name,
            actor_id=actor.id,
        )
        return stored

    async def archive(self, name: str, actor: Actor) -> Artifact:
        _require_trainer(actor, "archive datasets")
        dataset, examples = await self._load(name, "archive")
        at = self._clock()
        data = await self._offload(lambda: build_archive(dataset, examples, created_at=at))
        stored = await self._store(artifact_name(dataset.name, "archive", at, "zip"), data)
        log.info(
            "dataset_archived",
            dataset=dataset.name,
            examples=len(examples),
            artifact=stored.name,
            actor_id=actor.id,
        )
        return stored

    # ------------------------------------------------------------------ helpers

    async def _load(self, name: str, doing: str) -> tuple[Dataset, Sequence[Example]]:
        key = normalize_dataset_name(name)
        async with self._uow() as uow:
            dataset = await self._existing(uow, key)
            examples = await uow.datasets.examples(key)
        if not examples:
            raise InvalidInput(f"The dataset {key!r} has no examples to {doing}.")
        return dataset, tuple(examples)

    async def _store(self, name: str, data: bytes) -> Artifact:
        """Write under ``name``, or ``name`` with ``-2``, ``-3``… if that is taken."""
        stem, dot, extension = name.rpartition(".")
        candidate = name
        for n in range(2, 100):
            if not await self._artifacts.exists(candidate):
                break
            candidate = f"{stem}-{n}{dot}{extension}"
        return await self._artifacts.write(candidate, data)

    async def _existing(self, uow: UnitOfWork, key: str) -> Dataset:
        dataset = await uow.datasets.get(key)
        if dataset is None:
            raise self._not_found(key)
        return dataset

    @staticmethod
    def _not_found(key: str) -> NotFound:
        return NotFound(f"There is no dataset named {key!r}.")

    def _checked(self, value: str | None, what: str, *, required: bool = True) -> str | None:
        try:
            return text_field(value, what, self._limits.max_text_chars, required=required)
        except RowError as exc:
            message = exc.what[0].upper() + exc.what[1:]
            raise InvalidInput(f"{message}.") from None


def _example(dataset: str, parsed: ParsedExample, at: datetime, actor: Actor) -> Example:
    where, _, line = parsed.where.rpartition(":")
    detail = f"{where} line {line}" if where and line.isdigit() else parsed.where
    return Example(
        id=new_id(),
        dataset=dataset,
        messages=parsed.messages,
        answer=parsed.answer,
        source=ExampleSource.IMPORT,
        created_at=at,
        rejected=parsed.rejected,
        label=parsed.label,
        name=parsed.name,
        provenance=Provenance(
            origin=ExampleSource.IMPORT,
            detail=f"imported from {detail}" if detail else "imported",
            approved_by=actor,
            approved_at=at,
        ),
    )


async def _find_example(uow: UnitOfWork, ref: str) -> Example:
    """An example by its id or the start of it (as ``dataset show`` prints it)."""
    key = ref.strip().lower()
    if key and all(c in "0123456789abcdef" for c in key):
        found = await uow.datasets.example(key)
        if found is None:
            ids = await uow.datasets.example_ids_with_prefix(key, limit=2)
            if len(ids) > 1:
                raise InvalidInput("More than one example starts with that: give more of the id.")
            found = await uow.datasets.example(ids[0]) if ids else None
        if found is not None:
            return found
    raise NotFound("There is no example with that id: `dataset show` lists them.", ref=key[:40])

"""Domain objects to row dictionaries and back: the only place that knows both.

A dataclass field is stored in the column of the same name (``params_of``) and read
back from it (``dataclass_of``). Only the fields whose stored form differs are
written out, per table: enums (their value), JSON documents, and nested objects
spread over several columns (an ``Actor`` as ``<role>_id``, ``<role>_name``,
``<role>_is_trainer``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from datetime import datetime
from typing import Any, TypeVar

from domain.models import (
    Actor,
    CaseResult,
    ChatMessage,
    Correction,
    Dataset,
    Ending,
    EvalRun,
    EvalScores,
    EvalStatus,
    Example,
    ExampleSource,
    Feedback,
    JobOwner,
    JobStatus,
    ModelVersion,
    Place,
    Prediction,
    Proposal,
    ProposalKind,
    ProposalStatus,
    Provenance,
    Rating,
    Removal,
    Role,
    TestCase,
    TrainingJob,
    Usage,
)

Row = Any  # a SQLAlchemy Row: ``row._mapping`` reads columns by name
Columns = Mapping[str, Any]  # a row's columns by name
Params = dict[str, Any]
D = TypeVar("D")


_FIELD_NAMES: dict[tuple[type, tuple[str, ...]], tuple[str, ...]] = {}


def _field_names(cls: type, but: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names of the dataclass's fields, those in ``but`` left out."""
    names = _FIELD_NAMES.get((cls, but))
    if names is None:
        names = tuple(f.name for f in fields(cls) if f.name not in but)
        _FIELD_NAMES[cls, but] = names
    return names


def params_of(obj: Any, **stored: Callable[[Any], Params]) -> Params:
    """Row parameters for a dataclass: each field as the column of the same name; a
    field named in ``stored`` as the columns its function makes of the field's value."""
    params: Params = {name: getattr(obj, name) for name in _field_names(type(obj), tuple(stored))}
    for name, columns_of in stored.items():
        params.update(columns_of(getattr(obj, name)))
    return params


def dataclass_of(cls: type[D], row: Row, **read: Callable[[Columns], Any]) -> D:
    """A dataclass from a row: each field from the column of the same name; a field
    named in ``read`` from what its function makes of the row's columns."""
    columns: Columns = row._mapping
    values = {name: columns[name] for name in _field_names(cls, tuple(read))}
    for name, field_of in read.items():
        values[name] = field_of(columns)
    return cls(**values)


# --------------------------------------------------------------------------- parts


def actor_params(role: str, actor: Actor) -> Params:
    return {
        f"{role}_id": actor.id,
        f"{role}_name": actor.name,
        f"{role}_is_trainer": actor.is_trainer,
    }


def actor_of(columns: Columns, role: str) -> Actor:
    return Actor(columns[f"{role}_id"], columns[f"{role}_name"], columns[f"{role}_is_trainer"])


def messages_json(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content} for m in messages]


_ROLES = {role.value: role for role in Role}


def messages_of(data: Sequence[Mapping[str, str]]) -> tuple[ChatMessage, ...]:
    return tuple([ChatMessage(_ROLES[d["role"]], d["content"]) for d in data])


def owner_params(owner: JobOwner | None) -> Params:
    return {
        "owner_host": owner.host if owner else None,
        "owner_pid": owner.pid if owner else None,
        "owner_token": owner.token if owner else None,
    }


def owner_of(columns: Columns) -> JobOwner | None:
    if columns["owner_token"] is None:
        return None
    return JobOwner(columns["owner_host"] or "", columns["owner_pid"] or 0, columns["owner_token"])


# --------------------------------------------------------------------------- predictions


def prediction_params(p: Prediction) -> Params:
    return params_of(
        p,
        context=lambda context: {"context": messages_json(context)},
        usage=lambda u: {
            "prompt_tokens": u.prompt_tokens,
            "completion_tokens": u.completion_tokens,
        },
        author=lambda author: actor_params("author", author),
        place=lambda place: {
            "place_conversation_id": place.conversation_id,
            "guild_id": place.guild_id,
            "channel_id": place.channel_id,
            "thread_id": place.thread_id,
        },
        ending=lambda ending: {"ending": ending.value},
    )


def prediction_of(r: Row) -> Prediction:
    return dataclass_of(
        Prediction,
        r,
        context=lambda c: messages_of(c["context"]),
        usage=lambda c: Usage(c["prompt_tokens"], c["completion_tokens"]),
        author=lambda c: actor_of(c, "author"),
        place=lambda c: Place(
            c["place_conversation_id"], c["guild_id"], c["channel_id"], c["thread_id"]
        ),
        ending=lambda c: Ending(c["ending"]),
    )


# --------------------------------------------------------------------------- feedback


def feedback_params(f: Feedback) -> Params:
    return params_of(
        f,
        author=lambda author: actor_params("author", author),
        rating=lambda rating: {"rating": None if rating is None else int(rating)},
    )


def feedback_of(r: Row) -> Feedback:
    return dataclass_of(
        Feedback,
        r,
        author=lambda c: actor_of(c, "author"),
        rating=lambda c: None if c["rating"] is None else Rating(c["rating"]),
    )


def correction_params(c: Correction) -> Params:
    return params_of(c, author=lambda author: actor_params("author", author))


def correction_of(r: Row) -> Correction:
    return dataclass_of(Correction, r, author=lambda c: actor_of(c, "author"))


# --------------------------------------------------------------------------- datasets


def dataset_params(d: Dataset) -> Params:
    """A new dataset starts empty: the counters are kept by ``add_examples``."""
    return params_of(
        d,
        example_count=lambda _: {"example_count": 0},
        removed_count=lambda _: {"removed_count": 0},
    )


def dataset_of(r: Row) -> Dataset:
    # the stored example_count counts removed examples too; the domain's does not
    return dataclass_of(Dataset, r, example_count=lambda c: c["example_count"] - c["removed_count"])


def example_params(e: Example) -> Params:
    return params_of(
        e,
        messages=lambda messages: {"messages": messages_json(messages)},
        source=lambda source: {"source": source.value},
        provenance=lambda p: {"provenance": None if p is None else provenance_json(p)},
        removed=lambda removed: {"removed": None if removed is None else removal_json(removed)},
    )


_SOURCES = {source.value: source for source in ExampleSource}


def example_of(r: Row) -> Example:
    return dataclass_of(
        Example,
        r,
        messages=lambda c: messages_of(c["messages"]),
        source=lambda c: _SOURCES[c["source"]],
        provenance=lambda c: None if c["provenance"] is None else provenance_of(c["provenance"]),
        removed=lambda c: None if c["removed"] is None else removal_of(c["removed"]),
    )


def _actor_json(actor: Actor | None) -> dict[str, Any] | None:
    if actor is None:
        return None
    return {"id": actor.id, "name": actor.name, "is_trainer": actor.is_trainer}


def _actor_from(data: Mapping[str, Any] | None) -> Actor | None:
    if data is None:
        return None
    return Actor(id=data["id"], name=data["name"], is_trainer=bool(data["is_trainer"]))


def _time_of(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def provenance_json(p: Provenance) -> dict[str, Any]:
    return {
        "origin": p.origin.value,
        "detail": p.detail,
        "proposed_by": _actor_json(p.proposed_by),
        "approved_by": _actor_json(p.approved_by),
        "approved_at": None if p.approved_at is None else p.approved_at.isoformat(),
        "proposal_id": p.proposal_id,
        "prediction_id": p.prediction_id,
    }


def provenance_of(data: Mapping[str, Any]) -> Provenance:
    return Provenance(
        origin=_SOURCES[data["origin"]],
        detail=data.get("detail") or "",
        proposed_by=_actor_from(data.get("proposed_by")),
        approved_by=_actor_from(data.get("approved_by")),
        approved_at=_time_of(data.get("approved_at")),
        proposal_id=data.get("proposal_id"),
        prediction_id=data.get("prediction_id"),
    )


def removal_json(r: Removal) -> dict[str, Any]:
    return {"by": _actor_json(r.by), "at": r.at.isoformat()}


def removal_of(data: Mapping[str, Any]) -> Removal:
    by = _actor_from(data["by"])
    at = _time_of(data["at"])
    assert by is not None and at is not None
    return Removal(by=by, at=at)


# --------------------------------------------------------------------------- training


def job_params(j: TrainingJob) -> Params:
    return params_of(
        j,
        status=lambda status: {"status": status.value},
        created_by=lambda actor: actor_params("created_by", actor),
        options=lambda options: {"options": dict(options)},
        owner=owner_params,
    )


def job_of(r: Row) -> TrainingJob:
    return dataclass_of(
        TrainingJob,
        r,
        status=lambda c: JobStatus(c["status"]),
        created_by=lambda c: actor_of(c, "created_by"),
        options=lambda c: dict(c["options"]),
        owner=owner_of,
    )


def version_params(v: ModelVersion) -> Params:
    return params_of(v)


def version_of(r: Row) -> ModelVersion:
    return dataclass_of(ModelVersion, r)


# --------------------------------------------------------------------------- evaluation


def _case_result_json(c: CaseResult) -> dict[str, Any]:
    return params_of(
        c,
        case=_test_case_json,
        missing=lambda missing: {"missing": list(missing)},
        forbidden=lambda forbidden: {"forbidden": list(forbidden)},
    )


def _test_case_json(c: TestCase) -> dict[str, Any]:
    return params_of(
        c,
        require=lambda require: {"require": list(require)},
        forbid=lambda forbid: {"forbid": list(forbid)},
    )


def _test_case_of(d: Mapping[str, Any]) -> TestCase:
    # "require" and "forbid" are absent from runs stored before them
    return TestCase(
        input=d["input"],
        expected=d["expected"],
        label=d["label"],
        name=d["name"],
        require=tuple(d.get("require", ())),
        forbid=tuple(d.get("forbid", ())),
    )


def _case_result_of(d: Mapping[str, Any]) -> CaseResult:
    # "missing" and "forbidden" are absent from runs stored before them
    return CaseResult(
        case=_test_case_of(d),
        answer=d["answer"],
        exact=d["exact"],
        contains=d["contains"],
        label_correct=d["label_correct"],
        error=d["error"],
        missing=tuple(d.get("missing", ())),
        forbidden=tuple(d.get("forbidden", ())),
    )


def _scores_params(s: EvalScores) -> Params:
    return {
        "cases": s.cases,
        "passed": s.passed,
        "exact_rate": s.exact,
        "contains_rate": s.contains,
        "label_accuracy": s.label_accuracy,
        "errors": s.errors,
    }


def _scores_of(c: Columns) -> EvalScores:
    return EvalScores(
        c["cases"],
        c["passed"],
        c["exact_rate"],
        c["contains_rate"],
        c["label_accuracy"],
        c["errors"],
    )


def eval_params(run: EvalRun) -> Params:
    return params_of(
        run,
        results=lambda results: {"results": [_case_result_json(c) for c in results]},
        scores=_scores_params,
        created_by=lambda actor: actor_params("created_by", actor),
        status=lambda status: {"status": status.value},
        pending=lambda pending: {"pending": [_test_case_json(c) for c in pending]},
        owner=owner_params,
    )


def eval_of(r: Row) -> EvalRun:
    return dataclass_of(
        EvalRun,
        r,
        results=lambda c: tuple(_case_result_of(d) for d in c["results"]),
        scores=_scores_of,
        created_by=lambda c: actor_of(c, "created_by"),
        status=lambda c: EvalStatus(c["status"]),
        pending=lambda c: tuple(_test_case_of(d) for d in c["pending"] or ()),
        owner=owner_of,
    )


# --------------------------------------------------------------------------- review

PROPOSAL_MUTABLE = (
    "status",
    "proposed_answer",
    "decided_by_id",
    "decided_by_name",
    "decided_by_is_trainer",
    "decided_at",
    "reason",
    "example_id",
)


def _decider_params(decider: Actor | None) -> Params:
    if decider is None:
        return {"decided_by_id": None, "decided_by_name": None, "decided_by_is_trainer": None}
    return actor_params("decided_by", decider)


def proposal_params(p: Proposal) -> Params:
    return params_of(
        p,
        kind=lambda kind: {"kind": kind.value},
        status=lambda status: {"status": status.value},
        proposer=lambda actor: actor_params("proposer", actor),
        decided_by=_decider_params,
    )


def proposal_of(r: Row) -> Proposal:
    return dataclass_of(
        Proposal,
        r,
        kind=lambda c: ProposalKind(c["kind"]),
        status=lambda c: ProposalStatus(c["status"]),
        proposer=lambda c: actor_of(c, "proposer"),
        decided_by=lambda c: None if c["decided_by_id"] is None else actor_of(c, "decided_by"),
    )

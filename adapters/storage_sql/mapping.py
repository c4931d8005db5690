"""Domain objects to row dictionaries and back: the only place that knows both."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

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

Row = Any  # a SQLAlchemy Row: columns read by attribute
Params = dict[str, Any]


# --------------------------------------------------------------------------- parts


def actor_params(role: str, actor: Actor) -> Params:
    return {
        f"{role}_id": actor.id,
        f"{role}_name": actor.name,
        f"{role}_is_trainer": actor.is_trainer,
    }


def actor_of(row: Row, role: str) -> Actor:
    m = row._mapping
    return Actor(id=m[f"{role}_id"], name=m[f"{role}_name"], is_trainer=m[f"{role}_is_trainer"])


def messages_json(messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role.value, "content": m.content} for m in messages]


_ROLES = {role.value: role for role in Role}


def messages_of(data: Sequence[Mapping[str, str]]) -> tuple[ChatMessage, ...]:
    return tuple([ChatMessage(_ROLES[d["role"]], d["content"]) for d in data])


# --------------------------------------------------------------------------- predictions


def prediction_params(p: Prediction) -> Params:
    return {
        "id": p.id,
        "conversation_id": p.conversation_id,
        "prompt": p.prompt,
        "context": messages_json(p.context),
        "answer": p.answer,
        "model_version": p.model_version,
        "latency_ms": p.latency_ms,
        "prompt_tokens": p.usage.prompt_tokens,
        "completion_tokens": p.usage.completion_tokens,
        "author_id": p.author.id,
        "author_name": p.author.name,
        "author_is_trainer": p.author.is_trainer,
        "place_conversation_id": p.place.conversation_id,
        "guild_id": p.place.guild_id,
        "channel_id": p.place.channel_id,
        "thread_id": p.place.thread_id,
        "created_at": p.created_at,
        "message_id": p.message_id,
        "ending": p.ending.value,
    }


PREDICTION_COLUMNS = (
    "id",
    "conversation_id",
    "prompt",
    "context",
    "answer",
    "model_version",
    "latency_ms",
    "prompt_tokens",
    "completion_tokens",
    "author_id",
    "author_name",
    "author_is_trainer",
    "place_conversation_id",
    "guild_id",
    "channel_id",
    "thread_id",
    "created_at",
    "message_id",
    "ending",
)


def prediction_of(r: Row) -> Prediction:
    """From a row of ``PREDICTION_COLUMNS`` in that order (the chat's hot path)."""
    (pid, cid, prompt, context, answer, version, latency, ptok, ctok, *rest) = r
    (aid, aname, trainer, pcid, guild, channel, thread, created, message, ending) = rest
    return Prediction(
        id=pid,
        conversation_id=cid,
        prompt=prompt,
        context=messages_of(context),
        answer=answer,
        model_version=version,
        latency_ms=latency,
        usage=Usage(ptok, ctok),
        author=Actor(aid, aname, trainer),
        place=Place(pcid, guild, channel, thread),
        created_at=created,
        message_id=message,
        ending=Ending(ending),
    )


# --------------------------------------------------------------------------- feedback


def feedback_params(f: Feedback) -> Params:
    return {
        "id": f.id,
        "prediction_id": f.prediction_id,
        **actor_params("author", f.author),
        "created_at": f.created_at,
        "rating": None if f.rating is None else int(f.rating),
        "text": f.text,
    }


def feedback_of(r: Row) -> Feedback:
    return Feedback(
        id=r.id,
        author=actor_of(r, "author"),
        created_at=r.created_at,
        prediction_id=r.prediction_id,
        rating=None if r.rating is None else Rating(r.rating),
        text=r.text,
    )


def correction_params(c: Correction) -> Params:
    return {
        "id": c.id,
        "prediction_id": c.prediction_id,
        **actor_params("author", c.author),
        "corrected_answer": c.corrected_answer,
        "example_id": c.example_id,
        "dataset": c.dataset,
        "created_at": c.created_at,
    }


def correction_of(r: Row) -> Correction:
    return Correction(
        id=r.id,
        prediction_id=r.prediction_id,
        author=actor_of(r, "author"),
        corrected_answer=r.corrected_answer,
        example_id=r.example_id,
        dataset=r.dataset,
        created_at=r.created_at,
    )


# --------------------------------------------------------------------------- datasets


def dataset_params(d: Dataset) -> Params:
    return {
        "name": d.name,
        "description": d.description,
        "created_at": d.created_at,
        "example_count": 0,
        "removed_count": 0,
    }


def dataset_of(r: Row) -> Dataset:
    return Dataset(
        name=r.name,
        created_at=r.created_at,
        description=r.description,
        example_count=r.example_count - r.removed_count,
        removed_count=r.removed_count,
    )


def example_params(e: Example) -> Params:
    return {
        "id": e.id,
        "dataset": e.dataset,
        "messages": messages_json(e.messages),
        "answer": e.answer,
        "source": e.source.value,
        "created_at": e.created_at,
        "rejected": e.rejected,
        "label": e.label,
        "name": e.name,
        "provenance": None if e.provenance is None else provenance_json(e.provenance),
        "removed": None if e.removed is None else removal_json(e.removed),
    }


EXAMPLE_COLUMNS = (
    "id",
    "dataset",
    "messages",
    "answer",
    "source",
    "created_at",
    "rejected",
    "label",
    "name",
    "provenance",
    "removed",
)
_SOURCES = {source.value: source for source in ExampleSource}


def example_of(r: Row) -> Example:
    """From a row of ``EXAMPLE_COLUMNS`` in that order."""
    (eid, dataset, messages, answer, source, created, rejected, label, name, prov, removed) = r
    return Example(
        id=eid,
        dataset=dataset,
        messages=messages_of(messages),
        answer=answer,
        source=_SOURCES[source],
        created_at=created,
        rejected=rejected,
        label=label,
        name=name,
        provenance=None if prov is None else provenance_of(prov),
        removed=None if removed is None else removal_of(removed),
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
    return {
        "id": j.id,
        "dataset": j.dataset,
        "backend": j.backend,
        "status": j.status.value,
        **actor_params("created_by", j.created_by),
        "created_at": j.created_at,
        "example_count": j.example_count,
        "options": dict(j.options),
        "progress": j.progress,
        "message": j.message,
        "error": j.error,
        "started_at": j.started_at,
        "finished_at": j.finished_at,
        "model_version": j.model_version,
        "base_model_version": j.base_model_version,
        "external_id": j.external_id,
        "cancel_requested": j.cancel_requested,
        **owner_params(j.owner),
        "heartbeat_at": j.heartbeat_at,
    }


def owner_params(owner: JobOwner | None) -> Params:
    return {
        "owner_host": owner.host if owner else None,
        "owner_pid": owner.pid if owner else None,
        "owner_token": owner.token if owner else None,
    }


def job_of(r: Row) -> TrainingJob:
    return TrainingJob(
        id=r.id,
        dataset=r.dataset,
        backend=r.backend,
        status=JobStatus(r.status),
        created_by=actor_of(r, "created_by"),
        created_at=r.created_at,
        example_count=r.example_count,
        options=dict(r.options),
        progress=r.progress,
        message=r.message,
        error=r.error,
        started_at=r.started_at,
        finished_at=r.finished_at,
        model_version=r.model_version,
        base_model_version=r.base_model_version,
        external_id=r.external_id,
        cancel_requested=r.cancel_requested,
        owner=_owner_of(r),
        heartbeat_at=r.heartbeat_at,
    )


def _owner_of(r: Row) -> JobOwner | None:
    if r.owner_token is None:
        return None
    return JobOwner(host=r.owner_host or "", pid=r.owner_pid or 0, token=r.owner_token)


def version_params(v: ModelVersion) -> Params:
    return {
        "name": v.name,
        "llm_model": v.llm_model,
        "created_at": v.created_at,
        "memory": v.memory,
        "job_id": v.job_id,
        "notes": v.notes,
    }


def version_of(r: Row) -> ModelVersion:
    return ModelVersion(
        name=r.name,
        llm_model=r.llm_model,
        created_at=r.created_at,
        memory=r.memory,
        job_id=r.job_id,
        notes=r.notes,
    )


# --------------------------------------------------------------------------- evaluation


def _case_result_json(c: CaseResult) -> dict[str, Any]:
    return {
        **_test_case_json(c.case),
        "answer": c.answer,
        "exact": c.exact,
        "contains": c.contains,
        "label_correct": c.label_correct,
        "error": c.error,
        "missing": list(c.missing),
        "forbidden": list(c.forbidden),
    }


def _test_case_json(c: TestCase) -> dict[str, Any]:
    return {
        "input": c.input,
        "expected": c.expected,
        "label": c.label,
        "name": c.name,
        "require": list(c.require),
        "forbid": list(c.forbid),
    }


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


def eval_params(run: EvalRun) -> Params:
    s = run.scores
    return {
        "id": run.id,
        "model_version": run.model_version,
        "created_at": run.created_at,
        "name": run.name,
        **actor_params("created_by", run.created_by),
        "cases": s.cases,
        "passed": s.passed,
        "exact_rate": s.exact,
        "contains_rate": s.contains,
        "label_accuracy": s.label_accuracy,
        "errors": s.errors,
        "results": [_case_result_json(c) for c in run.results],
        "status": run.status.value,
        "pending": [_test_case_json(c) for c in run.pending],
        **owner_params(run.owner),
        "heartbeat_at": run.heartbeat_at,
    }


def eval_of(r: Row) -> EvalRun:
    return EvalRun(
        id=r.id,
        model_version=r.model_version,
        created_at=r.created_at,
        results=tuple(_case_result_of(d) for d in r.results),
        scores=EvalScores(
            cases=r.cases,
            passed=r.passed,
            exact=r.exact_rate,
            contains=r.contains_rate,
            label_accuracy=r.label_accuracy,
            errors=r.errors,
        ),
        created_by=actor_of(r, "created_by"),
        name=r.name,
        status=EvalStatus(r.status),
        pending=tuple(_test_case_of(d) for d in r.pending or ()),
        owner=_owner_of(r),
        heartbeat_at=r.heartbeat_at,
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


def proposal_params(p: Proposal) -> Params:
    decider = p.decided_by
    return {
        "id": p.id,
        "kind": p.kind.value,
        "status": p.status.value,
        "prediction_id": p.prediction_id,
        "guild_id": p.guild_id,
        "question": p.question,
        "answer": p.answer,
        "proposed_answer": p.proposed_answer,
        "dataset": p.dataset,
        **actor_params("proposer", p.proposer),
        "created_at": p.created_at,
        "decided_by_id": None if decider is None else decider.id,
        "decided_by_name": None if decider is None else decider.name,
        "decided_by_is_trainer": None if decider is None else decider.is_trainer,
        "decided_at": p.decided_at,
        "reason": p.reason,
        "example_id": p.example_id,
    }


def proposal_of(r: Row) -> Proposal:
    row = r._mapping
    return Proposal(
        id=row["id"],
        kind=ProposalKind(row["kind"]),
        status=ProposalStatus(row["status"]),
        prediction_id=row["prediction_id"],
        guild_id=row["guild_id"],
        question=row["question"],
        answer=row["answer"],
        proposed_answer=row["proposed_answer"],
        dataset=row["dataset"],
        proposer=actor_of(r, "proposer"),
        created_at=row["created_at"],
        decided_by=None if row["decided_by_id"] is None else actor_of(r, "decided_by"),
        decided_at=row["decided_at"],
        reason=row["reason"],
        example_id=row["example_id"],
    )

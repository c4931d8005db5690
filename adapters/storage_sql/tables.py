"""The schema as SQLAlchemy Core tables: what the queries are written against.

Migrations (``migrations/versions``) create the same schema; a test compares the
migrated database with this metadata so the two cannot drift.

Conventions: every table that is listed in an order has ``seq``, an
auto-incrementing surrogate key, to break ties between equal timestamps by
insertion order; domain ids are unique strings; an ``Actor`` is stored as
``<role>_id``, ``<role>_name``, ``<role>_is_trainer``; a ``Place`` as its four
columns.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    false,
)

from adapters.storage_sql.columns import Json, OptionalJson, Seq, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _actor(role: str) -> list[Column[object]]:
    return [
        Column(f"{role}_id", String(64), nullable=False),
        Column(f"{role}_name", Text, nullable=False),
        Column(f"{role}_is_trainer", Boolean, nullable=False),
    ]


def _example_columns() -> list[Column[object]]:
    return [
        Column("id", String(64), nullable=False),
        Column("dataset", String(128), nullable=False),
        Column("messages", Json, nullable=False),
        Column("answer", Text, nullable=False),
        Column("source", String(32), nullable=False),
        Column("created_at", UtcDateTime, nullable=False),
        Column("rejected", Text),
        Column("label", Text),
        Column("name", Text),
        # Where it came from and who let it in; ``removed``: who took it out and when.
        Column("provenance", OptionalJson),
        Column("removed", OptionalJson),
    ]


predictions = Table(
    "predictions",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("conversation_id", String(128), nullable=False),
    Column("prompt", Text, nullable=False),
    Column("context", Json, nullable=False),
    Column("answer", Text, nullable=False),
    Column("model_version", Text, nullable=False),
    Column("latency_ms", Double, nullable=False),
    Column("prompt_tokens", Integer),
    Column("completion_tokens", Integer),
    *_actor("author"),
    Column("place_conversation_id", String(128), nullable=False),
    Column("guild_id", String(64)),
    Column("channel_id", String(64)),
    Column("thread_id", String(64)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("message_id", String(64), unique=True),
    # How the answer ended (``domain.models.Ending``): a cut-off one is never learned from.
    Column("ending", String(16), nullable=False, server_default="complete"),
    # ``forget`` hides a conversation's history; the predictions stay for training.
    Column("forgotten", Boolean, nullable=False, server_default=false()),
    # History reads: one conversation, not forgotten, newest first.
    Index(None, "conversation_id", "forgotten", "created_at", "seq"),
)

feedback = Table(
    "feedback",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("prediction_id", String(64), index=True),
    *_actor("author"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("rating", SmallInteger),
    Column("text", Text),
)

corrections = Table(
    "corrections",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("prediction_id", String(64), nullable=False, index=True),
    *_actor("author"),
    Column("corrected_answer", Text, nullable=False),
    Column("example_id", String(64), nullable=False),
    Column("dataset", String(128), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
)

datasets = Table(
    "datasets",
    metadata,
    Column("name", String(128), primary_key=True),
    Column("description", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    # Kept by ``add_examples`` so that reading a dataset never counts rows.
    Column("example_count", Integer, nullable=False),
    # How many of them are removed (kept, never trained on): shown counts subtract it.
    Column("removed_count", Integer, nullable=False, server_default="0"),
)

# ``position`` is the example's 0-based place in its dataset: insertion order.
examples = Table(
    "examples",
    metadata,
    Column("dataset", String(128), ForeignKey("datasets.name"), primary_key=True),
    Column("position", Integer, primary_key=True, autoincrement=False),
    *[c for c in _example_columns() if c.name != "dataset"],
    Index(None, "id"),
)

# What members propose the bot should learn, until a trainer decides.
proposals = Table(
    "proposals",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("prediction_id", String(64), nullable=False),
    Column("guild_id", String(64)),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("proposed_answer", Text),
    Column("dataset", String(128), nullable=False),
    *_actor("proposer"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("decided_by_id", String(64)),
    Column("decided_by_name", Text),
    Column("decided_by_is_trainer", Boolean),
    Column("decided_at", UtcDateTime),
    Column("reason", Text),
    Column("example_id", String(64)),
    Index("ix_proposals_status_created", "status", "created_at", "seq"),
    Index("ix_proposals_proposer_created", "proposer_id", "created_at"),
    Index("ix_proposals_prediction_id", "prediction_id"),
)

state = Table(
    "state",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("dataset", String(128), nullable=False),
    Column("backend", String(64), nullable=False),
    Column("status", String(16), nullable=False),
    *_actor("created_by"),
    Column("created_at", UtcDateTime, nullable=False),
    Column("example_count", Integer, nullable=False),
    Column("options", Json, nullable=False),
    Column("progress", Double, nullable=False),
    Column("message", Text, nullable=False),
    Column("error", Text),
    Column("started_at", UtcDateTime),
    Column("finished_at", UtcDateTime),
    Column("model_version", Text),
    Column("base_model_version", Text),
    Column("external_id", Text),
    Column("cancel_requested", Boolean, nullable=False),
    # The process holding an unfinished job (NULL: nobody, handed back) and its heartbeat.
    Column("owner_host", String(255)),
    Column("owner_pid", Integer),
    Column("owner_token", String(64)),
    Column("heartbeat_at", UtcDateTime),
    Index(None, "created_at", "seq"),
    Index(None, "status", "created_at"),
)

# The frozen copy of the examples a job trains on, in order.
job_examples = Table(
    "job_examples",
    metadata,
    Column(
        "job_id",
        String(64),
        ForeignKey("jobs.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("position", Integer, primary_key=True, autoincrement=False),
    *_example_columns(),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("llm_model", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("memory", Text),
    Column("job_id", String(64)),
    Column("notes", Text, nullable=False),
)

# Every activation, in order: ``rollback`` walks it backwards.
model_activations = Table(
    "model_activations",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("actor_id", String(64), nullable=False),
    Column("activated_at", UtcDateTime, nullable=False),
)

eval_runs = Table(
    "eval_runs",
    metadata,
    Column("seq", Seq, primary_key=True, autoincrement=True),
    Column("id", String(64), nullable=False, unique=True),
    Column("model_version", String(255), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("name", Text, nullable=False),
    *_actor("created_by"),
    Column("cases", Integer, nullable=False),
    Column("passed", Integer, nullable=False),
    Column("exact_rate", Double, nullable=False),
    Column("contains_rate", Double, nullable=False),
    Column("label_accuracy", Double),
    Column("errors", Integer, nullable=False),
    # Every CaseResult with its TestCase, as a JSON list.
    Column("results", Json, nullable=False),
    # running | interrupted | complete, the cases not answered yet (a JSON list; NULL in
    # runs stored before 0005), and the process answering it with its heartbeat.
    Column("status", String(16), nullable=False, server_default="complete"),
    Column("pending", Json),
    Column("owner_host", String(255)),
    Column("owner_pid", Integer),
    Column("owner_token", String(64)),
    Column("heartbeat_at", UtcDateTime),
    Index(None, "created_at", "seq"),
    Index(None, "model_version", "created_at"),
)

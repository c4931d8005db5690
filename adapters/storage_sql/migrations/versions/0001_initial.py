"""The initial schema: every repository's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-01

Written by hand with plain SQLAlchemy types, so that later changes to the
application's column types cannot change what this revision creates.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def _seq() -> sa.Column[int]:
    return sa.Column("seq", SEQ, primary_key=True, autoincrement=True)


def _id() -> sa.Column[str]:
    return sa.Column("id", sa.String(64), nullable=False)


def _actor(role: str) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{role}_id", sa.String(64), nullable=False),
        sa.Column(f"{role}_name", sa.Text(), nullable=False),
        sa.Column(f"{role}_is_trainer", sa.Boolean(), nullable=False),
    ]


def _example() -> list[sa.Column[object]]:
    return [
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("rejected", sa.Text()),
        sa.Column("label", sa.Text()),
        sa.Column("name", sa.Text()),
    ]


def upgrade() -> None:
    op.create_table(
        "predictions",
        _seq(),
        _id(),
        sa.Column("conversation_id", sa.String(128), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("model_version", sa.Text(), nullable=False),
        sa.Column("latency_ms", sa.Double(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer()),
        sa.Column("completion_tokens", sa.Integer()),
        *_actor("author"),
        sa.Column("place_conversation_id", sa.String(128), nullable=False),
        sa.Column("guild_id", sa.String(64)),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("thread_id", sa.String(64)),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("message_id", sa.String(64)),
        sa.Column("forgotten", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.PrimaryKeyConstraint("seq", name="pk_predictions"),
        sa.UniqueConstraint("id", name="uq_predictions_id"),
        sa.UniqueConstraint("message_id", name="uq_predictions_message_id"),
    )
    op.create_index(
        "ix_predictions_conversation_id_forgotten_created_at_seq",
        "predictions",
        ["conversation_id", "forgotten", "created_at", "seq"],
    )

    op.create_table(
        "feedback",
        _seq(),
        _id(),
        sa.Column("prediction_id", sa.String(64)),
        *_actor("author"),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("rating", sa.SmallInteger()),
        sa.Column("text", sa.Text()),
        sa.PrimaryKeyConstraint("seq", name="pk_feedback"),
        sa.UniqueConstraint("id", name="uq_feedback_id"),
    )
    op.create_index("ix_feedback_prediction_id", "feedback", ["prediction_id"])

    op.create_table(
        "corrections",
        _seq(),
        _id(),
        sa.Column("prediction_id", sa.String(64), nullable=False),
        *_actor("author"),
        sa.Column("corrected_answer", sa.Text(), nullable=False),
        sa.Column("example_id", sa.String(64), nullable=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_corrections"),
        sa.UniqueConstraint("id", name="uq_corrections_id"),
    )
    op.create_index("ix_corrections_prediction_id", "corrections", ["prediction_id"])

    op.create_table(
        "datasets",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("example_count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_datasets"),
    )

    op.create_table(
        "examples",
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        *_example(),
        sa.PrimaryKeyConstraint("dataset", "position", name="pk_examples"),
        sa.ForeignKeyConstraint(
            ["dataset"], ["datasets.name"], name="fk_examples_dataset_datasets"
        ),
    )

    op.create_table(
        "state",
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_state"),
    )

    op.create_table(
        "jobs",
        _seq(),
        _id(),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("backend", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        *_actor("created_by"),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("example_count", sa.Integer(), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Double(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("started_at", TIME),
        sa.Column("finished_at", TIME),
        sa.Column("model_version", sa.Text()),
        sa.Column("base_model_version", sa.Text()),
        sa.Column("external_id", sa.Text()),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_jobs"),
        sa.UniqueConstraint("id", name="uq_jobs_id"),
    )
    op.create_index("ix_jobs_created_at_seq", "jobs", ["created_at", "seq"])
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])

    op.create_table(
        "job_examples",
        sa.Column("job_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False, autoincrement=False),
        sa.Column("dataset", sa.String(128), nullable=False),
        *_example(),
        sa.PrimaryKeyConstraint("job_id", "position", name="pk_job_examples"),
        sa.ForeignKeyConstraint(
            ["job_id"], ["jobs.id"], name="fk_job_examples_job_id_jobs", ondelete="CASCADE"
        ),
    )

    op.create_table(
        "model_versions",
        _seq(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("llm_model", sa.Text(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("memory", sa.Text()),
        sa.Column("job_id", sa.String(64)),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_model_versions"),
        sa.UniqueConstraint("name", name="uq_model_versions_name"),
    )

    op.create_table(
        "model_activations",
        _seq(),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("activated_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_model_activations"),
    )

    op.create_table(
        "eval_runs",
        _seq(),
        _id(),
        sa.Column("model_version", sa.String(255), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        *_actor("created_by"),
        sa.Column("cases", sa.Integer(), nullable=False),
        sa.Column("passed", sa.Integer(), nullable=False),
        sa.Column("exact_rate", sa.Double(), nullable=False),
        sa.Column("contains_rate", sa.Double(), nullable=False),
        sa.Column("label_accuracy", sa.Double()),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("results", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_eval_runs"),
        sa.UniqueConstraint("id", name="uq_eval_runs_id"),
    )
    op.create_index("ix_eval_runs_created_at_seq", "eval_runs", ["created_at", "seq"])
    op.create_index(
        "ix_eval_runs_model_version_created_at", "eval_runs", ["model_version", "created_at"]
    )


def downgrade() -> None:
    for table in (
        "eval_runs",
        "model_activations",
        "model_versions",
        "job_examples",
        "jobs",
        "state",
        "examples",
        "datasets",
        "corrections",
        "feedback",
        "predictions",
    ):
        op.drop_table(table)

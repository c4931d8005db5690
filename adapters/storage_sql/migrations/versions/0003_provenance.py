"""Provenance and removal on examples; existing corrections go through review.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Changelog (what this migration does to existing data):

- ``examples`` and ``job_examples`` get ``provenance`` and ``removed`` (JSON, NULL
  for what was there before: its origin is only ``source``), ``datasets`` gets
  ``removed_count``.
- Every correction made before review existed is looked at once:
  - made by a **trainer**: its example stays and is recorded as approved by that
    trainer at the time of the correction;
  - made by a **member**: its example is marked removed (by "migration 0003", kept,
    never trained on or exported again) and the correction becomes a **pending
    proposal** in the review queue, so a trainer decides as for any new one.
  Nothing is deleted.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from uuid import uuid4

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

MIGRATION_ACTOR = {"id": "migration-0003", "name": "migration 0003", "is_trainer": False}


def upgrade() -> None:
    for table in ("examples", "job_examples"):
        op.add_column(table, sa.Column("provenance", sa.JSON()))
        op.add_column(table, sa.Column("removed", sa.JSON()))
    op.add_column(
        "datasets", sa.Column("removed_count", sa.Integer(), nullable=False, server_default="0")
    )
    op.create_index("ix_examples_id", "examples", ["id"])
    _review_old_corrections(op.get_bind())


def _review_old_corrections(bind: sa.engine.Connection) -> None:
    rows = bind.execute(
        sa.text(
            "SELECT c.id, c.prediction_id, c.author_id, c.author_name, c.author_is_trainer,"
            " c.corrected_answer, c.example_id, c.dataset, c.created_at,"
            " p.prompt, p.answer, p.guild_id"
            " FROM corrections c JOIN predictions p ON p.id = c.prediction_id"
            " ORDER BY c.seq"
        )
    ).fetchall()
    now = datetime.now(UTC)
    for r in rows:
        author = {"id": r.author_id, "name": r.author_name, "is_trainer": bool(r.author_is_trainer)}
        if author["is_trainer"]:
            provenance = {
                "origin": "correction",
                "detail": f"correction of answer {r.prediction_id[:8]}",
                "proposed_by": None,
                "approved_by": author,
                "approved_at": _iso(r.created_at),
                "proposal_id": None,
                "prediction_id": r.prediction_id,
            }
            bind.execute(
                sa.text("UPDATE examples SET provenance = :p WHERE id = :id"),
                {"p": json.dumps(provenance), "id": r.example_id},
            )
            continue
        removed = {"by": MIGRATION_ACTOR, "at": now.isoformat()}
        done = bind.execute(
            sa.text("UPDATE examples SET removed = :r WHERE id = :id AND removed IS NULL"),
            {"r": json.dumps(removed), "id": r.example_id},
        )
        if done.rowcount:
            bind.execute(
                sa.text("UPDATE datasets SET removed_count = removed_count + 1 WHERE name = :n"),
                {"n": r.dataset},
            )
        bind.execute(
            sa.text(
                "INSERT INTO proposals (id, kind, status, prediction_id, guild_id, question,"
                " answer, proposed_answer, dataset, proposer_id, proposer_name,"
                " proposer_is_trainer, created_at)"
                " VALUES (:id, 'correction', 'pending', :pred, :guild, :q, :a, :pa, :ds,"
                " :pid, :pname, :ptrainer, :at)"
            ),
            {
                "id": uuid4().hex,
                "pred": r.prediction_id,
                "guild": r.guild_id,
                "q": r.prompt,
                "a": r.answer,
                "pa": r.corrected_answer,
                "ds": r.dataset,
                "pid": r.author_id,
                "pname": r.author_name,
                "ptrainer": False,
                "at": r.created_at,  # as stored: SQLite's UTC text or PostgreSQL's timestamp
            },
        )


def _iso(value: object) -> str:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC).isoformat()


def downgrade() -> None:
    op.drop_index("ix_examples_id", "examples")
    with op.batch_alter_table("datasets") as batch:
        batch.drop_column("removed_count")
    for table in ("examples", "job_examples"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("removed")
            batch.drop_column("provenance")

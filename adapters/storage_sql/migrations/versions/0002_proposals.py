"""The review queue: a ``proposals`` table.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07

Adds the table only; no existing row is changed or moved.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SEQ = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "proposals",
        sa.Column("seq", SEQ, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("prediction_id", sa.String(64), nullable=False),
        sa.Column("guild_id", sa.String(64)),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("answer", sa.Text(), nullable=False),
        sa.Column("proposed_answer", sa.Text()),
        sa.Column("dataset", sa.String(128), nullable=False),
        sa.Column("proposer_id", sa.String(64), nullable=False),
        sa.Column("proposer_name", sa.Text(), nullable=False),
        sa.Column("proposer_is_trainer", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("decided_by_id", sa.String(64)),
        sa.Column("decided_by_name", sa.Text()),
        sa.Column("decided_by_is_trainer", sa.Boolean()),
        sa.Column("decided_at", TIME),
        sa.Column("reason", sa.Text()),
        sa.Column("example_id", sa.String(64)),
    )
    op.create_index("ix_proposals_status_created", "proposals", ["status", "created_at", "seq"])
    op.create_index("ix_proposals_proposer_created", "proposals", ["proposer_id", "created_at"])
    op.create_index("ix_proposals_prediction_id", "proposals", ["prediction_id"])


def downgrade() -> None:
    op.drop_table("proposals")

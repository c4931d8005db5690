"""Who holds each unfinished training job and evaluation run, and its heartbeat.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Changelog (what this migration does to existing data):

- ``jobs`` gets ``owner_host``, ``owner_pid``, ``owner_token`` and ``heartbeat_at``
  (all NULL-able: a finished job, or one handed back on a clean stop, has no owner).
- A job still ``queued`` or ``running`` when this runs gets the owner token
  ``before-0005`` and no heartbeat: nothing recorded which process held it, so it
  counts as orphaned. The bot's next start takes it over (as it did before this
  revision); a command such as ``train list`` marks it failed, interrupted.
- Finished jobs keep no owner.
- ``eval_runs`` gets ``status`` (``running``, ``interrupted`` or ``complete``; not
  NULL), ``pending`` (the cases not answered yet, a JSON list) and the same four owner
  columns. Every run stored before is ``complete`` with ``pending`` NULL (none): before
  this revision a run was stored only once all its cases were answered.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

UNKNOWN_OWNER = "before-0005"


def upgrade() -> None:
    _add_owner("jobs")
    jobs = sa.table("jobs", sa.column("status", sa.String), sa.column("owner_token", sa.String))
    op.execute(
        jobs.update()
        .where(jobs.c.status.in_(["queued", "running"]))
        .values(owner_token=UNKNOWN_OWNER)
    )
    op.add_column(
        "eval_runs",
        sa.Column("status", sa.String(16), nullable=False, server_default="complete"),
    )
    op.add_column("eval_runs", sa.Column("pending", sa.JSON()))
    _add_owner("eval_runs")


def _add_owner(table: str) -> None:
    op.add_column(table, sa.Column("owner_host", sa.String(255)))
    op.add_column(table, sa.Column("owner_pid", sa.Integer()))
    op.add_column(table, sa.Column("owner_token", sa.String(64)))
    op.add_column(table, sa.Column("heartbeat_at", sa.DateTime(timezone=True)))


OWNER_COLUMNS = ("heartbeat_at", "owner_token", "owner_pid", "owner_host")


def downgrade() -> None:
    with op.batch_alter_table("eval_runs") as batch:
        for column in (*OWNER_COLUMNS, "pending", "status"):
            batch.drop_column(column)
    with op.batch_alter_table("jobs") as batch:
        for column in OWNER_COLUMNS:
            batch.drop_column(column)

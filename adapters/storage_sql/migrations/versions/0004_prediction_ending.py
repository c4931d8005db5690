"""How each answer ended: whole, or cut off.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07

Changelog (what this migration does to existing data):

- ``predictions`` gets ``ending`` (``complete``, ``cut`` or ``too_long``; not NULL).
  Every answer stored before is ``complete``: nothing recorded how it ended, and
  before this revision every stored answer was treated as whole.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "predictions",
        sa.Column("ending", sa.String(16), nullable=False, server_default="complete"),
    )


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("ending")

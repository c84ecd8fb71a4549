"""tasks.held_at/held_by/hold_reason/held_seconds: a step put on hold for an office problem (issue 19 point 4)

Revision ID: task_holds
Revises: papers
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "task_holds"
down_revision = "papers"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def upgrade() -> None:
    op.add_column("tasks", sa.Column("held_at", _UTC, nullable=True))
    op.add_column("tasks", sa.Column("held_by", sa.String(length=100), nullable=True))
    op.add_column("tasks", sa.Column("hold_reason", sa.String(length=200), nullable=True))
    op.add_column("tasks", sa.Column("held_seconds", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.drop_column("held_seconds")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("held_by")
        batch_op.drop_column("held_at")

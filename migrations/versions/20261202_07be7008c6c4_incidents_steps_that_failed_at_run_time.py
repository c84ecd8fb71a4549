"""incidents: steps that failed at run time (issue 14 point 5)

A failing expression or service handler leaves the workflow as it was and records an incident here;
``timers.state`` may now also hold ``incident`` (a String(16) column: no schema change).

Revision ID: 07be7008c6c4
Revises: baseline
Create Date: 2026-12-02 00:09:07.647303
"""

import sqlalchemy as sa
from alembic import op

revision = "07be7008c6c4"
down_revision = "baseline"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def upgrade() -> None:
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("timer_id", sa.String(length=36), nullable=True),
        sa.Column("step", sa.String(length=100), nullable=True),
        sa.Column("element", sa.String(length=100), nullable=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("last_failed_at", _UTC, nullable=False),
        sa.Column("resolved_at", _UTC, nullable=True),
        sa.Column("resolved_by", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instances.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_incidents_instance_id", "incidents", ["instance_id"], unique=False)
    op.create_index("ix_incidents_state", "incidents", ["state", "last_failed_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_incidents_state", table_name="incidents")
    op.drop_index("ix_incidents_instance_id", table_name="incidents")
    op.drop_table("incidents")

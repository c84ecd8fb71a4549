"""Process versions: the owner's change note per version, and which version is active.

``process_versions.note`` (nullable: versions deployed before have none) and ``process_activations``
(key, version, reason, actor, time; the latest row of a key is the version new applications start on).
A process with no activation row yet keeps starting on its highest version, as before this revision.

Revision ID: 2e91dd2663db
Revises: child_nik
Create Date: 2026-12-02 00:26:11.069479
"""

import sqlalchemy as sa
from alembic import op

revision = "2e91dd2663db"
down_revision = "child_nik"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_activations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["process_version_id"],
            ["process_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("process_activations", schema=None) as batch_op:
        batch_op.create_index("ix_process_activations_key", ["process_key", "id"], unique=False)

    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("process_versions", schema=None) as batch_op:
        batch_op.drop_column("note")

    with op.batch_alter_table("process_activations", schema=None) as batch_op:
        batch_op.drop_index("ix_process_activations_key")

    op.drop_table("process_activations")

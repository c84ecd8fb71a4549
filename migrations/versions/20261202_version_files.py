"""process_version_files: the forms (form-js JSON) and decision tables (DMN) deployed with a version
(issue 21 points 1 and 2)

Revision ID: version_files
Revises: task_holds
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "version_files"
down_revision = "task_holds"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "process_version_files",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["process_version_id"], ["process_versions.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("process_version_id", "kind", "name"),
    )


def downgrade() -> None:
    op.drop_table("process_version_files")

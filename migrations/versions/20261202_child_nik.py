"""applications.child_nik: the child's NIK as a column, for the duplicate check (issue 14 point 2)

Filled from the stored application (``child`` JSON) for the rows already there.

Revision ID: child_nik
Revises: server_sessions
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "child_nik"
down_revision = "server_sessions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("child_nik", sa.String(length=16), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.execute("UPDATE applications SET child_nik = left(child->>'nik', 16)")
    else:
        op.execute("UPDATE applications SET child_nik = substr(json_extract(child, '$.nik'), 1, 16)")
    op.create_index("ix_applications_child_nik", "applications", ["child_nik"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_applications_child_nik", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("child_nik")

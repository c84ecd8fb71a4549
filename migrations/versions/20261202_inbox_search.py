"""Inbox search and deep pages at a million applications (issue 19): ``applications.search_names`` (both
names, lowercased, read through ``ix_applications_instance_names`` from the open tasks) and
``ix_tasks_due_order`` (the whole inbox in deadline order).

``search_names`` is filled for the rows already there from the stored JSON, lowercased as the model's
``search_names_of`` does (Python's ``str.lower`` and SQL's ``lower`` agree on the names' letters).

Revision ID: inbox_search
Revises: notices
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "inbox_search"
down_revision = "notices"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("applications", sa.Column("search_names", sa.String(length=250), nullable=True))
    if op.get_context().dialect.name == "postgresql":
        op.execute(
            "UPDATE applications SET search_names = left(lower("
            "regexp_replace(trim(coalesce(child->>'name', '')), '\\s+', ' ', 'g') || '|' || "
            "regexp_replace(trim(coalesce(applicant->>'name', '')), '\\s+', ' ', 'g')), 250)"
        )
    else:  # SQLite: no regular expressions; names with runs of spaces are rare and only miss a fragment
        op.execute(
            "UPDATE applications SET search_names = substr(lower("
            "trim(coalesce(json_extract(child, '$.name'), '')) || '|' || "
            "trim(coalesce(json_extract(applicant, '$.name'), ''))), 1, 250)"
        )
    op.create_index("ix_applications_instance_names", "applications", ["instance_id", "search_names"])
    op.create_index("ix_tasks_due_order", "tasks", ["state", "due_at", "ready_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tasks_due_order", table_name="tasks")
    op.drop_index("ix_applications_instance_names", table_name="applications")
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("search_names")

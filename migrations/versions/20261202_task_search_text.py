"""tasks.search_text: the inbox's search by a name fragment reads the open tasks' own copy of both names
from ``ix_tasks_open_search`` (a partial index of the open tasks) instead of looking up each open task's
application (issue 19: a supervisor's search over 20,000 open tasks at a million applications).
``ix_applications_instance_names``, which the old search read, goes.

The open tasks get their application's ``search_names``; ended tasks keep none (only open tasks are
searched, and the names go with the task).

Revision ID: task_search_text
Revises: uptd_arrival
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "task_search_text"
down_revision = "uptd_arrival"
branch_labels = None
depends_on = None

_COLUMNS = ["search_text", "lane", "kecamatan", "overdue", "due_at", "ready_at", "id"]
_OPEN = sa.text("state = 'open'")


def upgrade() -> None:
    op.add_column("tasks", sa.Column("search_text", sa.String(length=250), nullable=True))
    op.execute(
        "UPDATE tasks SET search_text = (SELECT a.search_names FROM applications a "
        "WHERE a.instance_id = tasks.instance_id) WHERE state = 'open'"
    )
    op.create_index("ix_tasks_open_search", "tasks", _COLUMNS, postgresql_where=_OPEN, sqlite_where=_OPEN)
    op.drop_index("ix_applications_instance_names", table_name="applications")


def downgrade() -> None:
    op.create_index("ix_applications_instance_names", "applications", ["instance_id", "search_names"])
    op.drop_index("ix_tasks_open_search", table_name="tasks")
    with op.batch_alter_table("tasks") as batch:
        batch.drop_column("search_text")

"""users.must_change_password: a temporary password set by a supervisor is changed at the next sign-in
(issue 19 point 5). Existing officers chose their own passwords.

Revision ID: staff_accounts
Revises: inbox_search
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "staff_accounts"
down_revision = "inbox_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("must_change_password")

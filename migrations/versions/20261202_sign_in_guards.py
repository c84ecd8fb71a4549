"""sign_in_guards: failure counters and locks of PIN and staff sign-in (issue 14 point 3)

Revision ID: sign_in_guards
Revises: 07be7008c6c4
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "sign_in_guards"
down_revision = "07be7008c6c4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sign_in_guards",
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )


def downgrade() -> None:
    op.drop_table("sign_in_guards")

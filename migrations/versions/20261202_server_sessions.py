"""api_tokens: server-side staff sessions (issue 14 point 4): kind, password_stamp, last_seen_at

Existing rows become bearer tokens; a staff token made before this revision has no password stamp and
so no longer counts as a live session: its user signs in again once.

Revision ID: server_sessions
Revises: sign_in_guards
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "server_sessions"
down_revision = "sign_in_guards"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "api_tokens", sa.Column("kind", sa.String(length=8), nullable=False, server_default=sa.text("'bearer'"))
    )
    if op.get_context().dialect.name == "postgresql":
        op.alter_column("api_tokens", "kind", server_default=None)  # as the model makes it
    op.add_column("api_tokens", sa.Column("password_stamp", sa.String(length=16), nullable=True))
    op.add_column("api_tokens", sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("password_stamp")
        batch.drop_column("kind")

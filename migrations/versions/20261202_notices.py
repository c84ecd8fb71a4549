"""Notices (issue 18): officers' notifications, their contact preferences, the WhatsApp contact window,
the applicant's consent and unreachable flag, delivery states, the undelivered-note mark on tasks.

Revision ID: notices
Revises: 2e91dd2663db
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "notices"
down_revision = "2e91dd2663db"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("application_code", sa.String(length=32), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("level", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("read_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_notifications_user", "notifications", ["user_id", "id"])
    op.create_index("ix_notifications_unread", "notifications", ["user_id", "read_at"])
    # plain ALTER TABLE ... ADD COLUMN on both databases (no table copy: other tables refer to these)
    op.add_column("applications", sa.Column("whatsapp_consent_at", _UTC, nullable=True))
    op.add_column("applications", sa.Column("whatsapp_unreachable_at", _UTC, nullable=True))
    op.add_column("outbox", sa.Column("provider_message_id", sa.String(length=200), nullable=True))
    op.create_index("ix_outbox_provider_message_id", "outbox", ["provider_message_id"])
    op.add_column("tasks", sa.Column("notice_problem", sa.String(length=32), nullable=True))
    # existing officers: in-app notices only
    op.add_column("users", sa.Column("notify_email", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("users", sa.Column("notify_whatsapp", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("whatsapp_conversations", sa.Column("last_inbound_at", _UTC, nullable=True))
    # a conversation's last update is its last inbound message: the windows still open stay open
    op.execute("UPDATE whatsapp_conversations SET last_inbound_at = updated_at")
    # the applicants who applied in the chat consented by doing so
    op.execute("UPDATE applications SET whatsapp_consent_at = created_at WHERE channel = 'whatsapp'")


def downgrade() -> None:
    with op.batch_alter_table("whatsapp_conversations") as batch_op:
        batch_op.drop_column("last_inbound_at")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("notify_whatsapp")
        batch_op.drop_column("notify_email")
    with op.batch_alter_table("tasks") as batch_op:
        batch_op.drop_column("notice_problem")
    op.drop_index("ix_outbox_provider_message_id", table_name="outbox")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("provider_message_id")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("whatsapp_unreachable_at")
        batch_op.drop_column("whatsapp_consent_at")
    op.drop_index("ix_notifications_unread", table_name="notifications")
    op.drop_index("ix_notifications_user", table_name="notifications")
    op.drop_table("notifications")

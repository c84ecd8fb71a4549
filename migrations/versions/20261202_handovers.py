"""The card's hand-over (issue 20.3): who received it (name, NIK, relationship to the child), the card
number handed over, the check against the family card in the population records, and a proxy's letter.

Revision ID: handovers
Revises: task_search_text
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "handovers"
down_revision = "task_search_text"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def upgrade() -> None:
    op.create_table(
        "handovers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("recipient_name", sa.String(length=100), nullable=False),
        sa.Column("recipient_nik", sa.String(length=16), nullable=False),
        sa.Column("relationship", sa.String(length=32), nullable=False),
        sa.Column("card_number", sa.String(length=32), nullable=False),
        sa.Column("kk_check", sa.String(length=16), nullable=False),
        sa.Column("proxy_letter_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("handed_over_by", sa.String(length=64), nullable=False),
        sa.Column("handed_over_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(["application_id"], ["applications.id"]),
        sa.ForeignKeyConstraint(["proxy_letter_id"], ["documents.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("application_id"),
    )


def downgrade() -> None:
    op.drop_table("handovers")

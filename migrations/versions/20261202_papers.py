"""Papers an office signs (issue 20): officers' NIP, the Ka. UPTD's NIP, the card number from the print
step, and the letter numbers (one counter per year, one row per paper numbered).

Revision ID: papers
Revises: staff_accounts
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "papers"
down_revision = "staff_accounts"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def upgrade() -> None:
    # plain ALTER TABLE ... ADD COLUMN on both databases (no table copy: other tables refer to these)
    op.add_column("users", sa.Column("nip", sa.String(length=18), nullable=True))
    op.add_column("kecamatan", sa.Column("uptd_head_nip", sa.String(length=18), nullable=False, server_default=""))
    op.add_column("applications", sa.Column("card_number", sa.String(length=32), nullable=True))
    op.create_table(
        "letter_sequences",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year"),
    )
    op.create_table(
        "letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=120), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=120), nullable=False),
        sa.Column("issued_at", _UTC, nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject"),
        sa.UniqueConstraint("year", "seq", name="uq_letters_year_seq"),
    )


def downgrade() -> None:
    op.drop_table("letters")
    op.drop_table("letter_sequences")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("card_number")
    with op.batch_alter_table("kecamatan") as batch_op:
        batch_op.drop_column("uptd_head_nip")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("nip")

"""The card's last mile (issue 20.1, 20.2): one distribution batch per kecamatan, each card's arrival at
the UPTD (arrived or missing, when, by whom, a note), and the UPTD's opening hours for the parent's notice.

Revision ID: uptd_arrival
Revises: version_files
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "uptd_arrival"
down_revision = "version_files"
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type
HOURS = "Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.30 WIB"


def upgrade() -> None:
    op.add_column("distribution_batches", sa.Column("kecamatan", sa.String(length=16), nullable=True))
    op.create_index("ix_distribution_batches_kecamatan", "distribution_batches", ["kecamatan"])
    op.add_column("distribution_items", sa.Column("arrival", sa.String(length=16), nullable=True))
    op.add_column("distribution_items", sa.Column("arrival_at", _UTC, nullable=True))
    op.add_column("distribution_items", sa.Column("arrival_by", sa.String(length=100), nullable=True))
    op.add_column("distribution_items", sa.Column("arrival_note", sa.Text(), nullable=True))
    op.add_column("kecamatan", sa.Column("uptd_hours", sa.String(length=200), nullable=False, server_default=HOURS))


def downgrade() -> None:
    with op.batch_alter_table("kecamatan") as batch_op:
        batch_op.drop_column("uptd_hours")
    with op.batch_alter_table("distribution_items") as batch_op:
        for column in ("arrival_note", "arrival_by", "arrival_at", "arrival"):
            batch_op.drop_column(column)
    op.drop_index("ix_distribution_batches_kecamatan", table_name="distribution_batches")
    with op.batch_alter_table("distribution_batches") as batch_op:
        batch_op.drop_column("kecamatan")

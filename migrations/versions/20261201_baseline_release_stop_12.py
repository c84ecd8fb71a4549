"""Baseline: the schema of the stop-12 release (commit 0d03f16), as its ``create_all`` made it.

Idempotent, so that it also adopts a database made before migrations existed (no ``alembic_version``):
a table, column or index the database already has is kept, what it lacks is added, and the index an
earlier version had and the release replaced (``ix_tasks_inbox``) is dropped. A database made by the
release itself is left as it is and only stamped; one made by an earlier version gains what it lacked
(the covering inbox index, ``timers.handler`` and ``timers.params``, the tables added since). The
audit log's append-only triggers are created on SQLite and PostgreSQL.

Revision ID: baseline
Revises:
Create Date: 2026-12-01
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "baseline"
down_revision = None
branch_labels = None
depends_on = None

_UTC = sa.DateTime(timezone=True)  # engine.models.UTCDateTime stores UTC in this column type


def _inspector() -> sa.Inspector | None:
    """The database as it is; None when writing a script (``kia db upgrade --sql``: a new database)."""
    return None if op.get_context().as_sql else sa.inspect(op.get_bind())


def _table(name: str, *elements: Any) -> None:
    """Create the table, or add the nullable or defaulted columns an existing one lacks."""
    inspector = _inspector()
    if inspector is None or not inspector.has_table(name):
        op.create_table(name, *elements)
        return
    present = {c["name"] for c in inspector.get_columns(name)}
    for column in elements:
        if isinstance(column, sa.Column) and column.name not in present:
            _add_column(name, column)


# Defaults for the NOT NULL columns an earlier version lacked (the existing rows get these).
_BACKFILL = {("timers", "params"): "'{}'"}


def _add_column(table: str, column: sa.Column) -> None:
    backfill = _BACKFILL.get((table, column.name))
    if not column.nullable and backfill is None:
        raise RuntimeError(f"{table}.{column.name} is missing and has no default for the existing rows")
    default = sa.text(backfill) if backfill is not None else None
    op.add_column(table, sa.Column(column.name, column.type, nullable=column.nullable, server_default=default))
    if backfill is not None and op.get_context().dialect.name == "postgresql":
        op.alter_column(table, column.name, server_default=None)  # as create_all makes it


def _index(name: str, table: str, columns: list[str], unique: bool = False) -> None:
    inspector = _inspector()
    if inspector is None or name not in {i["name"] for i in inspector.get_indexes(table)}:
        op.create_index(name, table, columns, unique=unique)


_APPEND_ONLY = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{op_.lower()} BEFORE {op_} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        for op_ in ("UPDATE", "DELETE")
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$",
        "DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log",
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()",
    ],
}


def upgrade() -> None:
    _table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("target", sa.String(length=100), nullable=True),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("client_ip", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_audit_actor_at", "audit_log", ["actor", "at"])
    _index("ix_audit_log_at", "audit_log", ["at"])
    _table(
        "calendar_overrides",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("open", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("changed_by", sa.String(length=100), nullable=True),
        sa.Column("changed_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    _table(
        "distribution_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=100), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_distribution_batches_created_at", "distribution_batches", ["created_at"])
    _table(
        "kecamatan",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("uptd_name", sa.String(length=200), nullable=False),
        sa.Column("uptd_address", sa.String(length=300), nullable=False),
        sa.Column("uptd_head", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    _table(
        "population_records",
        sa.Column("nik", sa.String(length=16), nullable=False),
        sa.Column("kk_number", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("sex", sa.String(length=1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_place", sa.String(length=100), nullable=False),
        sa.Column("family_role", sa.String(length=32), nullable=False),
        sa.Column("father_name", sa.String(length=100), nullable=False),
        sa.Column("mother_name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("kecamatan", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("nik"),
    )
    _index("ix_population_records_kk_number", "population_records", ["kk_number"])
    _table(
        "process_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_key", sa.String(length=100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("bpmn_xml", sa.Text(), nullable=False),
        sa.Column("deployed_at", _UTC, nullable=False),
        sa.Column("deployed_by", sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("content_hash"),
        sa.UniqueConstraint("process_key", "version"),
    )
    _index("ix_process_versions_process_key", "process_versions", ["process_key"])
    _table(
        "rate_limits",
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("window_start", _UTC, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    _table(
        "regions",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("code"),
    )
    _index("ix_regions_level", "regions", ["level"])
    _table(
        "revisions",
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("stamp", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    _table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("kecamatan", sa.String(length=16), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("username"),
    )
    _table(
        "whatsapp_conversations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(length=128), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("phone"),
        sa.UniqueConstraint("user_id"),
    )
    _table(
        "whatsapp_statuses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("error_code", sa.String(length=32), nullable=True),
        sa.Column("recorded_at", _UTC, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", "status"),
    )
    _index("ix_whatsapp_statuses_message_id", "whatsapp_statuses", ["message_id"])
    _table(
        "instances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("process_version_id", sa.Integer(), nullable=False),
        sa.Column("business_key", sa.String(length=32), nullable=False),
        sa.Column("kecamatan", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("state", sa.LargeBinary(), nullable=False),
        sa.Column("lock_version", sa.Integer(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("updated_at", _UTC, nullable=False),
        sa.Column("completed_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["process_version_id"],
            ["process_versions.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("business_key"),
    )
    _index("ix_instances_process_version_id", "instances", ["process_version_id"])
    _table(
        "whatsapp_inbound",
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("received_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["whatsapp_conversations.id"],
        ),
        sa.PrimaryKeyConstraint("message_id"),
    )
    _index("ix_whatsapp_inbound_conversation_id", "whatsapp_inbound", ["conversation_id"])
    _table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("pin_hash", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kia_kind", sa.String(length=16), nullable=False),
        sa.Column("applicant", sa.JSON(), nullable=False),
        sa.Column("child", sa.JSON(), nullable=False),
        sa.Column("warnings", sa.JSON(), nullable=False),
        sa.Column("created_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
        sa.UniqueConstraint("instance_id"),
    )
    _table(
        "events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=True),
        sa.Column("lane", sa.String(length=50), nullable=True),
        sa.Column("actor", sa.String(length=100), nullable=True),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_events_at", "events", ["at"])
    _index("ix_events_instance", "events", ["instance_id", "id"])
    _table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("recipient", sa.String(length=200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _UTC, nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("sent_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_outbox_instance_id", "outbox", ["instance_id"])
    _index("ix_outbox_pending", "outbox", ["status", "next_attempt_at"])
    _table(
        "tasks",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("lane", sa.String(length=50), nullable=False),
        sa.Column("form_key", sa.String(length=50), nullable=False),
        sa.Column("kecamatan", sa.String(length=16), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("time_standard", sa.String(length=32), nullable=True),
        sa.Column("time_basis", sa.String(length=16), nullable=True),
        sa.Column("ready_at", _UTC, nullable=False),
        sa.Column("due_at", _UTC, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("claimed_at", _UTC, nullable=True),
        sa.Column("completed_by", sa.String(length=100), nullable=True),
        sa.Column("completed_at", _UTC, nullable=True),
        sa.Column("overdue", sa.Boolean(), nullable=False),
        sa.Column("escalations", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_tasks_inbox_cover", "tasks", ["state", "lane", "kecamatan", "overdue", "due_at", "ready_at", "id"])
    _index("ix_tasks_instance", "tasks", ["instance_id", "state"])
    _table(
        "timers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("step", sa.String(length=100), nullable=True),
        sa.Column("due_at", _UTC, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("fired_at", _UTC, nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=True),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_timers_due", "timers", ["state", "due_at"])
    _index("ix_timers_instance_id", "timers", ["instance_id"])
    _table(
        "api_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("application_id", sa.Integer(), nullable=True),
        sa.Column("created_at", _UTC, nullable=False),
        sa.Column("expires_at", _UTC, nullable=False),
        sa.Column("revoked_at", _UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    _index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    _table(
        "delivery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("at", _UTC, nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.Column("provider_message_id", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_delivery_attempts_outbox", "delivery_attempts", ["outbox_id", "number"])
    _index("ix_delivery_attempts_provider_message_id", "delivery_attempts", ["provider_message_id"])
    _table(
        "distribution_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=False),
        sa.Column("kecamatan", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["distribution_batches.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_distribution_items_application_id", "distribution_items", ["application_id"])
    _index("ix_distribution_items_batch_id", "distribution_items", ["batch_id"])
    _table(
        "documents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", _UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    _index("ix_documents_application_id", "documents", ["application_id"])

    op.execute("DROP INDEX IF EXISTS ix_tasks_inbox")  # replaced by ix_tasks_inbox_cover
    for statement in _APPEND_ONLY.get(op.get_context().dialect.name, []):
        op.execute(statement)


_TABLES = [
    "documents",
    "distribution_items",
    "delivery_attempts",
    "api_tokens",
    "timers",
    "tasks",
    "outbox",
    "events",
    "applications",
    "whatsapp_inbound",
    "instances",
    "whatsapp_statuses",
    "whatsapp_conversations",
    "users",
    "revisions",
    "regions",
    "rate_limits",
    "process_versions",
    "population_records",
    "kecamatan",
    "distribution_batches",
    "calendar_overrides",
    "audit_log",
]


def downgrade() -> None:
    for name in _TABLES:  # children first
        op.drop_table(name)
    if op.get_context().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")

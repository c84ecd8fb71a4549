"""Database tables of the engine and the domain.

Three groups, kept apart on purpose:

* definitions: ``ProcessVersion`` (immutable diagrams keyed by content hash);
* instances: ``Instance`` (the serialized SpiffWorkflow state, the source of truth) and ``Application``
  (the applicant's personal data, one per instance);
* projections: ``TaskRow``, ``Event``, ``Timer`` and ``Outbox``, written in the same transaction as the
  state so that queries never deserialize a workflow.

The models use plain SQLAlchemy so that the engine runs without Flask; the Flask app hands the same
``Base`` to Flask-SQLAlchemy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .clock import clock


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every database (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")

        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None

        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _now() -> datetime:
    return clock.now()


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


# --- definitions -------------------------------------------------------------------------------------


class ProcessVersion(Base):
    __tablename__ = "process_versions"
    __table_args__ = (UniqueConstraint("process_key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100), index=True)
    version: Mapped[int]
    content_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # Loaded only when asked for (a definition cache miss, GET .../bpmn): every instance and task row
    # joins its version, and 40+ KB of XML per row would otherwise travel with each inbox page.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    deployed_at: Mapped[datetime] = mapped_column(default=_now)
    deployed_by: Mapped[str | None] = mapped_column(String(100))


# --- instances ---------------------------------------------------------------------------------------


class Instance(Base):
    """One running (or finished) process instance. ``lock_version`` guards against lost updates."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(32), unique=True)
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default="baru")
    state: Mapped[bytes] = mapped_column(LargeBinary)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    completed_at: Mapped[datetime | None]

    process_version: Mapped[ProcessVersion] = relationship(lazy="joined")

    __mapper_args__ = {"version_id_col": lock_version}


class Application(Base):
    """The applicant's personal data. Never logged, never on a public endpoint."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    pin_hash: Mapped[str] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    kia_kind: Mapped[str] = mapped_column(String(16))
    applicant: Mapped[dict[str, Any]]
    child: Mapped[dict[str, Any]]
    warnings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now)

    instance: Mapped[Instance] = relationship(lazy="joined")
    documents: Mapped[list[Document]] = relationship(back_populates="application", order_by="Document.id")


class Document(Base):
    """An uploaded file. The bytes live on disk, content-addressed by sha256."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    media_type: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int]
    uploaded_at: Mapped[datetime] = mapped_column(default=_now)

    application: Mapped[Application] = relationship(back_populates="documents")


# --- projections -------------------------------------------------------------------------------------


class TaskRow(Base):
    """One human task as the inboxes see it."""

    __tablename__ = "tasks"
    __table_args__ = (
        # Every column an inbox filters or orders by: its count and its page's ids read this index alone
        # (an index-only scan over the open tasks), never the task rows (api.tasks.inbox_page).
        Index("ix_tasks_inbox_cover", "state", "lane", "kecamatan", "overdue", "due_at", "ready_at", "id"),
        Index("ix_tasks_instance", "instance_id", "state"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    step: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(50))
    form_key: Mapped[str] = mapped_column(String(50))
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | completed | cancelled
    time_standard: Mapped[str | None] = mapped_column(String(32))
    time_basis: Mapped[str | None] = mapped_column(String(16))
    ready_at: Mapped[datetime] = mapped_column(default=_now)
    due_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(100))
    completed_at: Mapped[datetime | None]
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    escalations: Mapped[int] = mapped_column(Integer, default=0)

    instance: Mapped[Instance] = relationship(lazy="joined")


class Event(Base):
    """The append-only history of an instance: the control card and the audit trail."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_instance", "instance_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"))
    task_id: Mapped[str | None] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(100))
    lane: Mapped[str | None] = mapped_column(String(50))
    actor: Mapped[str | None] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=_now, index=True)
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Timer(Base):
    """A waiting timer, so that sweeps find due timers without loading any workflow.

    ``kind="diagram"``: a boundary timer of the workflow (``id`` is its SpiffWorkflow task id, level 1).
    ``kind="repeat"``: a further escalation of a still-open step (level 2, 3, ...): when due, the
    diagram's escalation service ``handler`` is called again with ``params``; no workflow step runs.
    A diagram timer also names the ``handler`` and ``params`` of the service task it leads to, when
    those are known from the diagram: the sweep then records its effect at the deadline (``recorded``)
    and the workflow catches up after (``engine.timers``).
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting | recorded | fired | cancelled
    fired_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(16), default="diagram")  # diagram | repeat
    level: Mapped[int] = mapped_column(Integer, default=1)
    handler: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Outbox(Base):
    """A message to deliver (WhatsApp, e-mail, staff notification), written with the state change."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp | email | staff
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=_now)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    sent_at: Mapped[datetime | None]


class DeliveryAttempt(Base):
    """One try at delivering an outbox message: when, whether it worked, why not (no message text)."""

    __tablename__ = "delivery_attempts"
    __table_args__ = (Index("ix_delivery_attempts_outbox", "outbox_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int] = mapped_column(ForeignKey("outbox.id"))
    number: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=_now)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[str | None] = mapped_column(String(300))
    provider_message_id: Mapped[str | None] = mapped_column(String(128), index=True)


# --- the working-time calendar ----------------------------------------------------------------------


class CalendarOverride(Base):
    """A supervisor's exception to the calendar: ``open=False`` closes a working day, ``open=True``
    opens a closed one (a weekend service day, or a holiday)."""

    __tablename__ = "calendar_overrides"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    open: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(String(200), default="")
    changed_by: Mapped[str | None] = mapped_column(String(100))
    changed_at: Mapped[datetime] = mapped_column(default=_now)


class Revision(Base):
    """A stamp that changes with every change of some shared setting (``key="calendar"``), so that
    every process notices with one primary-key read and reloads only then."""

    __tablename__ = "revisions"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    stamp: Mapped[str] = mapped_column(String(32))


# --- SOP step 4: distribution batches -----------------------------------------------------------------


class DistributionBatch(Base):
    """SOP step 4: one batch of printed cards grouped by a Dafdud officer at once (the recap's record)."""

    __tablename__ = "distribution_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)

    items: Mapped[list[DistributionItem]] = relationship(back_populates="batch", order_by="DistributionItem.id")


class DistributionItem(Base):
    """One application in a distribution batch, with the kecamatan it was grouped under."""

    __tablename__ = "distribution_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("distribution_batches.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    kecamatan: Mapped[str | None] = mapped_column(String(16))

    batch: Mapped[DistributionBatch] = relationship(back_populates="items")


# --- the WhatsApp channel ------------------------------------------------------------------------------


class Conversation(Base):
    """The guided chat with one WhatsApp user, so that it survives restarts.

    Keyed by the business-scoped user id (``user_id``) and the phone number when WhatsApp shares it.
    ``data`` holds the draft application (personal data: never logged)."""

    __tablename__ = "whatsapp_conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    phone: Mapped[str | None] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(32), default="idle")
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class InboundMessage(Base):
    """A webhook message already processed (Meta delivers again when unsure): its id only, no body."""

    __tablename__ = "whatsapp_inbound"

    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("whatsapp_conversations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(default=_now)


class MessageStatus(Base):
    """A delivery status Meta reported for a message we sent (sent, delivered, read, failed)."""

    __tablename__ = "whatsapp_statuses"
    __table_args__ = (UniqueConstraint("message_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), index=True)
    status: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    error_code: Mapped[str | None] = mapped_column(String(32))
    recorded_at: Mapped[datetime] = mapped_column(default=_now)


# --- people and reference data ----------------------------------------------------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated: admin,operator,dafdud,uptd,owner,supervisor
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=_now)

    @property
    def role_set(self) -> set[str]:
        return {r for r in self.roles.split(",") if r}

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.full_name.split() if part)[:3].upper()


class ApiToken(Base):
    """A bearer token, stored as its sha256 so a database leak reveals no usable token."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    created_at: Mapped[datetime] = mapped_column(default=_now)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(lazy="joined")


class Kecamatan(Base):
    """A district of Pekanbaru and its UPTD (editable reference data)."""

    __tablename__ = "kecamatan"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    uptd_name: Mapped[str] = mapped_column(String(200))
    uptd_address: Mapped[str] = mapped_column(String(300), default="")
    uptd_head: Mapped[str] = mapped_column(String(200), default="")


class Region(Base):
    """A Kemendagri region code (editable reference data): ``level`` is province ("14"), regency
    ("14.71", a regency or city) or district ("14.71.08", a kecamatan). NIK and KK numbers are checked
    against these codes; names are for display only."""

    __tablename__ = "regions"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)  # province | regency | district


class PopulationRecord(Base):
    """One person in the local copy of the population records (SIAK), loaded by ``kia siak import``.

    Personal data: read by the verifying officer only, never logged. ``kecamatan`` is the kecamatan of
    the family card's (KK) address today, the domicile a card is handed over in."""

    __tablename__ = "population_records"

    nik: Mapped[str] = mapped_column(String(16), primary_key=True)
    kk_number: Mapped[str] = mapped_column(String(16), index=True)
    name: Mapped[str] = mapped_column(String(100))
    sex: Mapped[str] = mapped_column(String(1))
    birth_date: Mapped[date] = mapped_column(Date)
    birth_place: Mapped[str] = mapped_column(String(100), default="")
    family_role: Mapped[str] = mapped_column(String(32), default="")
    father_name: Mapped[str] = mapped_column(String(100), default="")
    mother_name: Mapped[str] = mapped_column(String(100), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    kecamatan: Mapped[str] = mapped_column(String(16), default="")
    updated_at: Mapped[datetime] = mapped_column(default=_now)


class RateLimit(Base):
    """Fixed-window counters shared by every worker."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)


# --- audit -------------------------------------------------------------------------------------------


class AuditEntry(Base):
    """One staff action (who, what, when, from where). Append-only: the engine offers no update or
    delete, and database triggers refuse both on SQLite and PostgreSQL. No personal data: the target is
    an application code or task id, never a name or number from the application."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_actor_at", "actor", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=_now, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(300))
    target: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[int] = mapped_column(Integer)
    client_ip: Mapped[str | None] = mapped_column(String(64))


_APPEND_ONLY_SQLITE = [
    DDL(
        f"CREATE TRIGGER IF NOT EXISTS audit_log_no_{op.lower()} BEFORE {op} ON audit_log "
        "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
    )
    for op in ("UPDATE", "DELETE")
]
_APPEND_ONLY_POSTGRESQL = [
    DDL(
        "CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
    ),
    DDL(
        "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()"
    ),
]
for _ddl in _APPEND_ONLY_SQLITE:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="sqlite"))
for _ddl in _APPEND_ONLY_POSTGRESQL:
    event.listen(AuditEntry.__table__, "after_create", _ddl.execute_if(dialect="postgresql"))

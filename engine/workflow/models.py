"""Tables of the BPMN runtime: nothing here knows the KIA domain.

* definitions: ``ProcessVersion`` (immutable diagrams keyed by content hash) with its ``VersionFile``
  rows (the forms and decision tables deployed with it) and ``ProcessActivation`` (which version is
  current, an audited fact of its own);
* instances: ``Instance`` (the serialized SpiffWorkflow state, the source of truth);
* projections: ``TaskRow``, ``Event``, ``Timer`` and ``Outbox`` (with its ``DeliveryAttempt``), written in
  the same transaction as the state so that queries never deserialize a workflow;
* settings: ``CalendarOverride`` and ``Revision`` (the working-time calendar), ``RateLimit``.

The models use plain SQLAlchemy so that the engine runs without Flask; the Flask app hands the same
``Base`` to Flask-SQLAlchemy. ``engine.models`` imports these and the domain's tables in one place.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
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
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from engine.workflow.clock import clock


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


class TaskRowState(StrEnum):
    """Where a human task is: in an inbox, done, or gone (its workflow moved on without it)."""

    OPEN = "open"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class TimerState(StrEnum):
    """``waiting`` until due; ``recorded`` when the sweep wrote its effect and the workflow is yet to catch
    up; ``fired`` once done; ``cancelled`` when its step ended first; ``incident`` when firing it failed
    (see ``Incident``): out of the sweeps until a retry; ``held`` while its step is on hold (out of the
    sweeps; back to ``waiting``, its due time moved by the held time, when the step resumes:
    ``engine.workflow.holds``)."""

    WAITING = "waiting"
    RECORDED = "recorded"
    FIRED = "fired"
    CANCELLED = "cancelled"
    INCIDENT = "incident"
    HELD = "held"


class TimerKind(StrEnum):
    DIAGRAM = "diagram"  # a boundary timer of the workflow
    REPEAT = "repeat"  # a further escalation of a still-open step


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"  # WhatsApp's status webhooks: the phone got it ...
    READ = "read"  # ... and opened it
    FAILED = "failed"


class VersionFileKind(StrEnum):
    """What a file deployed with a diagram is."""

    FORM = "form"  # a form-js JSON document; its name is the form's id, which a user task's form_key names
    DECISION = "decision"  # a DMN decision table (XML); its name is the uploaded file's name


def _now() -> datetime:
    return clock.now()


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


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
    note: Mapped[str | None] = mapped_column(Text)  # the process owner's change note, given at deploy

    # read on a definition cache miss and by GET of a version only (never joined: see bpmn_xml)
    files: Mapped[list[VersionFile]] = relationship(
        lazy="select", order_by="(VersionFile.kind, VersionFile.name)", cascade="all, delete-orphan"
    )


class VersionFile(Base):
    """A form or decision table deployed with a version: part of it, as immutable as its diagram (the
    version's content hash covers it)."""

    __tablename__ = "process_version_files"
    __table_args__ = (UniqueConstraint("process_version_id", "kind", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # VersionFileKind
    name: Mapped[str] = mapped_column(String(100))
    content: Mapped[str] = mapped_column(Text)


class ProcessActivation(Base):
    """Which version new instances of a process start on: the latest row of its key (append-only).

    Deploying a new version activates it; a roll back activates an older one with a reason. Versions
    themselves never change."""

    __tablename__ = "process_activations"
    __table_args__ = (Index("ix_process_activations_key", "process_key", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(100))
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=_now)

    process_version: Mapped[ProcessVersion] = relationship(lazy="joined")


class Instance(Base):
    """One running (or finished) process instance. ``lock_version`` guards against lost updates."""

    __tablename__ = "instances"

    id: Mapped[int] = mapped_column(primary_key=True)
    process_version_id: Mapped[int] = mapped_column(ForeignKey("process_versions.id"), index=True)
    business_key: Mapped[str] = mapped_column(String(32), unique=True)
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32))  # set at start (WorkflowConfig.initial_status)
    state: Mapped[bytes] = mapped_column(LargeBinary)
    lock_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    updated_at: Mapped[datetime] = mapped_column(default=_now)
    completed_at: Mapped[datetime | None]

    process_version: Mapped[ProcessVersion] = relationship(lazy="joined")
    if TYPE_CHECKING:  # for the type checker only: the domain's backref (engine.kia.models.Application.instance)
        application: Any

    __mapper_args__ = {"version_id_col": lock_version}


class TaskRow(Base):
    """One human task as the inboxes see it."""

    __tablename__ = "tasks"
    __table_args__ = (
        # Every column an inbox filters or orders by: its count and its page's ids read this index alone
        # (an index-only scan over the open tasks), never the task rows (api.tasks.inbox_page).
        Index("ix_tasks_inbox_cover", "state", "lane", "kecamatan", "overdue", "due_at", "ready_at", "id"),
        Index("ix_tasks_instance", "instance_id", "state"),
        # The whole inbox in deadline order (a supervisor's deep page reads it in order, without sorting).
        Index("ix_tasks_due_order", "state", "due_at", "ready_at", "id"),
        # A search by words reads the open tasks' ``search_text`` and every column the inbox filters or
        # orders by from this index alone: small (open tasks only), scanned whole, never the task rows.
        Index(
            "ix_tasks_open_search",
            "search_text",
            "lane",
            "kecamatan",
            "overdue",
            "due_at",
            "ready_at",
            "id",
            postgresql_where=text("state = 'open'"),
            sqlite_where=text("state = 'open'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"))
    step: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str] = mapped_column(String(50))
    form_key: Mapped[str] = mapped_column(String(50))
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default=TaskRowState.OPEN)
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
    # set by the domain when something keeps the task from going on (e.g. "note_undelivered": the
    # applicant has not received the correction note this task waits for)
    notice_problem: Mapped[str | None] = mapped_column(String(32))
    # what a staff search by words compares with while the task is open (the domain's words for its
    # instance, lowercased: ``WorkflowConfig.search_text``); cleared when the task ends
    search_text: Mapped[str | None] = mapped_column(String(250))
    # an office problem keeps the step waiting ("tunda", engine.workflow.holds): since when, by whom, why;
    # ``held_seconds`` is the time of its ended holds, in the step's basis (working time for a "working"
    # step), by which its deadline moved
    held_at: Mapped[datetime | None]
    held_by: Mapped[str | None] = mapped_column(String(100))
    hold_reason: Mapped[str | None] = mapped_column(String(200))
    held_seconds: Mapped[int] = mapped_column(Integer, default=0)

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
    and the workflow catches up after (``engine.workflow.timers``).
    """

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "state", "due_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    task_id: Mapped[str | None] = mapped_column(String(36))
    step: Mapped[str | None] = mapped_column(String(100))
    due_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(16), default=TimerState.WAITING)
    fired_at: Mapped[datetime | None]
    kind: Mapped[str] = mapped_column(String(16), default=TimerKind.DIAGRAM)
    level: Mapped[int] = mapped_column(Integer, default=1)
    handler: Mapped[str | None] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Incident(Base):
    """A workflow step that failed at run time (an expression or a service handler): the workflow stayed
    as it was before the step, and this row says where and why, until a retry succeeds.

    ``kind="task"``: completing the user task ``task_id`` failed (``payload`` holds the validated form
    data, ``actor`` who completed it, so that a retry completes it the same way); ``kind="timer"``: the
    timer ``timer_id`` failed to fire (it waits in state ``incident``, out of the sweeps)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_state", "state", "last_failed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("instances.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # task | timer
    task_id: Mapped[str | None] = mapped_column(String(36))
    timer_id: Mapped[str | None] = mapped_column(String(36))
    step: Mapped[str | None] = mapped_column(String(100))  # the step being completed or timed
    element: Mapped[str | None] = mapped_column(String(100))  # the diagram element that failed, when known
    error: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    actor: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16), default="open")  # open | resolved
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_failed_at: Mapped[datetime] = mapped_column(default=_now)
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(100))

    instance: Mapped[Instance] = relationship()


class Outbox(Base):
    """A message to deliver (WhatsApp or e-mail, to an applicant or an officer), written with the state
    change. ``status`` follows the message: pending, sent, then (WhatsApp's status webhooks) delivered
    and read; or failed. ``provider_message_id`` is the WhatsApp message id of the send that worked."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("instances.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # whatsapp | email
    kind: Mapped[str] = mapped_column(String(32))
    recipient: Mapped[str] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), index=True)
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


class RateLimit(Base):
    """Fixed-window counters shared by every worker."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    window_start: Mapped[datetime]
    count: Mapped[int] = mapped_column(Integer, default=0)

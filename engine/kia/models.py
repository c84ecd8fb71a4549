"""Tables of the KIA domain: the applicant's data, documents, distribution batches, the WhatsApp
channel, staff accounts and the reference data (kecamatan, region codes, population records)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    update,
)
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from engine.workflow.models import Base, Instance, TaskRow, TaskRowState, _now


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
    # Copies of the JSON kept by ``_copy_search_keys`` on every write: child["nik"] (the duplicate check,
    # the NIK search) and both names, lowercased, which the open tasks carry for the staff search by a
    # name fragment (``tasks.search_text``).
    child_nik: Mapped[str | None] = mapped_column(String(16), index=True)
    search_names: Mapped[str | None] = mapped_column(String(250))
    # the number on the printed card, as the print operator entered it (SOP step 3; on the office's recap)
    card_number: Mapped[str | None] = mapped_column(String(32))
    warnings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    # The applicant's consent to notices over WhatsApp (stated with the application, or by starting a
    # chat): without it, notices go by e-mail only.
    whatsapp_consent_at: Mapped[datetime | None]
    # Set when WhatsApp reported the applicant's number unreachable (e.g. error 131026): notices then go
    # by e-mail, and staff see the flag on the application.
    whatsapp_unreachable_at: Mapped[datetime | None]

    # ``Instance.application`` (one per instance) is defined here, so that the runtime's model knows no domain
    instance: Mapped[Instance] = relationship(lazy="joined", backref=backref("application", uselist=False))
    documents: Mapped[list[Document]] = relationship(back_populates="application", order_by="Document.id")


NAMES_SEPARATOR = "|"  # between the child's and the applicant's name: a fragment never spans both


def search_names_of(child: dict[str, Any] | None, applicant: dict[str, Any] | None) -> str:
    """What the staff search by name compares a fragment with (``engine.kia.applications.matching``)."""
    names = [str((person or {}).get("name") or "") for person in (child, applicant)]
    return NAMES_SEPARATOR.join(" ".join(name.split()).lower() for name in names)[:250]


@event.listens_for(Application, "before_insert")
@event.listens_for(Application, "before_update")
def _copy_search_keys(_mapper: Any, connection: Any, app: Application) -> None:
    """Keep the copies of the JSON up to date, and the names on the application's open tasks (the inbox
    searches those, ``tasks.search_text``) when they changed: a correction of a name, or the blanking of a
    cancelled application's personal data."""
    nik = (app.child or {}).get("nik")
    app.child_nik = str(nik)[:16] if nik else None
    names = search_names_of(app.child, app.applicant)
    if names != app.search_names:
        app.search_names = names
        connection.execute(
            update(TaskRow)
            .where(TaskRow.instance_id == app.instance_id, TaskRow.state == TaskRowState.OPEN)
            .values(search_text=names)
        )


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


class ArrivalState(StrEnum):
    """A card of a distribution batch at the UPTD (``DistributionItem.arrival``; None: on its way)."""

    ARRIVED = "arrived"
    MISSING = "missing"


class DistributionBatch(Base):
    """SOP step 4: one batch of printed cards grouped by a Dafdud officer at once (the recap's record)."""

    __tablename__ = "distribution_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=_now, index=True)
    kecamatan: Mapped[str | None] = mapped_column(String(16), index=True)  # one kecamatan's cards (None: older batches)

    items: Mapped[list[DistributionItem]] = relationship(back_populates="batch", order_by="DistributionItem.id")


class DistributionItem(Base):
    """One application in a distribution batch, with the kecamatan it was grouped under."""

    __tablename__ = "distribution_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("distribution_batches.id"), index=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), index=True)
    task_id: Mapped[str] = mapped_column(String(36))
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    # at the UPTD (``engine.kia.arrival``): None while on its way, else "arrived" or "missing"
    arrival: Mapped[str | None] = mapped_column(String(16))
    arrival_at: Mapped[datetime | None]
    arrival_by: Mapped[str | None] = mapped_column(String(100))
    arrival_note: Mapped[str | None] = mapped_column(Text)

    batch: Mapped[DistributionBatch] = relationship(back_populates="items")


class Handover(Base):
    """SOP step 5's end: who received the card at the UPTD (``engine.kia.handover``), one row per
    application. Personal data (the recipient's name and NIK): staff of the application only; masked on
    anything the applicant reads."""

    __tablename__ = "handovers"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id"), unique=True)
    task_id: Mapped[str] = mapped_column(String(36))
    recipient_name: Mapped[str] = mapped_column(String(100))
    recipient_nik: Mapped[str] = mapped_column(String(16))
    relationship: Mapped[str] = mapped_column(String(32))  # engine.kia.handover.Relationship
    card_number: Mapped[str] = mapped_column(String(32))
    # the recipient against the child's family card in the population records (``KkCheck``)
    kk_check: Mapped[str] = mapped_column(String(16))
    # a proxy's letter (a document of the application, kind ``proxy_letter``); None for a family member,
    # and once the retention clean-up deleted the application's documents
    proxy_letter_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    handed_over_by: Mapped[str] = mapped_column(String(64))
    handed_over_at: Mapped[datetime] = mapped_column(default=_now)


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
    # The user's last message to the business: free-form messages are delivered only within 24 hours
    # of it (WhatsApp's customer-service window); outside it only approved templates.
    last_inbound_at: Mapped[datetime | None]


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


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    nip: Mapped[str | None] = mapped_column(String(18))  # civil servant number (18 digits), on signature blocks
    password_hash: Mapped[str] = mapped_column(String(200))
    roles: Mapped[str] = mapped_column(String(200))  # comma-separated: admin,operator,dafdud,uptd,owner,supervisor
    kecamatan: Mapped[str | None] = mapped_column(String(16))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(200))
    # notices (escalations, undelivered notes) are always shown in the app; also by e-mail / WhatsApp:
    notify_email: Mapped[bool] = mapped_column(Boolean, default=False)
    notify_whatsapp: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # a temporary password set by a supervisor: the officer chooses a new one before anything else
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=_now)

    @property
    def role_set(self) -> set[str]:
        return {r for r in self.roles.split(",") if r}

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.full_name.split() if part)[:3].upper()


class Notification(Base):
    """A notice to one officer, shown under the bell of every staff page (escalations, a correction note
    the applicant did not receive). Title and body are in Bahasa Indonesia and name no personal data."""

    __tablename__ = "notifications"
    # the bell: the newest of one user (user_id, id), and the number still unread (user_id, read_at)
    __table_args__ = (
        Index("ix_notifications_user", "user_id", "id"),
        Index("ix_notifications_unread", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(32))  # escalation | note_undelivered
    application_code: Mapped[str | None] = mapped_column(String(32))
    task_id: Mapped[str | None] = mapped_column(String(36))
    level: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=_now)
    read_at: Mapped[datetime | None]


class ApiToken(Base):
    """A session stored on the server (``engine.kia.sessions``): a bearer token (``kind="bearer"``) or
    the session of a signed-in page (``kind="web"``, its token inside the signed cookie), of a staff user
    or of an applicant's application. Stored as its sha256 so a database leak reveals no usable token."""

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    application_id: Mapped[int | None] = mapped_column(ForeignKey("applications.id"))
    kind: Mapped[str] = mapped_column(String(8), default="bearer")  # bearer | web | reset (a reset link)
    password_stamp: Mapped[str | None] = mapped_column(String(16))  # staff: of the password it was opened with
    created_at: Mapped[datetime] = mapped_column(default=_now)
    last_seen_at: Mapped[datetime | None]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User | None] = relationship(lazy="joined")


class SignInGuard(Base):
    """Sign-in attempts at one key (``pin:<application id>``, ``user:<id>``, ``user:<id>@<client>``)
    since its last success, and the lock they earned (``engine.kia.lockout``). No personal data."""

    __tablename__ = "sign_in_guards"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_attempt_at: Mapped[datetime | None]


class Kecamatan(Base):
    """A district of Pekanbaru and its UPTD (editable reference data)."""

    __tablename__ = "kecamatan"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    uptd_name: Mapped[str] = mapped_column(String(200))
    uptd_address: Mapped[str] = mapped_column(String(300), default="")
    uptd_head: Mapped[str] = mapped_column(String(200), default="")
    uptd_head_nip: Mapped[str] = mapped_column(String(18), default="")
    uptd_hours: Mapped[str] = mapped_column(String(200), default="")  # opening hours, told to the parents


class LetterSequence(Base):
    """The last letter number issued in one year (``engine.kia.letters``): one row per year, counted up
    under its row lock so that two papers never share a number."""

    __tablename__ = "letter_sequences"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Letter(Base):
    """A letter number given to one paper (``subject``: what it is the paper of, e.g. a batch's recap for
    one kecamatan); a reprint of the same paper shows the same number."""

    __tablename__ = "letters"
    __table_args__ = (UniqueConstraint("year", "seq", name="uq_letters_year_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(120), unique=True)
    year: Mapped[int] = mapped_column(Integer)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(default=_now)
    issued_by: Mapped[str] = mapped_column(String(64))


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

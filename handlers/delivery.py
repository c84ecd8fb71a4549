"""Delivery of the outbox: WhatsApp through the gateway, e-mail through SMTP.

Every attempt is recorded (``DeliveryAttempt``); a failed attempt is retried with exponential backoff
until ``max_attempts``, so nothing is lost when the Graph API, the mail server or the network fails.
A channel without settings is left alone: its messages wait in the outbox until it is configured.

The network call never runs inside a database transaction: rows are first claimed (their
``next_attempt_at`` pushed ahead by a lease, with SKIP LOCKED on PostgreSQL so that several workers
share the work), then sent, then the outcome is written. A worker that dies after sending and before
writing leaves the row to be sent again after the lease: delivery is at least once.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from engine.kia import notifications
from engine.models import Application, Conversation, DeliveryAttempt, Outbox, OutboxStatus
from engine.ops import retention
from engine.workflow.clock import clock
from engine.workflow.events import record

from . import channels
from .errors import SendError
from .mail import SmtpSettings, send_mail
from .whatsapp import templates
from .whatsapp.gateway import OUTSIDE_WINDOW, RATE_LIMITED, UNDELIVERABLE, Gateway, GatewayError

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
SENT_SECRET_TEXT = retention.BLANKED_TEXT
CHANNELS = ("whatsapp", "email")  # every outbox row is on one of these: a sender handles each
WINDOW = timedelta(hours=24)  # WhatsApp's customer-service window after the person's last message
# Notices to the applicant that go by e-mail when WhatsApp cannot deliver them (chat replies do not)
FALLBACK_KINDS = frozenset(
    {"correction_note", "receipt", "reminder", "card_ready", "collection_reminder", "pin_reissued"}
)
# How far a message has got; a status webhook only moves it forward (Meta may report out of order)
PROGRESS = {"pending": 0, "sent": 1, "delivered": 2, "read": 3}

# Documents attached to WhatsApp notices (payload "document"), rendered when sent:
# name -> function(session, outbox row, public base URL) -> (PDF bytes, file name).
DocumentRenderer = Callable[[Session, Outbox, str], tuple[bytes, str]]
DOCUMENTS: dict[str, DocumentRenderer] = {}


def register_document(name: str) -> Callable[[DocumentRenderer], DocumentRenderer]:
    def register(func: DocumentRenderer) -> DocumentRenderer:
        DOCUMENTS[name] = func
        return func

    return register


@dataclass
class Senders:
    """The configured channels. ``None`` means: not configured, leave its messages waiting."""

    whatsapp: Gateway | None = None
    smtp: SmtpSettings | None = None
    templates: dict[str, templates.Template] = field(default_factory=templates.configured)
    public_url: str = ""
    max_attempts: int = 12
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_cap: timedelta = timedelta(hours=1)

    def channels(self) -> list[str]:
        return [name for name, ready in (("whatsapp", self.whatsapp), ("email", self.smtp)) if ready is not None]

    def backoff(self, attempts: int) -> timedelta:
        """30 s, 1 min, 2 min, 4 min ... capped at an hour (after the ``attempts``-th failure)."""
        return min(self.backoff_cap, self.backoff_base * (2 ** max(0, attempts - 1)))


@dataclass
class Report:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)


def deliver_due(
    sessions: sessionmaker[Session], senders: Senders, limit: int = 50, only: Iterable[int] | None = None
) -> Report:
    """Send what is due now on the configured channels (or just the rows ``only``)."""
    report = Report()
    for outbox_id in claim(sessions, senders.channels(), limit, only):
        outcome = _attempt(sessions, senders, outbox_id)
        getattr(report, outcome).append(outbox_id)
    if report.sent or report.failed or report.retrying:
        log.info("outbox: %d sent, %d to retry, %d failed", len(report.sent), len(report.retrying), len(report.failed))
    return report


def claim(
    sessions: sessionmaker[Session], channels: list[str], limit: int, only: Iterable[int] | None = None
) -> list[int]:
    if not channels:
        return []
    now = clock.now()
    with sessions() as session, session.begin():
        query = (
            select(Outbox)
            .where(Outbox.status == OutboxStatus.PENDING, Outbox.next_attempt_at <= now, Outbox.channel.in_(channels))
            .order_by(Outbox.next_attempt_at, Outbox.id)
            .limit(limit)
        )
        if only is not None:
            query = query.where(Outbox.id.in_(list(only)))
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        for row in rows:
            row.next_attempt_at = now + LEASE
        return [row.id for row in rows]


def _attempt(sessions: sessionmaker[Session], senders: Senders, outbox_id: int) -> str:
    provider_id, failure, form = None, None, None
    with sessions() as session:
        row = session.get(Outbox, outbox_id)
        try:
            provider_id, form = _send(session, senders, row)
        except SendError as exc:
            failure = exc
        except Exception as exc:  # a bug must not stop the other deliveries; the row is retried
            log.error("outbox %d: unexpected %s at %s", outbox_id, type(exc).__name__, where(exc))
            failure = SendError(f"unexpected: {type(exc).__name__}")
    now = clock.now()
    with sessions() as session, session.begin():
        row = session.get(Outbox, outbox_id, with_for_update=True)
        row.attempts += 1
        session.add(
            DeliveryAttempt(
                outbox_id=row.id,
                number=row.attempts,
                at=now,
                ok=failure is None,
                error=failure.reason[:300] if failure else None,
                provider_message_id=provider_id,
            )
        )
        if failure is None:
            row.status, row.sent_at, row.last_error = OutboxStatus.SENT, now, None
            row.provider_message_id = provider_id if row.channel == "whatsapp" else None
            payload = {**row.payload, "sent_as": form}
            payload.pop("force_template", None)
            row.payload = payload
            if not may_go_again(row):  # a PIN, a chat reply, an officer's note: only a placeholder is kept
                retention.blank(row)
            if payload.get("secret"):  # the PIN is a template parameter too
                row.payload = {**row.payload, "text": SENT_SECRET_TEXT, "parameters": []}
            return "sent"
        row.last_error = failure.reason[:300]
        if not failure.retryable or row.attempts >= senders.max_attempts:
            give_up(session, row, failure.code, now)
            log.warning(
                "outbox %d (%s/%s): gave up after %d attempt(s): %s",
                row.id,
                row.channel,
                row.kind,
                row.attempts,
                failure.reason,
            )
            return "failed"
        row.next_attempt_at = now + senders.backoff(row.attempts)
        log.info(
            "outbox %d (%s/%s): attempt %d failed (%s), next at %s",
            row.id,
            row.channel,
            row.kind,
            row.attempts,
            failure.reason,
            row.next_attempt_at.isoformat(),
        )
        return "retrying"


def where(exc: BaseException) -> str:
    """Where ``exc`` was raised, as ``file:line in function`` frames, without its message: an exception
    from a mail or HTTP library can quote a recipient's address or a message's text."""
    frames = traceback.extract_tb(exc.__traceback__)[-6:]
    return " <- ".join(f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in reversed(frames))


def _send(session: Session, senders: Senders, row: Outbox) -> tuple[str, str]:
    """Send one row; its provider message id and the form it went as (email, text, document, template)."""
    if not row.recipient:
        raise SendError("no recipient", retryable=False)
    payload: dict[str, Any] = row.payload or {}
    if row.channel == "email":
        subject = payload.get("subject") or "Layanan KIA"
        return send_mail(senders.smtp, row.recipient, subject, payload.get("text", "")), "email"
    return _send_whatsapp(session, senders, row, payload)


def window_open(session: Session, recipient: str, now: datetime) -> bool:
    """Whether ``recipient`` (phone or business-scoped user id) wrote to us in the last 24 hours."""
    last = session.scalar(
        select(Conversation.last_inbound_at).where(
            (Conversation.phone == recipient) | (Conversation.user_id == recipient)
        )
    )
    return last is not None and last > now - WINDOW


def _send_whatsapp(session: Session, senders: Senders, row: Outbox, payload: dict[str, Any]) -> tuple[str, str]:
    """Free-form inside the person's 24-hour window, the kind's approved template outside it; a free-form
    send refused with 131047 (the window closed meanwhile) goes again at once as the template."""
    template = senders.templates.get(row.kind)
    if template is not None and (payload.get("force_template") or not window_open(session, row.recipient, clock.now())):
        return _send_template(session, senders, row, template, payload), "template"
    try:
        return _send_free_form(session, senders, row, payload)
    except GatewayError as error:
        if error.code != OUTSIDE_WINDOW or template is None:
            raise
    return _send_template(session, senders, row, template, payload), "template"


def _send_free_form(session: Session, senders: Senders, row: Outbox, payload: dict[str, Any]) -> tuple[str, str]:
    gateway = senders.whatsapp
    renderer = DOCUMENTS.get(payload.get("document") or "")
    if renderer is not None:
        content, filename = renderer(session, row, senders.public_url)
        media_id = gateway.upload_media(content, "application/pdf", filename)
        return gateway.send_document(row.recipient, media_id, filename, caption=payload.get("text", "")), "document"
    return gateway.send_text(row.recipient, payload.get("text", "")), "text"


def _send_template(
    session: Session, senders: Senders, row: Outbox, template: templates.Template, payload: dict[str, Any]
) -> str:
    gateway = senders.whatsapp
    parameters = [templates.parameter(p) for p in payload.get("parameters") or []]
    document = None
    renderer = DOCUMENTS.get(payload.get("document") or "")
    if template.header_document and renderer is not None:
        content, filename = renderer(session, row, senders.public_url)
        document = (gateway.upload_media(content, "application/pdf", filename), filename)
    return gateway.send_template(row.recipient, template.name, template.language, parameters, document)


def may_go_again(row: Outbox) -> bool:
    """A WhatsApp notice that a later ``failed`` status may send again as a template or by e-mail keeps
    its text until it is delivered, given up, or the clean-up's ``retention.STATUS_WAIT`` has passed."""
    return row.channel == "whatsapp" and row.kind in FALLBACK_KINDS and row.instance_id is not None


def give_up(session: Session, row: Outbox, code: int | None, now: datetime) -> None:
    """The row cannot be delivered (a permanent error, the attempts used up, a ``failed`` webhook). A
    notice to the applicant then goes by e-mail when they gave an address; an unreachable number
    (131026 and the like) flags the application, so that later notices go by e-mail at once."""
    row.status = "failed"
    if may_go_again(row):
        fall_back(session, row, code, now)
    retention.blank(row)  # an e-mail copy has the text now


def fall_back(session: Session, row: Outbox, code: int | None, now: datetime) -> None:
    """The e-mail copy of a WhatsApp notice that could not be delivered."""
    app = session.scalar(select(Application).where(Application.instance_id == row.instance_id))
    if app is None:
        return
    if code in UNDELIVERABLE and app.whatsapp_unreachable_at is None:
        app.whatsapp_unreachable_at = now
        record(session, app.instance, "whatsapp_unreachable", actor="sistem", at=now, code=code, notice=row.kind)
    email = (app.applicant or {}).get("email")
    if email and not row.payload.get("fallback_sent"):
        row.payload = {**row.payload, "fallback_sent": True}
        session.add(channels.email_copy(row, email, now, f"whatsapp {code}" if code else "whatsapp"))


def on_status(session: Session, row: Outbox, status: str, code: int | None, now: datetime, senders: Senders) -> None:
    """A status webhook for a message sent from ``row``: delivered and read move it forward; ``failed``
    is handled like a failed send with the same code (template after 131047, back off after a rate
    limit, else give up and fall back to e-mail)."""
    if status in PROGRESS:
        if row.status in PROGRESS and PROGRESS[status] > PROGRESS[row.status]:
            row.status = status
            if status in ("delivered", "read"):
                retention.blank(row)  # nothing can send it again now
                if row.kind == "correction_note" and row.instance_id is not None:
                    notifications.note_received(session, row.instance_id)
        return
    if status != "failed" or row.status == "failed":
        return
    row.last_error = f"status failed code {code}" if code else "status failed"
    if code == OUTSIDE_WINDOW and row.kind in senders.templates and row.payload.get("sent_as") != "template":
        row.status, row.next_attempt_at = "pending", now
        row.payload = {**row.payload, "force_template": True}
    elif code in RATE_LIMITED and row.attempts < senders.max_attempts:
        row.status, row.next_attempt_at = "pending", now + senders.backoff(row.attempts)
    else:
        give_up(session, row, code, now)


@register_document("receipt.pdf")
def _receipt(session: Session, row: Outbox, public_url: str) -> tuple[bytes, str]:
    """The receipt (issue 5's paper), its QR code pointing at the status page."""
    from handlers import pdf  # WeasyPrint is loaded only when a receipt is sent

    app = session.scalar(select(Application).where(Application.instance_id == row.instance_id))
    if app is None:
        raise SendError("receipt: application not found", retryable=False)
    return pdf.receipt(session, app, f"{public_url.rstrip('/')}/status/{app.code}"), f"resi-{app.code}.pdf"

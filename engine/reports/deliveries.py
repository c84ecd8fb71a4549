"""The report of documents sent ("laporan pengiriman dokumen") for a period.

Two sources, read from tables only: the outbox (receipts and notes over WhatsApp, codes by e-mail, with
their delivery outcome) and the hand-over of cards at the UPTD (completed hand-over tasks). Staff-only
notifications (escalations) are not documents sent to applicants and are left out. Recipients are
masked: the report is printed and filed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.applications import mask_number
from engine.kia.models import Application, Kecamatan
from engine.kia.people import full_names
from engine.workflow.models import Instance, Outbox, TaskRow, TaskRowState

HANDOVER_FORM = "handover"
STAFF_NOTICE = "staff_notice"  # an officer's e-mail or WhatsApp notice (engine.kia.notifications)
APPLICANT_CHANNELS = ("whatsapp", "email")

KIND_LABELS = {
    "receipt": "Resi permohonan KIA",
    "application_code": "Kode permohonan",
    "correction_note": "Catatan perbaikan data",
    "card_ready": "Pemberitahuan KIA siap diambil",
    "reminder": "Pengingat kepada pemohon",
    "handover": "KIA diserahkan kepada pemohon",
    "pin_reissued": "PIN baru",
    "chat_reply": "Balasan chat WhatsApp",
}
CHANNEL_LABELS = {"whatsapp": "WhatsApp", "email": "E-mail", "uptd": "Langsung di UPTD"}
STATUS_LABELS = {
    "sent": "Terkirim",
    "delivered": "Diterima",
    "read": "Dibaca",
    "pending": "Menunggu",
    "failed": "Gagal",
    "done": "Diserahkan",
}
FORM_LABELS = {"template": "templat", "text": "teks", "document": "dokumen", "email": "e-mail"}


def notices_of(session: Session, instance_id: int) -> list[dict[str, Any]]:
    """Every message to the applicant of one application, oldest first, with its channel and its state
    (pending, sent, delivered, read, failed: WhatsApp's status webhooks move it on), for staff."""
    rows = session.scalars(select(Outbox).where(Outbox.instance_id == instance_id).order_by(Outbox.id))
    return [
        {
            "id": row.id,
            "kind": row.kind,
            "kind_label": KIND_LABELS.get(row.kind, row.kind),
            "channel": row.channel,
            "channel_label": CHANNEL_LABELS.get(row.channel, row.channel),
            "recipient": mask_recipient(row.recipient),
            "state": row.status,
            "state_label": STATUS_LABELS.get(row.status, row.status),
            "sent_as": (row.payload or {}).get("sent_as"),
            "fallback_of": (row.payload or {}).get("fallback_of"),
            "attempts": row.attempts,
            "last_error": row.last_error if row.status != "sent" else None,  # codes only (no message text)
            "created_at": row.created_at,
            "sent_at": row.sent_at,
        }
        for row in rows
    ]


@dataclass(frozen=True)
class Delivery:
    at: datetime
    code: str
    kind: str
    kind_label: str
    channel: str
    recipient: str
    status: str
    status_label: str
    attempts: int | None
    completed_at: datetime | None
    detail: str  # who handed a card over; delivery errors are not shown (they may quote a recipient)


def mask_recipient(recipient: str) -> str:
    """``s***@example.com`` for an e-mail address, the last four digits of a phone number."""
    recipient = recipient or ""
    if "@" in recipient:
        local, _, domain = recipient.partition("@")
        return (local[:1] + "***@" + domain) if local else "***@" + domain
    return mask_number(recipient)


def deliveries(session: Session, start: datetime, end: datetime) -> list[Delivery]:
    """Every document sent to applicants in ``[start, end)``, oldest first."""
    found: list[Delivery] = []
    sent = session.execute(
        select(Outbox, Application.code)
        .join(Application, Application.instance_id == Outbox.instance_id, isouter=True)
        .where(
            Outbox.channel.in_(APPLICANT_CHANNELS),
            Outbox.kind != STAFF_NOTICE,
            Outbox.created_at >= start,
            Outbox.created_at < end,
        )
    )
    for message, code in sent:
        found.append(
            Delivery(
                at=message.created_at,
                code=code or "",
                kind=message.kind,
                kind_label=KIND_LABELS.get(message.kind, message.kind),
                channel=message.channel,
                recipient=mask_recipient(message.recipient),
                status=message.status,
                status_label=STATUS_LABELS.get(message.status, message.status),
                attempts=message.attempts,
                completed_at=message.sent_at,
                detail="",
            )
        )
    handed = session.execute(
        select(TaskRow, Application.code, Instance.kecamatan)
        .join(Instance, Instance.id == TaskRow.instance_id)
        .join(Application, Application.instance_id == TaskRow.instance_id)
        .where(
            TaskRow.form_key == HANDOVER_FORM,
            TaskRow.state == TaskRowState.COMPLETED,
            TaskRow.completed_at >= start,
            TaskRow.completed_at < end,
        )
    )
    rows = list(handed)
    districts = {k.code: k for k in session.scalars(select(Kecamatan))}
    names = full_names(session, (row.completed_by for row, _, _ in rows))
    for row, code, kecamatan in rows:
        district = districts.get(kecamatan or "")
        officer = names.get(row.completed_by or "", row.completed_by or "")
        found.append(
            Delivery(
                at=cast(datetime, row.completed_at),  # handed over: completed
                code=code,
                kind="handover",
                kind_label=KIND_LABELS["handover"],
                channel="uptd",
                recipient=district.uptd_name if district else "",
                status="done",
                status_label=STATUS_LABELS["done"],
                attempts=None,
                completed_at=row.completed_at,
                detail=f"oleh {officer}" if officer else "",
            )
        )
    found.sort(key=lambda d: (d.at, d.code, d.kind))
    return found

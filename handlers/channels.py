"""Which channel a notice to the applicant takes, and the outbox rows for it.

WhatsApp only with the applicant's consent: stated with the application (``whatsapp_consent``), or by
starting a chat with the service (a conversation from the applicant's number); and not once WhatsApp
reported the number unreachable. Otherwise the notice goes by e-mail. Whether a WhatsApp notice goes as
free-form text or as its approved template is decided when it is sent (``tasks.delivery``): the
24-hour window may open or close in between.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Application, Conversation, Outbox

SUBJECTS = {
    "correction_note": "Permohonan KIA perlu diperbaiki",
    "receipt": "Resi permohonan KIA",
    "reminder": "Pengingat permohonan KIA",
    "card_ready": "KIA siap diambil",
    "collection_reminder": "Pengingat: KIA menunggu diambil",
    "pin_reissued": "PIN baru permohonan KIA",
    "application_code": "Kode permohonan KIA Anda",
}
SIGNATURE = "\n\nDisdukcapil Kota Pekanbaru"


def chatting_phones(session: Session, phones: Iterable[str]) -> set[str]:
    """Those of ``phones`` that started a chat with the service (starting a chat is consent)."""
    wanted = {p for p in phones if p}
    if not wanted:
        return set()
    return set(session.scalars(select(Conversation.phone).where(Conversation.phone.in_(wanted))))


def whatsapp_allowed(app: Application, chatting: set[str]) -> bool:
    phone = (app.applicant or {}).get("phone")
    if not phone or app.whatsapp_unreachable_at is not None:
        return False
    return app.whatsapp_consent_at is not None or phone in chatting


def applicant_message(
    app: Application,
    kind: str,
    text: str,
    now: datetime,
    chatting: set[str],
    parameters: list[str] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An outbox row (as column values) for a notice to the applicant, on the channel allowed."""
    payload: dict[str, Any] = {"text": text, "parameters": list(parameters or []), "code": app.code, **extra}
    if whatsapp_allowed(app, chatting):
        channel, recipient = "whatsapp", app.applicant["phone"]
    else:
        channel, recipient = "email", (app.applicant or {}).get("email", "")
        payload = email_payload(kind, payload)
    return dict(
        instance_id=app.instance_id,
        channel=channel,
        kind=kind,
        recipient=recipient,
        payload=payload,
        next_attempt_at=now,
        created_at=now,
    )


def email_payload(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The e-mail form of a notice: a subject, the same text, no WhatsApp-only parts."""
    text = payload.get("text", "")
    kept = {k: v for k, v in payload.items() if k not in ("document", "force_template", "parameters")}
    return {**kept, "subject": SUBJECTS.get(kind, "Layanan KIA"), "text": text + SIGNATURE}


def email_copy(row: Outbox, email: str, now: datetime, reason: str) -> Outbox:
    """The e-mail fallback of a WhatsApp notice that could not be delivered."""
    return Outbox(
        instance_id=row.instance_id,
        channel="email",
        kind=row.kind,
        recipient=email,
        payload={**email_payload(row.kind, row.payload or {}), "fallback_of": row.id, "reason": reason},
        next_attempt_at=now,
        created_at=now,
    )

"""Handlers for the SOP's sends: notes to the applicant, the receipt, the code by e-mail, escalations.

Each writes to the outbox in the step's transaction; the WhatsApp and e-mail workers deliver from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Application, Kecamatan, Outbox, TaskRow, TaskRowState, Timer, TimerKind, TimerState, User
from engine.workflow import escalation
from engine.workflow.database import insert_rows
from engine.workflow.events import record
from engine.workflow.services import DueTimer, ServiceContext, handler


def _application(ctx: ServiceContext) -> Application:
    return ctx.instance.application


def _whatsapp_message(
    instance_id: int, contact: dict | None, kind: str, text: str, now: datetime, **extra: Any
) -> dict[str, Any]:
    """An outbox row (as column values) for a WhatsApp message to the applicant."""
    return dict(
        instance_id=instance_id,
        channel="whatsapp",
        kind=kind,
        recipient=(contact or {}).get("phone", ""),
        payload={"text": text, **extra},
        next_attempt_at=now,
        created_at=now,
    )


def _to_applicant(ctx: ServiceContext, kind: str, text: str, **extra: Any) -> Outbox:
    app = _application(ctx)
    message = Outbox(**_whatsapp_message(ctx.instance.id, app.applicant if app else None, kind, text, ctx.now, **extra))
    ctx.session.add(message)
    return message


def _display_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


@handler("notify_correction")
def notify_correction(ctx: ServiceContext, note: str = "") -> dict:
    """SOP steps 2 and 3: tell the applicant what must be corrected."""
    app = _application(ctx)
    text = (
        f"Permohonan KIA {_display_code(app.code)} perlu diperbaiki.\n"
        f"Catatan petugas: {note}\n"
        "Kirim perbaikan dengan membalas *perbaikan* di chat WhatsApp ini, atau melalui halaman status "
        "permohonan."
    )
    _to_applicant(ctx, "correction_note", text, code=app.code)
    return {"notified": True}


@handler("send_receipt")
def send_receipt(ctx: ServiceContext) -> dict:
    """SOP step 2: the receipt ("resi") for collecting the card, sent over WhatsApp."""
    app = _application(ctx)
    text = (
        f"Permohonan KIA {_display_code(app.code)} telah diverifikasi dan lengkap.\n"
        "Simpan resi ini sebagai bukti pengambilan KIA."
    )
    _to_applicant(ctx, "receipt", text, code=app.code, document="receipt.pdf")
    return {"receipt": True}


@handler("email_code")
def email_code(ctx: ServiceContext) -> dict:
    """SOP step 2: the application code to the applicant's e-mail."""
    app = _application(ctx)
    ctx.session.add(
        Outbox(
            instance_id=ctx.instance.id,
            channel="email",
            kind="application_code",
            recipient=app.applicant.get("email", ""),
            next_attempt_at=ctx.now,
            created_at=ctx.now,
            payload={
                "subject": "Kode permohonan KIA Anda",
                "text": (
                    f"Kode permohonan KIA Anda: {_display_code(app.code)}\n"
                    "Gunakan kode ini untuk memeriksa status permohonan.\n\n"
                    "Disdukcapil Kota Pekanbaru"
                ),
                "code": app.code,
            },
        )
    )
    return {"emailed": True}


@handler("notify_ready")
def notify_ready(ctx: ServiceContext) -> dict:
    """SOP step 5 begins: the card waits at the applicant's UPTD (a template message, usually >24 h)."""
    app = _application(ctx)
    kec = ctx.session.get(Kecamatan, ctx.instance.kecamatan or "")
    where = f"{kec.uptd_name}, {kec.uptd_address}" if kec else "UPTD kecamatan Anda"
    text = (
        f"KIA untuk permohonan {_display_code(app.code)} sudah siap diambil di {where}.\n"
        "Bawa resi permohonan saat pengambilan."
    )
    _to_applicant(
        ctx, "card_ready", text, code=app.code, template="kia_siap_diambil", parameters=[_display_code(app.code), where]
    )
    return {"notified": True}


@handler("apply_correction")
def apply_correction(ctx: ServiceContext) -> dict:
    """After the applicant's correction: the corrected fields were already applied by the correction
    endpoint; record the resubmission on the control card."""
    record(ctx.session, ctx.instance, "resubmitted", actor=ctx.actor, at=ctx.now, step=ctx.step, lane="applicant")
    return {"resubmitted": True}


def _escalation_notices(session: Session, escalated: list[escalation.Escalated], now: datetime) -> list[dict]:
    """Outbox rows for escalated steps: a reminder to the applicant for the applicant's own step, else a
    notice to every active supervisor."""
    contacts = {}
    if any(e.lane == "applicant" for e in escalated):
        contacts = dict(
            session.execute(
                select(Application.instance_id, Application.applicant).where(
                    Application.instance_id.in_({e.instance_id for e in escalated if e.lane == "applicant"})
                )
            ).all()
        )
    supervisors = (
        []
        if all(e.lane == "applicant" for e in escalated)
        else [
            user.username
            for user in session.scalars(select(User).where(User.active.is_(True)))
            if "supervisor" in user.role_set
        ]
    )
    notices = []
    for e in escalated:
        if e.lane == "applicant":
            notices.append(
                _whatsapp_message(
                    e.instance_id,
                    contacts.get(e.instance_id),
                    "reminder",
                    f"Pengingat: permohonan KIA Anda menunggu tindakan Anda ({e.title}). Balas pesan ini untuk "
                    "melanjutkan.",
                    now,
                    level=e.level,
                )
            )
            continue
        notices.extend(
            dict(
                instance_id=e.instance_id,
                channel="staff",
                kind="escalation",
                recipient=username,
                next_attempt_at=now,
                created_at=now,
                payload={
                    "text": f"Eskalasi tingkat {e.level}: langkah '{e.title}' ({e.lane}) melewati "
                    f"standar waktu {e.time_standard}.",
                    "task_id": e.task_id,
                    "step": e.step,
                    "level": e.level,
                },
            )
            for username in supervisors
        )
    return notices


def escalate_due(session: Session, due: list[DueTimer], now: datetime) -> int:
    """The batch form of ``escalate``: escalate the steps of many due timers at once (``engine.workflow.timers``
    calls it at their deadline) and write every notice in one insert; returns how many escalated."""
    escalated = escalation.escalate_due(session, due, now, handler="escalate")
    insert_rows(session, Outbox.__table__, _escalation_notices(session, escalated, now))
    return len(escalated)


@handler("escalate", batch=escalate_due)
def escalate(ctx: ServiceContext, step: str = "") -> dict:
    """A step overran its time standard: flag it, record the level, tell whoever must act, and plan the
    next level (``engine.workflow.escalation``). The applicant's own step gets a reminder to the applicant.

    Runs when the workflow takes its boundary timer's path. The sweep has usually recorded this
    escalation at the deadline already (the timer is ``recorded``); then there is nothing left to do."""
    row = ctx.session.scalar(
        select(TaskRow).where(
            TaskRow.instance_id == ctx.instance.id, TaskRow.step == step, TaskRow.state == TaskRowState.OPEN
        )
    )
    if row is None:
        return {"escalated": False}
    if (
        ctx.session.scalar(
            select(Timer.id).where(
                Timer.instance_id == ctx.instance.id,
                Timer.task_id == row.id,
                Timer.kind == TimerKind.DIAGRAM,
                Timer.state == TimerState.RECORDED,
            )
        )
        is not None
    ):
        return {"escalated": True}
    due = DueTimer(id=ctx.task_id, instance_id=ctx.instance.id, due_at=row.due_at or ctx.now, params={"step": step})
    return {"escalated": escalate_due(ctx.session, [due], ctx.now) > 0}

"""Handlers for the SOP's sends: notes to the applicant, the receipt, the code by e-mail, escalations.

Each writes to the outbox in the step's transaction; the WhatsApp and e-mail workers deliver from there.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from engine import escalation
from engine.models import Application, Kecamatan, Outbox, TaskRow, User
from engine.projection import record
from engine.services import ServiceContext, handler


def _application(ctx: ServiceContext) -> Application:
    return ctx.session.scalar(select(Application).where(Application.instance_id == ctx.instance.id))


def _to_applicant(ctx: ServiceContext, kind: str, text: str, **extra: Any) -> Outbox:
    app = _application(ctx)
    contact = app.applicant if app else {}
    message = Outbox(instance_id=ctx.instance.id, channel="whatsapp", kind=kind,
                     recipient=contact.get("phone", ""), payload={"text": text, **extra},
                     next_attempt_at=ctx.now, created_at=ctx.now)
    ctx.session.add(message)
    return message


def _display_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


@handler("notify_correction")
def notify_correction(ctx: ServiceContext, note: str = "") -> dict:
    """SOP steps 2 and 3: tell the applicant what must be corrected."""
    app = _application(ctx)
    text = (f"Permohonan KIA {_display_code(app.code)} perlu diperbaiki.\n"
            f"Catatan petugas: {note}\n"
            "Kirim perbaikan dengan membalas *perbaikan* di chat WhatsApp ini, atau melalui halaman status "
            "permohonan.")
    _to_applicant(ctx, "correction_note", text, code=app.code)
    return {"notified": True}


@handler("send_receipt")
def send_receipt(ctx: ServiceContext) -> dict:
    """SOP step 2: the receipt ("resi") for collecting the card, sent over WhatsApp."""
    app = _application(ctx)
    text = (f"Permohonan KIA {_display_code(app.code)} telah diverifikasi dan lengkap.\n"
            "Simpan resi ini sebagai bukti pengambilan KIA.")
    _to_applicant(ctx, "receipt", text, code=app.code, document="receipt.pdf")
    return {"receipt": True}


@handler("email_code")
def email_code(ctx: ServiceContext) -> dict:
    """SOP step 2: the application code to the applicant's e-mail."""
    app = _application(ctx)
    ctx.session.add(Outbox(
        instance_id=ctx.instance.id, channel="email", kind="application_code",
        recipient=app.applicant.get("email", ""), next_attempt_at=ctx.now, created_at=ctx.now,
        payload={"subject": "Kode permohonan KIA Anda",
                 "text": (f"Kode permohonan KIA Anda: {_display_code(app.code)}\n"
                          "Gunakan kode ini untuk memeriksa status permohonan.\n\n"
                          "Disdukcapil Kota Pekanbaru"),
                 "code": app.code}))
    return {"emailed": True}


@handler("notify_ready")
def notify_ready(ctx: ServiceContext) -> dict:
    """SOP step 5 begins: the card waits at the applicant's UPTD (a template message, usually >24 h)."""
    app = _application(ctx)
    kec = ctx.session.get(Kecamatan, ctx.instance.kecamatan or "")
    where = f"{kec.uptd_name}, {kec.uptd_address}" if kec else "UPTD kecamatan Anda"
    text = (f"KIA untuk permohonan {_display_code(app.code)} sudah siap diambil di {where}.\n"
            "Bawa resi permohonan saat pengambilan.")
    _to_applicant(ctx, "card_ready", text, code=app.code, template="kia_siap_diambil",
                  parameters=[_display_code(app.code), where])
    return {"notified": True}


@handler("apply_correction")
def apply_correction(ctx: ServiceContext) -> dict:
    """After the applicant's correction: the corrected fields were already applied by the correction
    endpoint; record the resubmission on the control card."""
    record(ctx.session, ctx.instance, "resubmitted", actor=ctx.actor, at=ctx.now, step=ctx.step,
           lane="applicant")
    return {"resubmitted": True}


@handler("escalate")
def escalate(ctx: ServiceContext, step: str = "") -> dict:
    """A step overran its time standard: flag it, record the level, tell whoever must act, and plan the
    next level (``engine.escalation``). The applicant's own step gets a reminder to the applicant."""
    row = ctx.session.scalar(select(TaskRow).where(TaskRow.instance_id == ctx.instance.id,
                                                   TaskRow.step == step, TaskRow.state == "open"))
    if row is None:
        return {"escalated": False}
    level = escalation.escalate_row(ctx, row)
    if level is None:
        return {"escalated": False}
    escalation.schedule_next(ctx, row, "escalate", {"step": step})
    if row.lane == "applicant":
        _to_applicant(ctx, "reminder", "Pengingat: permohonan KIA Anda menunggu tindakan Anda "
                      f"({row.title}). Balas pesan ini untuk melanjutkan.", level=level)
        return {"escalated": True}
    for user in ctx.session.scalars(select(User).where(User.active.is_(True))):
        if "supervisor" in user.role_set:
            ctx.session.add(Outbox(
                instance_id=ctx.instance.id, channel="staff", kind="escalation", recipient=user.username,
                next_attempt_at=ctx.now, created_at=ctx.now,
                payload={"text": f"Eskalasi tingkat {level}: langkah '{row.title}' ({row.lane}) melewati "
                                 f"standar waktu {row.time_standard}.", "task_id": row.id, "step": step,
                         "level": level}))
    return {"escalated": True}

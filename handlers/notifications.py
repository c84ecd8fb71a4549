"""Handlers for the SOP's sends: notes to the applicant, the receipt, the code by e-mail, escalations.

Each writes to the outbox in the step's transaction; the WhatsApp and e-mail workers deliver from there.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import collection, notifications
from engine.kia.corrections import indonesian_date
from engine.models import (
    Application,
    Instance,
    Kecamatan,
    Outbox,
    TaskRow,
    TaskRowState,
    Timer,
    TimerKind,
    TimerState,
)
from engine.workflow import escalation
from engine.workflow.database import insert_rows
from engine.workflow.events import record
from engine.workflow.services import DueTimer, ServiceContext, handler

from . import channels
from .whatsapp.templates import parameter

JAKARTA = ZoneInfo("Asia/Jakarta")


def _application(ctx: ServiceContext) -> Application:
    return ctx.instance.application


def _to_applicant(ctx: ServiceContext, kind: str, text: str, parameters: list[str], **extra: Any) -> Outbox:
    """A notice to the applicant on the channel their consent allows (``tasks.channels``)."""
    app = _application(ctx)
    chatting = channels.chatting_phones(ctx.session, [(app.applicant or {}).get("phone", "")])
    message = Outbox(**channels.applicant_message(app, kind, text, ctx.now, chatting, parameters, **extra))
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
    _to_applicant(ctx, "correction_note", text, [_display_code(app.code), parameter(note)])
    return {"notified": True}


@handler("send_receipt")
def send_receipt(ctx: ServiceContext) -> dict:
    """SOP step 2: the receipt ("resi") for collecting the card, sent over WhatsApp."""
    app = _application(ctx)
    text = (
        f"Permohonan KIA {_display_code(app.code)} telah diverifikasi dan lengkap.\n"
        "Simpan resi ini sebagai bukti pengambilan KIA."
    )
    _to_applicant(ctx, "receipt", text, [_display_code(app.code)], document="receipt.pdf")
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
    """SOP step 5 begins: the card is at the applicant's UPTD (a template message, usually >24 h), with the
    UPTD's address and opening hours; the reminder is planned for when the card still waits."""
    app = _application(ctx)
    where = collection.pickup_place(ctx.session.get(Kecamatan, ctx.instance.kecamatan or ""))
    text = (
        f"KIA siap diambil: KIA untuk permohonan {_display_code(app.code)} sudah tiba dan dapat diambil di "
        f"{where}.\nBawa resi permohonan saat pengambilan."
    )
    _to_applicant(ctx, "card_ready", text, [_display_code(app.code), parameter(where)])
    collection.plan_reminder(ctx.session, ctx.instance, ctx.now)
    return {"notified": True}


def remind_collection_due(session: Session, due: list[DueTimer], now: datetime) -> int:
    """The parents' reminders of due collection timers (``engine.kia.collection``), for the cards still
    waiting: one outbox row each and the event on the control card; returns how many went."""
    waiting = collection.waiting(session, {d.instance_id for d in due})
    apps = collection.applications_of(session, set(waiting))
    chatting = channels.chatting_phones(session, ((a.applicant or {}).get("phone", "") for a in apps.values()))
    districts = {k.code: k for k in session.scalars(select(Kecamatan))}
    rows = []
    for instance_id, task in waiting.items():
        app = apps.get(instance_id)
        if app is None:
            continue
        code, where = _display_code(app.code), collection.pickup_place(districts.get(task.kecamatan or ""))
        since = indonesian_date(task.ready_at.astimezone(JAKARTA).date())
        text = (
            f"Pengingat: KIA untuk permohonan {code} sudah menunggu sejak {since} di {where}.\n"
            "Bawa resi permohonan saat pengambilan."
        )
        rows.append(
            channels.applicant_message(app, "collection_reminder", text, now, chatting, [code, since, parameter(where)])
        )
        record(
            session,
            session.get_one(Instance, instance_id),
            collection.REMINDED,
            actor="sistem",
            at=now,
            step=task.step,
            lane=task.lane,
            task_id=task.id,
        )
    insert_rows(session, Outbox.__table__, rows)
    return len(rows)


@handler(collection.REMINDER_HANDLER, batch=remind_collection_due)
def remind_collection(ctx: ServiceContext) -> dict:
    """The parent's reminder when the card still waits for them (the timer sweep calls the batch form)."""
    due = DueTimer(id=ctx.task_id, instance_id=ctx.instance.id, due_at=ctx.now, params={})
    return {"reminded": remind_collection_due(ctx.session, [due], ctx.now) > 0}


@handler("apply_correction")
def apply_correction(ctx: ServiceContext) -> dict:
    """After the applicant's correction: the corrected fields were already applied by the correction
    endpoint; record the resubmission on the control card."""
    record(ctx.session, ctx.instance, "resubmitted", actor=ctx.actor, at=ctx.now, step=ctx.step, lane="applicant")
    return {"resubmitted": True}


def _reminders(session: Session, escalated: list[escalation.Escalated], now: datetime) -> list[dict]:
    """Outbox rows reminding applicants of their own overdue steps (one query for their applications)."""
    ids = {e.instance_id for e in escalated if e.lane == "applicant"}
    if not ids:
        return []
    apps = {a.instance_id: a for a in session.scalars(select(Application).where(Application.instance_id.in_(ids)))}
    chatting = channels.chatting_phones(session, ((a.applicant or {}).get("phone", "") for a in apps.values()))
    rows = []
    for e in escalated:
        app = apps.get(e.instance_id)
        if e.lane != "applicant" or app is None:
            continue
        code = _display_code(app.code)
        text = (
            f"Pengingat: permohonan KIA {code} menunggu tindakan Anda ({e.title}). Balas pesan ini untuk melanjutkan."
        )
        rows.append(channels.applicant_message(app, "reminder", text, now, chatting, [code, e.title], level=e.level))
    return rows


def escalate_due(session: Session, due: list[DueTimer], now: datetime) -> int:
    """The batch form of ``escalate``: escalate the steps of many due timers at once (``engine.workflow.timers``
    calls it at their deadline) and write every notice in one insert; returns how many escalated."""
    escalated = escalation.escalate_due(session, due, now, handler="escalate")
    insert_rows(session, Outbox.__table__, _reminders(session, escalated, now))
    notifications.notify_escalations(session, [e for e in escalated if e.lane != "applicant"], now)
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

"""Notices to officers: in the app (the bell on every staff page), and by e-mail or WhatsApp for those who
asked for it, through the outbox like the applicant's.

Who is told about an escalation depends on its level (``KIA_ESCALATION_RECIPIENTS``, default
``1=lane;2=lane,supervisor``): each level takes the entry with the largest level at or below it; an entry
names audiences: ``lane`` (the staff of the task's lane; for a lane scoped by kecamatan, such as the
UPTD's, that kecamatan's), ``supervisor``, or any other role (a lane id of a deployed diagram).
Everything here is set-based: the timer sweep records thousands of escalations at once, and their
notices go in with one insert per table.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Table, func, select, update
from sqlalchemy.orm import Session

from engine.kia.access import lane_name
from engine.kia.models import Notification, User
from engine.kia.process import SERVICE_ROLES
from engine.kia.security import display_code
from engine.workflow import worktime
from engine.workflow.calendar import parse_duration
from engine.workflow.catalogue import Catalogue, catalogue
from engine.workflow.database import insert_rows
from engine.workflow.errors import NotFound
from engine.workflow.lanes import LANE_ID
from engine.workflow.models import Instance, Outbox, TaskRow

DEFAULT_RECIPIENTS = "1=lane;2=lane,supervisor"
TASK_PATH = "/petugas/tugas/{task_id}"
APPLICATION_PATH = "/petugas/permohonan/{code}"
STAFF_NOTICE = "staff_notice"  # the outbox kind of an officer's e-mail or WhatsApp notice
AUDIENCES = frozenset({"lane", *SERVICE_ROLES})  # and any lane id: which exist is the deployed diagrams' choice

_levels: list[tuple[int, frozenset[str]]] = []
_public_url = ""


def parse_recipients(spec: str) -> list[tuple[int, frozenset[str]]]:
    """``"1=lane;2=lane,supervisor"`` -> ``[(1, {"lane"}), (2, {"lane", "supervisor"})]``; ValueError
    with the reason when the text is not of that form."""
    levels = []
    for part in filter(None, (p.strip() for p in spec.split(";"))):
        level, sep, names = part.partition("=")
        audiences = frozenset(n.strip() for n in names.split(",") if n.strip())
        if not sep or not level.strip().isdigit() or int(level) < 1 or not audiences:
            raise ValueError(f"escalation recipients: expected LEVEL=AUDIENCE[,AUDIENCE], not {part!r}")
        unknown = {a for a in audiences if a not in AUDIENCES and not LANE_ID.match(a)}
        if unknown:
            raise ValueError(f"escalation recipients: unknown audience {', '.join(sorted(unknown))}")
        levels.append((int(level), audiences))
    if not levels:
        raise ValueError("escalation recipients: no level given")
    return sorted(levels)


def configure(recipients: str = DEFAULT_RECIPIENTS, public_url: str = "") -> None:
    """Who is told at which level, and the service's public address (for the links in e-mails)."""
    global _levels, _public_url
    _levels = parse_recipients(recipients)
    _public_url = public_url.rstrip("/")


def audiences_for(level: int) -> frozenset[str]:
    chosen = frozenset({"lane"})
    for at_level, audiences in _levels or parse_recipients(DEFAULT_RECIPIENTS):
        if at_level <= level:
            chosen = audiences
    return chosen


def path_of(task_id: str | None, code: str | None) -> str | None:
    """Where a notice leads: its task, else its application's page."""
    if task_id:
        return TASK_PATH.format(task_id=task_id)
    return APPLICATION_PATH.format(code=code) if code else None


@dataclass(frozen=True)
class Notice:
    """One notice for some officers."""

    kind: str
    title: str
    body: str
    application_code: str | None = None
    task_id: str | None = None
    level: int | None = None


def recipients(users: Iterable[User], audiences: Iterable[str], lane: str, kecamatan: str | None = None) -> list[User]:
    """The active users in ``audiences`` for a task of ``lane``; with a ``kecamatan`` (the task's, for a
    lane scoped by kecamatan) the lane's officers of that kecamatan only."""
    wanted = set(audiences)
    chosen = []
    for user in users:
        roles = set(user.roles.split(","))
        in_lane = "lane" in wanted and lane in roles and (kecamatan is None or user.kecamatan == kecamatan)
        in_role = bool(roles & (wanted - {"lane"}))
        if user.active and (in_lane or in_role):
            chosen.append(user)
    return chosen


def active_staff(session: Session) -> list[User]:
    return list(session.scalars(select(User).where(User.active.is_(True)).order_by(User.id)))


def send(session: Session, notices: Sequence[tuple[Notice, Sequence[User]]], now: datetime) -> int:
    """Write each notice for its users: a notification row each, and an outbox row per channel each
    user asked for (e-mail, WhatsApp) and has an address for. Two inserts whatever the number."""
    rows: list[dict[str, Any]] = []
    messages: list[dict[str, Any]] = []
    reach: dict[int, tuple[int, list[tuple[str, str]]]] = {}  # per user once: (id, [(channel, address)])
    for notice, users in notices:
        wanting = []
        for user in users:
            if id(user) not in reach:
                channels = [("email", user.email), ("whatsapp", user.phone)]
                chosen = [
                    (c, a)
                    for (c, a), on in zip(channels, (user.notify_email, user.notify_whatsapp), strict=True)
                    if on and a
                ]
                reach[id(user)] = (user.id, chosen)
            user_id, chosen = reach[id(user)]
            wanting += chosen
            rows.append(
                {
                    "user_id": user_id,
                    "kind": notice.kind,
                    "application_code": notice.application_code,
                    "task_id": notice.task_id,
                    "level": notice.level,
                    "title": notice.title,
                    "body": notice.body,
                    "created_at": now,
                }
            )
        if not wanting:
            continue
        path = path_of(notice.task_id, notice.application_code)
        link = _public_url + path if path else _public_url
        payload = {
            "subject": notice.title,
            "text": f"{notice.title}\n{notice.body}" + (f"\n{link}" if link else ""),
            "parameters": [notice.title, display_code(notice.application_code or "") or "-", link or "-"],
        }
        messages.extend(
            {
                "instance_id": None,
                "channel": channel,
                "kind": STAFF_NOTICE,
                "recipient": address,
                "payload": payload,
                "next_attempt_at": now,
                "created_at": now,
            }
            for channel, address in wanting
        )
    insert_rows(session, cast(Table, Notification.__table__), rows)
    insert_rows(session, cast(Table, Outbox.__table__), messages)
    return len(rows)


# --- escalations ------------------------------------------------------------------------------------


def late_by(due_at: datetime | None, now: datetime, basis: str | None) -> str:
    """How late a step is, in working time for a working-time standard: ``2 jam 5 menit kerja``."""
    if due_at is None:
        return "–"
    working = (basis or "working") == "working"
    delta = worktime.calendar().working_time_between(due_at, now) if working else now - due_at
    return f"{duration_text(delta)}{' kerja' if working else ''}"


def duration_text(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds()) // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [f"{days} hari"] * bool(days) + [f"{hours} jam"] * bool(hours) + [f"{minutes} menit"] * bool(minutes)
    return " ".join(parts) or "kurang dari 1 menit"


@functools.cache
def standard_text(standard: str | None) -> str:
    if not standard:
        return "–"
    try:
        days, rest = parse_duration(standard)
    except ValueError:
        return standard
    return f"{days} hari" if days and not rest else duration_text(rest + timedelta(days=days))


def escalation_notice(
    code: str, title: str, lane: str, standard: str | None, level: int, late: str, task_id: str, lanes: Catalogue
) -> Notice:
    shown = display_code(code)
    return Notice(
        kind="escalation",
        title=f"Eskalasi tingkat {level}: {title} ({shown})",
        body=(
            f"Permohonan {shown}: langkah '{title}' di bagian {lane_name(lanes, lane)} melewati standar waktu "
            f"{standard_text(standard)}; terlambat {late}. Eskalasi tingkat {level}."
        ),
        application_code=code,
        task_id=task_id,
        level=level,
    )


def notify_escalations(session: Session, escalated: Sequence[Any], now: datetime) -> int:
    """Notices for escalated staff steps (``engine.escalation.Escalated``), to whom their level names.
    A burst shares a few (level, lane, kecamatan) audiences and deadlines: each is resolved once."""
    if not escalated:
        return 0
    codes = dict(
        session.execute(
            select(Instance.id, Instance.business_key).where(Instance.id.in_({e.instance_id for e in escalated}))
        ).all()
    )
    staff, lanes = active_staff(session), catalogue(session)
    audience = functools.cache(lambda level, lane, kecamatan: recipients(staff, audiences_for(level), lane, kecamatan))
    late = functools.cache(lambda due_at, basis: late_by(due_at, now, basis))
    notices = [
        (
            escalation_notice(
                codes.get(e.instance_id, ""),
                e.title,
                e.lane,
                e.time_standard,
                e.level,
                late(e.due_at, e.time_basis),
                e.task_id,
                lanes,
            ),
            audience(e.level, e.lane, e.kecamatan if lanes.by_kecamatan(e.lane) else None),
        )
        for e in escalated
    ]
    return send(session, notices, now)


# --- reading --------------------------------------------------------------------------------------


def of_user(session: Session, user_id: int, limit: int = 50, unread_only: bool = False) -> list[Notification]:
    """The user's notifications, newest first."""
    query = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit)))


def unread_count(session: Session, user_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
    ).scalar_one()


def mark_read(session: Session, user_id: int, notification_id: int, now: datetime) -> Notification:
    """Mark one of the user's notifications read (again: no change); NotFound for another's."""
    row = session.get(Notification, notification_id)
    if row is None or row.user_id != user_id:
        raise NotFound("Pemberitahuan tidak ditemukan.")
    if row.read_at is None:
        row.read_at = now
    return row


def mark_all_read(session: Session, user_id: int, now: datetime) -> int:
    result = cast(
        CursorResult[Any],
        session.execute(
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        ),
    )
    return result.rowcount or 0


# --- a correction note the applicant has not received ----------------------------------------------

NOTE_UNDELIVERED = "note_undelivered"
CORRECTION_FORM = "correction"
RECEIVED = ("delivered", "read")
ROUND_MARGIN = timedelta(minutes=1)  # the note is written in the transaction that opens the task


def _received(note: Outbox) -> bool:
    """As far as we can know: WhatsApp reported it delivered or read; an e-mail was accepted."""
    return note.status in RECEIVED or (note.channel == "email" and note.status == "sent")


def flag_undelivered_notes(session: Session, now: datetime, after: timedelta) -> int:
    """Mark each open correction task whose note has not reached the applicant (every copy failed, or
    none received ``after`` it was written) and tell the admin lane, once per task. Returns how many."""
    tasks = list(
        session.scalars(
            select(TaskRow).where(
                TaskRow.state == "open", TaskRow.form_key == CORRECTION_FORM, TaskRow.notice_problem.is_(None)
            )
        )
    )
    if not tasks:
        return 0
    notes: dict[int | None, list[Outbox]] = {}
    for note in session.scalars(
        select(Outbox)
        .where(Outbox.instance_id.in_({t.instance_id for t in tasks}), Outbox.kind == "correction_note")
        .order_by(Outbox.id)
    ):
        notes.setdefault(note.instance_id, []).append(note)
    flagged = []
    for task in tasks:
        mine = [n for n in notes.get(task.instance_id, []) if n.created_at >= task.ready_at - ROUND_MARGIN]
        if not mine or any(_received(n) for n in mine):
            continue
        if all(n.status == "failed" for n in mine) or min(n.created_at for n in mine) <= now - after:
            task.notice_problem = NOTE_UNDELIVERED
            flagged.append(task)
    if flagged:
        staff = active_staff(session)
        send(
            session,
            [(undelivered_notice(t.instance.business_key), recipients(staff, {"lane"}, "admin")) for t in flagged],
            now,
        )
    return len(flagged)


def undelivered_notice(code: str) -> Notice:
    return Notice(
        kind=NOTE_UNDELIVERED,
        title=f"Pemohon belum menerima catatan ({display_code(code)})",
        body=(
            f"Catatan perbaikan untuk permohonan {display_code(code)} belum diterima pemohon (gagal terkirim atau "
            "belum sampai). Hubungi pemohon melalui kontak lain."
        ),
        application_code=code,
    )


def note_received(session: Session, instance_id: int) -> None:
    """A correction note reached the applicant after all: the mark on its open task goes."""
    session.execute(
        update(TaskRow)
        .where(
            TaskRow.instance_id == instance_id,
            TaskRow.state == "open",
            TaskRow.form_key == CORRECTION_FORM,
            TaskRow.notice_problem == NOTE_UNDELIVERED,
        )
        .values(notice_problem=None)
    )

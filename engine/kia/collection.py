"""SOP step 5's waiting: the card is at the UPTD and the parent has been told; now it waits for them.

That wait is not the UPTD's time: the UPTD's time standard is its arrival step (from the batch sent to
the parent told), and the hand-over step (form ``handover``) has no deadline. Instead:

- the parent gets one reminder after ``KIA_COLLECTION_REMINDER_DAYS`` working days (default 5): a timer
  planned when the ready notice goes (``plan_reminder``), fired by the timer sweep like any other
  (kind ``repeat``: no workflow step, the ``remind_collection`` handler's batch form); it does nothing
  when the card was collected meanwhile;
- cards not collected after ``KIA_UNCOLLECTED_DAYS`` calendar days (default 30) are listed for the
  supervisor (``uncollected``).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import Application, Kecamatan
from engine.workflow import worktime
from engine.workflow.models import Event, Instance, TaskRow, TaskRowState, Timer, TimerKind, TimerState

HANDOVER_FORM = "handover"
REMINDER_HANDLER = "remind_collection"
REMINDED = "collection_reminded"  # the history's event when the reminder went
DEFAULT_REMINDER_DAYS = 5
DEFAULT_UNCOLLECTED_DAYS = 30

_reminder_days = DEFAULT_REMINDER_DAYS
_uncollected_days = DEFAULT_UNCOLLECTED_DAYS


def configure(reminder_days: int = DEFAULT_REMINDER_DAYS, uncollected_days: int = DEFAULT_UNCOLLECTED_DAYS) -> None:
    """The working days before the parent's reminder, the calendar days before a card counts as not
    collected; ValueError for numbers out of range."""
    global _reminder_days, _uncollected_days
    if not 1 <= reminder_days <= 60:
        raise ValueError(f"KIA_COLLECTION_REMINDER_DAYS must be between 1 and 60, not {reminder_days}")
    if not 1 <= uncollected_days <= 365:
        raise ValueError(f"KIA_UNCOLLECTED_DAYS must be between 1 and 365, not {uncollected_days}")
    _reminder_days, _uncollected_days = reminder_days, uncollected_days


def reminder_days() -> int:
    return _reminder_days


def uncollected_days() -> int:
    return _uncollected_days


def plan_reminder(session: Session, instance: Instance, now: datetime) -> Timer:
    """The parent's reminder, ``reminder_days`` working days after the ready notice ``now``."""
    timer = Timer(
        id=str(uuid.uuid4()),
        instance_id=instance.id,
        task_id=None,
        step=None,
        due_at=worktime.deadline_for(now, f"P{_reminder_days}D", "working"),
        state=TimerState.WAITING,
        kind=TimerKind.REPEAT,
        level=1,
        handler=REMINDER_HANDLER,
        params={"reminder": "collection"},
    )
    session.add(timer)
    return timer


def waiting(session: Session, instance_ids: set[int]) -> dict[int, TaskRow]:
    """The open hand-over steps of these instances (the cards still waiting for their parent)."""
    if not instance_ids:
        return {}
    rows = session.scalars(
        select(TaskRow).where(
            TaskRow.instance_id.in_(instance_ids),
            TaskRow.form_key == HANDOVER_FORM,
            TaskRow.state == TaskRowState.OPEN,
        )
    )
    return {row.instance_id: row for row in rows}


@dataclass(frozen=True)
class Uncollected:
    code: str
    kecamatan: str | None
    kecamatan_name: str
    uptd_name: str
    ready_at: datetime  # when the parent was told
    days: int  # calendar days since
    reminded_at: datetime | None


def uncollected(
    session: Session, now: datetime, days: int | None = None, kecamatan: str | None = None, limit: int = 1000
) -> list[Uncollected]:
    """Cards waiting for their parent ``days`` (default ``uncollected_days``) calendar days or longer,
    the longest waiting first (at most ``limit``)."""
    since = now - timedelta(days=days or _uncollected_days)
    query = (
        select(TaskRow, Instance.business_key)
        .join(Instance, Instance.id == TaskRow.instance_id)
        .where(TaskRow.form_key == HANDOVER_FORM, TaskRow.state == TaskRowState.OPEN, TaskRow.ready_at <= since)
        .order_by(TaskRow.ready_at, TaskRow.id)
        .limit(limit)
    )
    if kecamatan is not None:
        query = query.where(TaskRow.kecamatan == kecamatan)
    rows = session.execute(query).all()
    districts = {k.code: k for k in session.scalars(select(Kecamatan))}
    reminded = dict(
        session.execute(
            select(Event.instance_id, Event.at).where(
                Event.instance_id.in_({row.instance_id for row, _ in rows}), Event.kind == REMINDED
            )
        ).all()
    )
    found = []
    for row, code in rows:
        district = districts.get(row.kecamatan or "")
        found.append(
            Uncollected(
                code=code,
                kecamatan=row.kecamatan,
                kecamatan_name=district.name if district else (row.kecamatan or "–"),
                uptd_name=district.uptd_name if district else "",
                ready_at=row.ready_at,
                days=(now - row.ready_at).days,
                reminded_at=reminded.get(row.instance_id),
            )
        )
    return found


def pickup_place(kec: Kecamatan | None) -> str:
    """Where and when the parent collects the card, as the notices say it."""
    if kec is None:
        return "UPTD kecamatan Anda"
    place = f"{kec.uptd_name}, {kec.uptd_address}" if kec.uptd_address else kec.uptd_name
    return f"{place} (jam layanan: {kec.uptd_hours})" if kec.uptd_hours else place


def applications_of(session: Session, instance_ids: set[int]) -> dict[int, Application]:
    if not instance_ids:
        return {}
    return {
        a.instance_id: a for a in session.scalars(select(Application).where(Application.instance_id.in_(instance_ids)))
    }

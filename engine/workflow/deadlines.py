"""Deadlines of open steps after the working-time calendar changes.

A step's deadline is computed once, when it becomes ready (``TaskRow.due_at``, its boundary timer in
``timers`` and the same instant inside the workflow's timer, which SpiffWorkflow fires by itself once it
has passed). Closing or opening a day would leave those on the old calendar; :func:`change_day` and
:func:`reset_day` change the calendar and recompute, in the same transaction, the deadline of every open
step that has not fallen due yet: its row, its waiting timer and the workflow's timer are re-armed
together. A step already overdue keeps its deadline (its escalation has happened). The applicants'
expected completion (``engine.reports.estimates``) is read from these deadlines and follows by itself.

Every caller (the API, the supervisor's page, the CLI) goes through these functions.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import instances, serialization, worktime
from engine.workflow.calendar import WorkingCalendar
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData
from engine.workflow.events import record
from engine.workflow.models import CalendarOverride, Instance, TaskRow, TaskRowState, Timer, TimerKind, TimerState

JAKARTA = ZoneInfo("Asia/Jakarta")
PAST_DAY = "Tanggal yang sudah lewat tidak dapat diubah; kalender hanya dapat diubah mulai hari ini."


@dataclass(frozen=True)
class Moved:
    """One open step whose deadline moved."""

    task_id: str
    instance_id: int
    step: str
    before: datetime
    after: datetime


def today() -> date:
    return clock.now().astimezone(JAKARTA).date()


def refuse_past(day: date) -> None:
    """A day before today (WIB) cannot be opened or closed any more: its deadlines have passed."""
    if day < today():
        raise InvalidData("Tanggal sudah lewat.", {"date": [PAST_DAY]})


def change_day(
    session: Session, day: date, open_: bool, reason: str, actor: str
) -> tuple[CalendarOverride, list[Moved]]:
    """Open or close ``day`` (today or later) and recompute the open steps' deadlines; the caller commits."""
    refuse_past(day)
    before = worktime.refresh(session)
    row = worktime.set_override(session, day, open_, reason, actor)
    return row, recompute(session, day, actor, before)


def reset_day(session: Session, day: date, actor: str) -> list[Moved]:
    """Return ``day`` (today or later) to the regular calendar and recompute; the caller commits."""
    refuse_past(day)
    before = worktime.refresh(session)
    worktime.remove_override(session, day, actor)
    return recompute(session, day, actor, before)


def recompute(session: Session, changed: date, actor: str, before: WorkingCalendar | None = None) -> list[Moved]:
    """Recompute, on the calendar as it now stands in this transaction, the deadline of every open step
    that is not due yet and whose deadline lies on or after ``changed`` (an earlier one cannot depend
    on that day). A deadline that was later than its time standard under the calendar ``before`` the
    change (moved on by a hold, say) keeps that extra time, counted in the step's basis. Returns the
    steps whose deadline moved."""
    after = worktime.refresh(session)  # the override just flushed: this transaction's calendar
    now = clock.now()
    start_of_day = datetime.combine(changed, time.min, JAKARTA)
    rows = session.scalars(
        select(TaskRow)
        .where(
            TaskRow.state == TaskRowState.OPEN,
            TaskRow.due_at.is_not(None),
            TaskRow.due_at > now,
            TaskRow.due_at >= start_of_day,
            TaskRow.time_standard.is_not(None),
        )
        .order_by(TaskRow.instance_id, TaskRow.id)
    ).all()
    moved: list[Moved] = []
    by_instance: dict[int, list[tuple[TaskRow, datetime]]] = defaultdict(list)
    for row in rows:
        standard, basis = row.time_standard or "", row.time_basis or "working"
        due = after.deadline(row.ready_at, standard, basis)
        if before is not None and row.due_at is not None:
            usual = before.deadline(row.ready_at, standard, basis)
            if row.due_at > usual:
                due = _later(after, due, _between(before, usual, row.due_at, basis), basis)
        if row.due_at is not None and due != row.due_at:
            by_instance[row.instance_id].append((row, due))
    for instance_id, changes in by_instance.items():
        moved += set_deadlines(session, session.get_one(Instance, instance_id), changes, actor, "calendar_changed")
    return moved


def _between(calendar: WorkingCalendar, start: datetime, end: datetime, basis: str) -> timedelta:
    return end - start if basis == "calendar" else calendar.working_time_between(start, end)


def _later(calendar: WorkingCalendar, due: datetime, extra: timedelta, basis: str) -> datetime:
    return due + extra if basis == "calendar" else calendar.add_working_time(due, extra)


def set_deadlines(
    session: Session, instance: Instance, changes: list[tuple[TaskRow, datetime]], actor: str, because: str
) -> list[Moved]:
    """Give open steps of one instance new deadlines: the task rows, their waiting deadline timers (a
    diagram timer due at the step's deadline) and the workflow's own timers (saved in its state), each
    step's move in the history (``deadline_moved``). Hold/resume or any other caller that moves a step's
    deadline goes through here.
    A lost race with a completion of the same instance is a ``Conflict`` (nothing half-written)."""
    now = clock.now()
    new_due = {row.id: due for row, due in changes}
    old_due = {row.id: row.due_at for row, _ in changes}
    timers = [  # the step's deadline timers (another boundary timer of the step keeps its own time)
        t
        for t in session.scalars(
            select(Timer).where(
                Timer.instance_id == instance.id,
                Timer.task_id.in_(new_due),
                Timer.kind == TimerKind.DIAGRAM,
                Timer.state.in_((TimerState.WAITING, TimerState.HELD)),  # held: its step is on hold
            )
        )
        if t.due_at == old_due[t.task_id or ""]
    ]
    if timers:
        loaded = instances.load(session, instance, actor)
        for timer in timers:
            due = new_due[timer.task_id or ""]
            task = loaded.workflow.get_task_from_id(UUID(timer.id))
            if task is not None and timer.state == TimerState.WAITING:  # a held one stays beyond any date
                task._set_internal_data(event_value=due.isoformat())
            timer.due_at = due
        instance.state = serialization.dump(loaded.workflow)
    moved = []
    for row, due in changes:
        before = row.due_at
        assert before is not None
        row.due_at = due
        record(
            session,
            instance,
            "deadline_moved",
            actor=actor,
            at=now,
            task_id=row.id,
            step=row.step,
            lane=row.lane,
            before=before.isoformat(),
            after=due.isoformat(),
            because=because,
        )
        moved.append(Moved(row.id, instance.id, row.step, before, due))
    instances.flush(session)
    return moved

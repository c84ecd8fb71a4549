"""Holds ("tunda"): an office problem (no blank cards, the printer down) stops a step's clock.

While a step is held its time standard's clock is stopped: its waiting timers (the diagram's boundary
timer and any further escalation level) leave the sweeps (state ``held``), the workflow's own timer is
set beyond any date (so that no refresh of the workflow fires it either), and it cannot be completed.
On resume the held time is counted in the step's basis (working time for a "working" step, elapsed time
for a "calendar" one), the deadline and every timer of the step move by it (:func:`move_deadline`), and
the timers wait again. An overrun is therefore counted outside holds only: a step overdue before its
hold stays overdue, a step held before its deadline is due that much later.

The task row holds the current hold (``held_at``, ``held_by``, ``hold_reason``) and the time of the ended
ones (``held_seconds``), so that reports subtract it without reading the history; the history has one
``held`` and one ``resumed`` event per hold (the control card's lines).

:func:`move_deadline` moves a held step's deadline on resume through
``engine.workflow.deadlines.set_deadlines`` (the one place a step's deadline changes, which a calendar
change uses too: it moves a held step's timers with its row, and keeps the extra time of past holds).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow import deadlines, serialization, worktime
from engine.workflow.clock import clock
from engine.workflow.errors import Conflict
from engine.workflow.events import record
from engine.workflow.instances import flush, load, require_not_held, require_open
from engine.workflow.models import TaskRow, Timer, TimerKind, TimerState

REASON_MAX_LENGTH = 200
# The workflow's own timer value while its step is held: never reached, so never fired by a refresh.
NEVER = datetime(9999, 12, 31, tzinfo=UTC).isoformat()

Shift = Callable[[datetime], datetime]


def is_held(row: TaskRow) -> bool:
    return row.held_at is not None


def current_hold(row: TaskRow, now: datetime | None = None) -> timedelta:
    """How long the current hold of ``row`` lasts so far (zero when it is not held)."""
    if row.held_at is None:
        return timedelta(0)
    return max(worktime.time_between(row.held_at, now or clock.now(), row.time_basis), timedelta(0))


def later_by(row: TaskRow, duration: timedelta) -> Shift:
    """The shift of a due time by ``duration`` in the step's basis."""
    if duration <= timedelta(0):
        return lambda due: due
    if row.time_basis == "calendar":
        return lambda due: due + duration
    calendar = worktime.calendar()
    return lambda due: calendar.add_working_time(due, duration)


def hold(session: Session, row: TaskRow, actor: str, reason: str) -> TaskRow:
    """Put the open step ``row`` on hold for ``reason`` (the caller checked that ``actor`` may act on
    it, and commits). 409 when it is not open, already held, or claimed by another officer."""
    row = _locked(session, row)
    require_open(row)
    if row.held_at is not None:
        raise Conflict(f"Tugas ini sudah ditunda: {row.hold_reason}.")
    if row.claimed_by not in (None, actor):
        raise Conflict(f"Tugas ini sedang dikerjakan oleh {row.claimed_by}.")
    now = clock.now()
    row.held_at, row.held_by, row.hold_reason = now, actor, reason[:REASON_MAX_LENGTH]
    timers = _timers(session, row, TimerState.WAITING)
    for timer in timers:
        timer.state = TimerState.HELD
    _set_workflow_timers(session, row, {t.id: NEVER for t in timers if t.kind == TimerKind.DIAGRAM})
    record(
        session,
        row.instance,
        "held",
        actor=actor,
        at=now,
        task_id=row.id,
        step=row.step,
        lane=row.lane,
        reason=row.hold_reason,
        due_at=row.due_at.isoformat() if row.due_at else None,
    )
    flush(session)
    return row


def resume(session: Session, row: TaskRow, actor: str) -> TaskRow:
    """Resume the held step ``row``: its deadline and timers move by the held time (the caller checked
    that ``actor`` may act on it, and commits). 409 when it is not open or not held."""
    row = _locked(session, row)
    require_open(row)
    if row.held_at is None:
        raise Conflict("Tugas ini tidak sedang ditunda.")
    now = clock.now()
    worktime.refresh(session)
    held = timedelta(seconds=int(current_hold(row, now).total_seconds()))  # whole seconds, as recorded
    since, by, reason = row.held_at, row.held_by, row.hold_reason
    row.held_at = row.held_by = row.hold_reason = None
    row.held_seconds = (row.held_seconds or 0) + int(held.total_seconds())
    for timer in _timers(session, row, TimerState.HELD):
        timer.state = TimerState.WAITING
    move_deadline(session, row, later_by(row, held), actor)
    record(
        session,
        row.instance,
        "resumed",
        actor=actor,
        at=now,
        task_id=row.id,
        step=row.step,
        lane=row.lane,
        reason=reason,
        held_by=by,
        held_at=since.isoformat(),
        held_seconds=int(held.total_seconds()),
        due_at=row.due_at.isoformat() if row.due_at else None,
    )
    flush(session)
    return row


def move_deadline(session: Session, row: TaskRow, shift: Shift, actor: str = "system") -> None:
    """Move the deadline of the open step ``row``: ``shift`` maps each old due time to its new one. The
    task row and its deadline timer (with the workflow's own timer and a ``deadline_moved`` event) go
    through ``engine.workflow.deadlines.set_deadlines``, the one place a step's deadline changes; the
    step's further escalation levels (repeat timers) move here by the same shift. The caller commits."""
    for timer in _timers(session, row, TimerState.WAITING, TimerState.HELD):
        if timer.kind == TimerKind.REPEAT:
            timer.due_at = shift(timer.due_at)
    if row.due_at is None:
        return
    due = shift(row.due_at)
    if due != row.due_at:
        deadlines.set_deadlines(session, row.instance, [(row, due)], actor, "resumed")
    else:  # no working time passed on hold: the workflow's own timer gets its due time back
        _set_workflow_timers(
            session,
            row,
            {
                t.id: t.due_at.isoformat()
                for t in _timers(session, row, TimerState.WAITING)
                if t.kind == TimerKind.DIAGRAM
            },
        )
    flush(session)


def _locked(session: Session, row: TaskRow) -> TaskRow:
    """``row`` read again under a row lock (PostgreSQL): a hold, a resume, a completion and the timer
    sweep's record phase never interleave on one step."""
    query = select(TaskRow).where(TaskRow.id == row.id).execution_options(populate_existing=True)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=TaskRow)
    return session.scalars(query).one()


def _timers(session: Session, row: TaskRow, *states: str) -> list[Timer]:
    return list(
        session.scalars(
            select(Timer).where(Timer.instance_id == row.instance_id, Timer.task_id == row.id, Timer.state.in_(states))
        )
    )


def _set_workflow_timers(session: Session, row: TaskRow, values: dict[str, str]) -> None:
    """Give the workflow's waiting timer tasks ``values`` (timer id -> ISO due time) and save its state."""
    if not values:
        return
    loaded = load(session, row.instance, "system")
    changed = False
    for timer_id, value in values.items():
        task = _workflow_task(loaded.workflow, timer_id)
        if task is not None and task.state == TaskState.WAITING:
            task._set_internal_data(event_value=value)
            changed = True
    if changed:
        row.instance.state = serialization.dump(loaded.workflow)
        row.instance.updated_at = clock.now()


def _workflow_task(workflow: Any, task_id: str) -> Any:
    try:
        return workflow.get_task_from_id(UUID(task_id))
    except TaskNotFoundException:
        return None


__all__ = [
    "NEVER",
    "current_hold",
    "hold",
    "is_held",
    "later_by",
    "move_deadline",
    "require_not_held",
    "resume",
]

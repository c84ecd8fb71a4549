"""Escalation of overrunning steps: one escalation per level, repeated each further standard period,
up to a cap (``KIA_ESCALATION_CAP``, default 3).

Level 1 is the diagram's own boundary timer: it fires at the step's deadline and runs the diagram's
escalation service task. Its handler calls :func:`escalate_row` to flag and record the level, and
:func:`schedule_next` to plan the following level as a ``repeat`` timer: when that falls due, the sweep
calls the same handler with the same parameters again (:func:`fire_repeat`), without a workflow step.
Completing or cancelling the step cancels its waiting repeats (``projection.sync_tasks``).

Level ``k + 1`` is due one standard period (in the step's basis) after level ``k``'s due time; a level
whose time already passed (the scheduler was down) is not replayed: the next one is planned one period
after now, so an outage produces one late escalation, not a burst.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import worktime
from .models import Instance, TaskRow, Timer
from .projection import record
from .services import ServiceContext, get_handler

DEFAULT_CAP = 3
MAX_CAP = 50
_cap = DEFAULT_CAP
_NAMESPACE = uuid.UUID("6f1d8a0e-3a52-4c1e-9a57-2f0c1e0b7a31")


def configure(cap: int = DEFAULT_CAP) -> None:
    """The largest number of escalations per step (1 = no repeats)."""
    global _cap
    if not 1 <= cap <= MAX_CAP:
        raise ValueError(f"escalation cap must be between 1 and {MAX_CAP}, not {cap}")
    _cap = cap


def cap() -> int:
    return _cap


def escalate_row(ctx: ServiceContext, row: TaskRow) -> int | None:
    """Flag ``row`` overdue and record its next escalation level; None once the cap is reached."""
    if row.escalations >= _cap:
        return None
    row.overdue = True
    row.escalations += 1
    due = _level_due(ctx.session, row) if row.due_at else None
    record(ctx.session, ctx.instance, "escalated", actor="system", at=ctx.now, task_id=row.id, step=row.step,
           lane=row.lane, level=row.escalations, due_at=due.isoformat() if due else None)
    return row.escalations


def schedule_next(ctx: ServiceContext, row: TaskRow, handler: str, params: dict[str, Any]) -> Timer | None:
    """Plan level ``row.escalations + 1`` of ``row`` as a repeat timer (nothing once the cap is reached)."""
    if row.escalations >= _cap or row.due_at is None or not row.time_standard:
        return None
    basis = row.time_basis or "working"
    due = worktime.deadline_for(_level_due(ctx.session, row), row.time_standard, basis)
    if due <= ctx.now:
        due = worktime.deadline_for(ctx.now, row.time_standard, basis)
    level = row.escalations + 1
    timer = Timer(id=str(uuid.uuid5(_NAMESPACE, f"{row.id}:{level}")), instance_id=row.instance_id,
                  task_id=row.id, step=row.step, due_at=due, state="waiting", kind="repeat", level=level,
                  handler=handler, params=params)
    ctx.session.add(timer)
    return timer


def _level_due(session: Session, row: TaskRow) -> datetime:
    """When the current level (``row.escalations``) fell due: the deadline, or its repeat timer's time."""
    if row.escalations <= 1:
        return row.due_at
    due = session.scalar(select(Timer.due_at).where(Timer.task_id == row.id, Timer.kind == "repeat",
                                                    Timer.level == row.escalations))
    return due or row.due_at


def fire_repeat(session: Session, timer: Timer, now: datetime) -> None:
    """Run a due repeat timer: call its handler again if the step is still open, else cancel it.

    Bumps the instance's lock version, so that a completion racing with the escalation makes one of
    them fail with ``Conflict`` instead of both writing."""
    instance = session.get(Instance, timer.instance_id)
    row = session.get(TaskRow, timer.task_id) if timer.task_id else None
    func = get_handler(timer.handler or "")
    timer.fired_at = now
    if row is None or row.state != "open" or func is None or instance is None:
        timer.state, timer.fired_at = "cancelled", None
        return
    timer.state = "fired"
    instance.updated_at = now
    worktime.refresh(session)
    func(ServiceContext(session=session, instance=instance, now=now, actor="system", task_id=timer.id,
                        step=timer.step or ""), **timer.params)

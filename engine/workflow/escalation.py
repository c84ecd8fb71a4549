"""Escalation of overrunning steps: one escalation per level, repeated each further standard period,
up to a cap (``KIA_ESCALATION_CAP``, default 3).

Level 1 is the diagram's own boundary timer, due at the step's deadline; it leads to the diagram's
escalation service task. Levels 2, 3, ... are ``repeat`` timers planned here, without a workflow step.
:func:`escalate_due` does the work for any number of due timers at once, with set-based statements:
flag each step overdue, record its level on the history, plan the next level. The timer sweep calls it
(through the escalation handler's batch form) at the deadline for many timers together; the service
task calls it for one, when a workflow fires its timer itself. Completing or cancelling the step
cancels its waiting repeats (``projection.sync_tasks``).

Level ``k + 1`` is due one standard period (in the step's basis) after level ``k``'s due time; a level
whose time already passed (the scheduler was down) is not replayed: the next one is planned one period
after now, so an outage produces one late escalation, not a burst.
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from engine.workflow import worktime
from engine.workflow.database import insert_rows
from engine.workflow.models import Event, TaskRow, TaskRowState, Timer, TimerKind, TimerState
from engine.workflow.services import DueTimer

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


@dataclass(frozen=True)
class Escalated:
    """One step escalated by :func:`escalate_due`: who must be told, about what, at which level."""

    instance_id: int
    task_id: str
    step: str
    lane: str
    title: str
    time_standard: str | None
    level: int
    kecamatan: str | None = None
    due_at: datetime | None = None  # the step's deadline
    time_basis: str | None = None


def escalate_due(session: Session, due: list[DueTimer], now: datetime, handler: str) -> list[Escalated]:
    """Escalate the open step named by each due timer (``params["step"]`` in the timer's instance).

    Steps that are no longer open, on hold, or already at the cap, are left alone. ``handler`` is the service
    handler the planned repeat timers call again. Four statements whatever the number of timers: the
    open task rows of their instances, one ``UPDATE ... RETURNING`` of the steps they name, one insert
    of the history events, one of the repeats."""
    by_step = {(d.instance_id, str(d.params.get("step", ""))): d for d in due}
    open_rows = session.execute(
        select(TaskRow.id, TaskRow.instance_id, TaskRow.step).where(
            TaskRow.instance_id.in_({d.instance_id for d in due}), TaskRow.state == TaskRowState.OPEN
        )
    ).all()
    task_ids = [row.id for row in open_rows if (row.instance_id, row.step) in by_step]
    if not task_ids:
        return []
    rows = session.execute(
        update(TaskRow)
        .where(
            TaskRow.id.in_(task_ids),
            TaskRow.state == TaskRowState.OPEN,
            TaskRow.escalations < _cap,
            TaskRow.held_at.is_(None),  # a held step's clock is stopped (engine.workflow.holds)
        )
        .values(overdue=True, escalations=TaskRow.escalations + 1)
        .returning(
            TaskRow.id,
            TaskRow.instance_id,
            TaskRow.step,
            TaskRow.lane,
            TaskRow.kecamatan,
            TaskRow.title,
            TaskRow.time_standard,
            TaskRow.time_basis,
            TaskRow.due_at,
            TaskRow.escalations,
        ),
        execution_options={"synchronize_session": "fetch"},
    ).all()
    if not rows:
        return []
    worktime.refresh(session)
    deadline_for = functools.cache(worktime.deadline_for)  # a burst shares a few (start, standard) pairs
    events, repeats, escalated = [], [], []
    for row in rows:
        timer = by_step[(row.instance_id, row.step)]
        # when this level fell due: the step's deadline for level 1, the repeat timer's time after that
        level_due = row.due_at if row.escalations <= 1 and row.due_at else timer.due_at
        events.append(
            dict(
                instance_id=row.instance_id,
                task_id=row.id,
                kind="escalated",
                step=row.step,
                lane=row.lane,
                actor="system",
                at=now,
                detail={"level": row.escalations, "due_at": level_due.isoformat() if row.due_at else None},
            )
        )
        if row.escalations < _cap and row.due_at is not None and row.time_standard:
            basis = row.time_basis or "working"
            next_due = deadline_for(level_due, row.time_standard, basis)
            if next_due <= now:
                next_due = deadline_for(now, row.time_standard, basis)
            level = row.escalations + 1
            repeats.append(
                dict(
                    id=str(uuid.uuid5(_NAMESPACE, f"{row.id}:{level}")),
                    instance_id=row.instance_id,
                    task_id=row.id,
                    step=row.step,
                    due_at=next_due,
                    state=TimerState.WAITING,
                    kind=TimerKind.REPEAT,
                    level=level,
                    handler=handler,
                    params=dict(timer.params),
                )
            )
        escalated.append(
            Escalated(
                row.instance_id,
                row.id,
                row.step,
                row.lane,
                row.title,
                row.time_standard,
                row.escalations,
                row.kecamatan,
                row.due_at,
                row.time_basis,
            )
        )
    insert_rows(session, cast(Table, Event.__table__), events)
    insert_rows(session, cast(Table, Timer.__table__), repeats)
    return escalated

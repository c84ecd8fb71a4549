"""Projections: keep ``tasks``, ``timers`` and ``events`` in step with a workflow, in the same transaction.

Queries (inboxes, status pages, reports, timer sweeps) read these tables and never deserialize a workflow.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.exceptions import TaskNotFoundException
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.workflow import config, worktime
from engine.workflow.definitions import Definition
from engine.workflow.events import record
from engine.workflow.models import Instance, TaskRow, TaskRowState, Timer, TimerKind, TimerState
from engine.workflow.script_engine import attached_user_task


def sync_tasks(
    session: Session, instance: Instance, definition: Definition, workflow: Any, now: datetime, actor: str
) -> list[TaskRow]:
    """Open rows for new READY user tasks and close rows whose task is no longer READY.

    Returns the rows opened by this call."""
    ready = {str(t.id): t for t in workflow.get_tasks(state=TaskState.READY, manual=True)}
    rows = {
        r.id: r
        for r in session.scalars(
            select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == TaskRowState.OPEN)
        )
    }
    for row_id, row in rows.items():
        if row_id in ready:
            continue
        task = _task(workflow, row_id)
        row.state = (
            TaskRowState.COMPLETED if task is not None and task.state == TaskState.COMPLETED else TaskRowState.CANCELLED
        )
        row.completed_at = now
        row.search_text = None  # only open tasks are searched: the words go with the task
        if row.held_at is not None:  # the step ended while held (its instance moved on): the hold ends too
            held = worktime.time_between(row.held_at, now, row.time_basis)
            row.held_seconds = (row.held_seconds or 0) + max(int(held.total_seconds()), 0)
            row.held_at = row.held_by = row.hold_reason = None
        session.execute(
            update(Timer)
            .where(
                Timer.instance_id == instance.id,
                Timer.task_id == row_id,
                Timer.kind == TimerKind.REPEAT,
                Timer.state.in_((TimerState.WAITING, TimerState.HELD)),
            )
            .values(state=TimerState.CANCELLED)
            .execution_options(synchronize_session=False)
        )  # further escalations are void
        if row.state == TaskRowState.COMPLETED:
            row.completed_by = row.completed_by or actor
        else:
            record(session, instance, "cancelled", actor=actor, at=now, task_id=row_id, step=row.step, lane=row.lane)
    opened: list[TaskRow] = []
    search_text = config.current().search_text
    words: str | None = None
    for task_id, task in ready.items():
        if task_id in rows:
            continue
        if search_text is not None and not opened:
            words = search_text(instance)  # once per call, for every task it opens
        info = definition.user_tasks[task.task_spec.bpmn_id]
        row = TaskRow(
            id=task_id,
            instance_id=instance.id,
            step=info.step,
            title=info.title,
            lane=info.lane,
            form_key=info.form_key,
            kecamatan=instance.kecamatan,
            search_text=words,
            state=TaskRowState.OPEN,
            time_standard=info.time_standard,
            time_basis=info.time_basis,
            ready_at=now,
        )
        session.add(row)
        opened.append(row)
        record(session, instance, "created", actor="system", at=now, task_id=task_id, step=info.step, lane=info.lane)
    return opened


def sync_timers(
    session: Session,
    instance: Instance,
    definition: Definition,
    workflow: Any,
    now: datetime,
    open_rows: dict[str, TaskRow],
) -> None:
    """Mirror the workflow's waiting boundary timers into ``timers`` and put their due time on tasks.

    A timer the sweep already ``recorded`` (its escalation written at the deadline) becomes ``fired``
    once the workflow has caught up with it, or when its task ended first: its escalation stands."""
    waiting = {
        str(t.id): t
        for t in workflow.get_tasks(state=TaskState.WAITING)
        if isinstance(getattr(t.task_spec, "event_definition", None), TimerEventDefinition)
    }
    rows = {
        r.id: r
        for r in session.scalars(
            select(Timer).where(
                Timer.instance_id == instance.id,
                Timer.state.in_((TimerState.WAITING, TimerState.RECORDED, TimerState.INCIDENT, TimerState.HELD)),
                Timer.kind == TimerKind.DIAGRAM,
            )
        )
    }
    for timer_id, row in rows.items():
        if timer_id not in waiting:
            task = _task(workflow, timer_id)
            fired = (task is not None and task.state == TaskState.COMPLETED) or row.state == TimerState.RECORDED
            row.state = TimerState.FIRED if fired else TimerState.CANCELLED
            row.fired_at = (row.fired_at or now) if fired else None
    for timer_id, task in waiting.items():
        value = task._get_internal_data("event_value")
        if timer_id in rows or not isinstance(value, str):
            continue
        due = TimerEventDefinition.get_datetime(value)
        attached = attached_user_task(task)
        attached_id = str(attached.id) if attached is not None else None
        handler, params = definition.timer_actions.get(task.task_spec.bpmn_id, (None, {}))
        session.add(
            Timer(
                id=timer_id,
                instance_id=instance.id,
                task_id=attached_id,
                step=attached.task_spec.bpmn_id if attached is not None else None,
                due_at=due,
                state=TimerState.WAITING,
                handler=handler,
                params=params,
            )
        )
        if attached_id in open_rows and open_rows[attached_id].due_at is None:
            open_rows[attached_id].due_at = due


def _uuid(value: str) -> Any:
    from uuid import UUID

    return UUID(value)


def _task(workflow: Any, task_id: str) -> Any:
    """The workflow's task with this id, or None when it has none (SpiffWorkflow raises instead).

    A row the workflow does not know means another request advanced the instance meanwhile: what is
    written here then never lands, because the instance's version check fails at the flush (409)."""
    try:
        return workflow.get_task_from_id(_uuid(task_id))
    except TaskNotFoundException:
        return None

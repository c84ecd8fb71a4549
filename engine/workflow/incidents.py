"""Incidents: a step that failed at run time, kept visible and retryable instead of lost.

A failing expression or service handler raises ``StepFailed`` inside ``instances.complete`` or
``instances.fire_timer``; nothing of that step is saved. The caller then records an incident here: which
application, which step and element, the error, and what is needed to do the step again (the form data
and who completed it, or the timer). An incident of the same step that is still open is updated (one
incident per failing step, however often it is tried). ``retry_*`` does the step again; when it
succeeds the incident is resolved (as it is when the officer completes the task again himself).

Runtime only: nothing here knows KIA. The caller owns the transaction (each function flushes).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.workflow.clock import clock
from engine.workflow.errors import NotFound
from engine.workflow.events import record
from engine.workflow.instances import StepFailed, fire_timer, flush
from engine.workflow.models import Incident, Instance, TaskRow, Timer, TimerState


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class IncidentKind(StrEnum):
    TASK = "task"  # completing a user task failed
    TIMER = "timer"  # firing a timer failed


TIMER_INCIDENT = TimerState.INCIDENT  # the state of a timer taken out of the sweeps by its incident


def record_task_failure(
    session: Session, row: TaskRow, payload: dict[str, Any], actor: str, failure: StepFailed
) -> Incident:
    """Record that completing ``row`` with ``payload`` as ``actor`` failed (call after the rollback)."""
    return _record(
        session,
        IncidentKind.TASK,
        session.get(Instance, row.instance_id),
        failure,
        actor=actor,
        task_id=row.id,
        step=row.step,
        payload=payload,
    )


def record_timer_failure(session: Session, timer: Timer, failure: StepFailed) -> Incident:
    """Record that ``timer`` failed to fire and take it out of the sweeps (state ``incident``)."""
    timer.state = TIMER_INCIDENT
    return _record(
        session,
        IncidentKind.TIMER,
        session.get(Instance, timer.instance_id),
        failure,
        actor="system",
        timer_id=timer.id,
        task_id=timer.task_id,
        step=timer.step,
    )


def _record(
    session: Session,
    kind: IncidentKind,
    instance: Instance | None,
    failure: StepFailed,
    *,
    actor: str,
    step: str | None,
    task_id: str | None = None,
    timer_id: str | None = None,
    payload: dict[str, Any] | None = None,
) -> Incident:
    if instance is None:
        raise NotFound("Permohonan tidak ditemukan.")
    now = clock.now()
    key = Incident.timer_id == timer_id if kind == IncidentKind.TIMER else Incident.task_id == task_id
    incident = session.scalar(
        select(Incident).where(Incident.kind == kind, key, Incident.state == IncidentState.OPEN).limit(1)
    )
    if incident is None:
        incident = Incident(
            instance_id=instance.id, kind=kind, task_id=task_id, timer_id=timer_id, attempts=0, created_at=now
        )
        session.add(incident)
    incident.step, incident.element, incident.error = step, failure.element, failure.error
    incident.payload, incident.actor = payload or {}, actor
    incident.attempts += 1
    incident.last_failed_at = now
    flush(session)
    record(
        session,
        instance,
        "incident",
        actor=actor,
        at=now,
        task_id=task_id,
        step=step,
        incident=incident.id,
        element=failure.element,
    )
    flush(session)
    failure.incident_id = incident.id
    return incident


def get(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound("Insiden tidak ditemukan.")
    return incident


def resolve(session: Session, incident: Incident, actor: str, how: str) -> Incident:
    """Close ``incident`` (``how``: retried, completed, obsolete) and say so in the history."""
    if incident.state == IncidentState.RESOLVED:
        return incident
    incident.state, incident.resolved_at, incident.resolved_by = IncidentState.RESOLVED, clock.now(), actor
    record(
        session,
        incident.instance,
        "incident_resolved",
        actor=actor,
        at=incident.resolved_at,
        task_id=incident.task_id,
        step=incident.step,
        incident=incident.id,
        how=how,
    )
    flush(session)
    return incident


def open_task_incidents(session: Session, task_id: str) -> list[Incident]:
    """The open incidents of completing ``task_id`` (at most one)."""
    return list(
        session.scalars(
            select(Incident).where(
                Incident.kind == IncidentKind.TASK, Incident.task_id == task_id, Incident.state == IncidentState.OPEN
            )
        )
    )


def retry_timer(session: Session, incident: Incident, actor: str) -> Incident:
    """Fire the incident's timer again; resolved when it fires (or when its step has ended meanwhile).
    Raises ``StepFailed`` when it fails again (the caller rolls back and records that)."""
    timer = session.get(Timer, incident.timer_id) if incident.timer_id else None
    if timer is None or timer.state != TIMER_INCIDENT:
        return resolve(session, incident, actor, "obsolete")
    timer.state = TimerState.WAITING
    fire_timer(session, timer)
    return resolve(session, incident, actor, "retried")


def listing(session: Session, state: str | None = IncidentState.OPEN, limit: int = 200) -> list[Incident]:
    query = select(Incident).order_by(Incident.last_failed_at.desc()).limit(limit)
    if state:
        query = query.where(Incident.state == state)
    return list(session.scalars(query))


def open_of(session: Session, instance_id: int) -> list[Incident]:
    return list(
        session.scalars(
            select(Incident)
            .where(Incident.instance_id == instance_id, Incident.state == IncidentState.OPEN)
            .order_by(Incident.id)
        )
    )


def as_dict(incident: Incident) -> dict[str, Any]:
    """What owners and supervisors see: where and why, never the form data."""
    return {
        "id": incident.id,
        "kind": str(incident.kind),
        "state": str(incident.state),
        "application_code": incident.instance.business_key,
        "process_version": incident.instance.process_version.version,
        "step": incident.step,
        "element": incident.element,
        "error": incident.error,
        "task_id": incident.task_id,
        "timer_id": incident.timer_id,
        "actor": incident.actor,
        "attempts": incident.attempts,
        "created_at": incident.created_at,
        "last_failed_at": incident.last_failed_at,
        "resolved_at": incident.resolved_at,
        "resolved_by": incident.resolved_by,
    }

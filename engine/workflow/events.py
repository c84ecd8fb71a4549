"""The event log: one row per thing that happened to an instance (the control card, the audit trail).

Kept apart from the projections so that any part of the runtime (the calendar, too) can record an event
without importing the workflow machinery.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from .models import Event, Instance


def record(
    session: Session,
    instance: Instance | None,
    kind: str,
    *,
    actor: str | None,
    at: datetime,
    task_id: str | None = None,
    step: str | None = None,
    lane: str | None = None,
    **detail: Any,
) -> Event:
    """Append one event to the history (the control card and the audit log)."""
    event = Event(
        instance_id=instance.id if instance else None,
        task_id=task_id,
        kind=kind,
        step=step,
        lane=lane,
        actor=actor,
        at=at,
        detail=detail,
    )
    session.add(event)
    return event

"""Shaping engine rows into API dictionaries (one place, so every endpoint shows the same fields)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import verification
from engine.models import Application, Event, TaskRow


def task_dict(row: TaskRow, code: str | None = None, child_name: str | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "application_code": code or row.instance.business_key,
        "child_name": child_name,
        "step": row.step,
        "title": row.title,
        "lane": row.lane,
        "form_key": row.form_key,
        "kecamatan": row.kecamatan,
        "state": row.state,
        "time_standard": row.time_standard,
        "time_basis": row.time_basis,
        "ready_at": row.ready_at,
        "due_at": row.due_at,
        "overdue": row.overdue,
        "escalations": row.escalations,
        "claimed_by": row.claimed_by,
        "claimed_at": row.claimed_at,
        "completed_by": row.completed_by,
        "completed_at": row.completed_at,
    }


def history(session: Session, instance_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


def application_of(session: Session, instance_id: int) -> Application | None:
    return session.scalar(select(Application).where(Application.instance_id == instance_id))


def verification_view(session: Session, app: Application) -> dict[str, Any]:
    """Side by side for the verifying officer: the entry against the population records, field by
    field, and the current documents (the newest of each kind)."""
    current = {d.kind: d for d in app.documents}  # ordered by id: the newest of a kind wins
    return {
        **verification.compare_application(session, app).as_dict(),
        "documents": [
            {
                "id": d.id,
                "kind": d.kind,
                "media_type": d.media_type,
                "url": url_for("applications.document", code=app.code, document_id=d.id),
            }
            for d in current.values()
        ],
    }

"""Shaping engine rows for the API and the pages (one place, so every endpoint shows the same fields)."""

from __future__ import annotations

from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import corrections, verification
from engine.kia.access import event_detail
from engine.models import Application, Event, TaskRow

from .schemas import TaskSchema

TASK_FIELDS = tuple(TaskSchema().fields)


ROW_FIELDS = tuple(name for name in TASK_FIELDS if name not in ("application_code", "child_name"))


def task_values(row: TaskRow, application_code: str, child_name: str | None) -> dict[str, Any]:
    """What ``TaskSchema`` shows of a task, unserialized (datetimes as such): the row's fields, with its
    application's code and child's name beside them (the inbox reads those with the row, without loading
    the instance). A plain dict, so that dumping a page of them costs no attribute lookups."""
    values = {name: getattr(row, name) for name in ROW_FIELDS}
    values.update(application_code=application_code, child_name=child_name)
    return values


def shown_task(row: TaskRow) -> dict[str, Any]:
    """A row with its application (``Instance.application``)."""
    app = row.instance.application
    return task_values(row, app.code, app.child.get("name"))


def history(session: Session, instance_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


def history_view(session: Session, instance_id: int, population_records: bool) -> list[dict[str, Any]]:
    """The history as the caller may see it: what came from the population records is left out unless
    ``population_records`` (``engine.access.may_see_population_records``)."""
    shown = []
    for e in history(session, instance_id):
        detail = event_detail(e.kind, e.detail, population_records)
        if detail is not None:
            shown.append({"id": e.id, "kind": e.kind, "step": e.step, "lane": e.lane, "actor": e.actor})
            shown[-1].update(at=e.at, detail=detail, summary=_summary(e.kind, detail))
    return shown


def _summary(kind: str, detail: dict[str, Any]) -> str | None:
    """One line in Bahasa Indonesia for the events that need more than their name (the applicant's
    answer to a correction); None for the others."""
    return corrections.summary(detail) if kind == corrections.ANSWER_EVENT else None


def correction_form(session: Session, app: Application) -> dict[str, Any]:
    """What the applicant's correction form opens with: the officer's last request (note, questioned
    fields) and what the applicant entered. Only the entry: never anything of the population records."""
    request = corrections.latest_request(session, app.instance)
    return {
        "request": request.as_dict() if request else None,
        "values": {"applicant": dict(app.applicant or {}), "child": dict(app.child or {})},
    }


def verification_view(session: Session, app: Application) -> dict[str, Any]:
    """Side by side for the verifying officer: the entry against the population records, field by
    field, and the current documents (the newest of each kind). Population records: only for a caller
    ``engine.access.may_see_population_records`` allows (the callers check)."""
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

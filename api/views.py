"""Shaping engine rows for the API and the pages (one place, so every endpoint shows the same fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import verification
from engine.models import Application, Event, TaskRow

from .schemas import TaskSchema

TASK_FIELDS = tuple(TaskSchema().fields)


@dataclass(frozen=True)
class ShownTask:
    """A task row with its application's code and child's name beside it (the inbox reads them with the
    row, without loading the instance). ``TaskSchema`` dumps it as it dumps the row."""

    row: TaskRow
    application_code: str
    child_name: str | None = None

    def __getattr__(self, name: str) -> Any:
        if name == "row":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.row, name)


def shown_task(row: TaskRow) -> ShownTask:
    """A row with its application (``Instance.application``)."""
    app = row.instance.application
    return ShownTask(row, app.code, app.child.get("name"))


def task_values(task: ShownTask) -> dict[str, Any]:
    """What ``TaskSchema`` shows of a task, unserialized (datetimes as such): for the pages."""
    return {name: getattr(task, name) for name in TASK_FIELDS}


def history(session: Session, instance_id: int) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.instance_id == instance_id).order_by(Event.id)))


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

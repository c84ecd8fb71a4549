"""Shaping engine rows for the API and the pages (one place, so every endpoint shows the same fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import corrections, handover, verification
from engine.kia.access import event_detail
from engine.kia.people import full_names
from engine.models import Application, Event, TaskRow, User

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
    if kind == corrections.ANSWER_EVENT:
        return corrections.summary(detail)
    return handover.summary(detail) if kind == handover.HANDED_OVER else None


def correction_form(session: Session, app: Application) -> dict[str, Any]:
    """What the applicant's correction form opens with: the officer's last request (note, questioned
    fields) and what the applicant entered. Only the entry: never anything of the population records."""
    request = corrections.latest_request(session, app.instance)
    return {
        "request": request.as_dict() if request else None,
        "values": {"applicant": dict(app.applicant or {}), "child": dict(app.child or {})},
    }


HANDOVER_RULE = (
    "KIA diserahkan kepada orang tua atau anggota keluarga yang tercantum dalam KK anak, atau kepada "
    "penerima kuasa yang membawa surat kuasa dari orang tua. Cocokkan KTP-el penerima."
)


def handover_view(session: Session, app: Application, population_records: bool) -> dict[str, Any]:
    """The hand-over task's side panel: who may collect (the KK's members, for a caller who may see the
    population records; else only the rule), the card number printed, and once done who received it with
    the link to the hand-over receipt."""
    found = handover.handover_of(session, app)
    if population_records:
        shown = handover.family_for_handover(session, app).as_dict()
    else:
        shown = {"status": None, "message": HANDOVER_RULE, "members": [], "card_number": app.card_number}
    recorded = None
    if found is not None:
        names = full_names(session, [found.handed_over_by])
        officer = session.scalar(select(User.nip).where(User.username == found.handed_over_by))
        recorded = handover.recipient_view(found, names.get(found.handed_over_by), officer, population_records)
    return {
        **shown,
        "recorded": recorded,
        "receipt_url": url_for("documents.handover_receipt", code=app.code) if found is not None else None,
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

"""The correction loop: what the officer questioned, what the applicant answered and changed.

When the verifying officer sends an application back (decision ``incomplete``) they may name the
questioned fields (``questioned_fields``, dotted names of ``FIELD_LABELS``); they are kept on the
verification's ``completed`` event with the note. When the applicant answers (web status page or
WhatsApp "perbaikan"), ``record_answer`` writes one ``correction_submitted`` event: their response, every
changed field with its old and new value, and the documents sent again. The verifier reads it when the
file comes back (``latest_answer``), on the control card and in the history; the applicant's correction
form opens with the request (``latest_request``) and what they entered. Nothing here comes from the
population records: only the applicant's entry and the officer's words.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia.models import Document
from engine.kia.regions import PEKANBARU_KECAMATAN
from engine.workflow.clock import clock
from engine.workflow.events import record
from engine.workflow.models import Event, Instance, TaskRow

ANSWER_EVENT = "correction_submitted"
SENT_BACK = frozenset({"incomplete", "problem"})  # the decisions that open the applicant's correction
MONTHS = (
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
)
DOCUMENT_LABELS = {"kk": "Kartu Keluarga", "akta": "Akta kelahiran", "photo": "Pas foto 2x3"}
# Every field of the entry an officer may question, as the applicant's form titles them (a test keeps
# them equal to the forms' titles), then the documents.
FIELD_LABELS: dict[str, str] = {
    "child.name": "Nama anak",
    "child.nik": "NIK anak",
    "child.birth_date": "Tanggal lahir",
    "child.birth_place": "Tempat lahir",
    "child.sex": "Jenis kelamin",
    "child.kk_number": "Nomor Kartu Keluarga (KK)",
    "child.akta_number": "Nomor akta kelahiran",
    "child.address": "Alamat sesuai KK",
    "child.kecamatan": "Kecamatan domisili",
    "applicant.name": "Nama pemohon",
    "applicant.phone": "Nomor HP (WhatsApp)",
    "applicant.email": "Alamat e-mail",
    "applicant.relationship": "Hubungan dengan anak",
    **{f"documents.{kind}": f"Dokumen {label}" for kind, label in DOCUMENT_LABELS.items()},
}
# The verification's comparison names its fields apart from the entry's (``verification.LABELS``).
COMPARED_FIELDS = {
    "nik": "child.nik",
    "name": "child.name",
    "sex": "child.sex",
    "birth_date": "child.birth_date",
    "birth_place": "child.birth_place",
    "kk_number": "child.kk_number",
    "address": "child.address",
    "kecamatan": "child.kecamatan",
    "applicant": "applicant.name",
}
_CHOICES = {
    "child.sex": {"L": "Laki-laki", "P": "Perempuan"},
    "applicant.relationship": {"ayah": "Ayah", "ibu": "Ibu", "wali": "Wali"},
    "child.kecamatan": PEKANBARU_KECAMATAN,
}
SECTIONS = ("applicant", "child")


def label(field: str) -> str:
    return FIELD_LABELS.get(field, field)


def indonesian_date(value: date | str) -> str:
    """``2023-05-10`` -> ``10 Mei 2023``."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def display_value(field: str, value: Any) -> str:
    """A value of the entry as a person reads it: choices by their label, dates in Indonesian."""
    if value in (None, ""):
        return "–"
    if field in _CHOICES:
        return _CHOICES[field].get(str(value), str(value))
    if field.endswith("birth_date"):
        try:
            return indonesian_date(str(value))
        except ValueError:
            return str(value)
    return str(value)


def entry_fields(entry: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """``{"child": {"name": ...}}`` as ``{"child.name": ...}`` (the sections of ``SECTIONS``)."""
    return {f"{section}.{key}": value for section in SECTIONS for key, value in (entry.get(section) or {}).items()}


def changes(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every field whose value differs between two entries, in the order of ``FIELD_LABELS``."""
    old, new = entry_fields(before), entry_fields(after)
    names = [f for f in FIELD_LABELS if f in old or f in new] + sorted((old.keys() | new.keys()) - FIELD_LABELS.keys())
    return [{"field": f, "old": old.get(f), "new": new.get(f)} for f in names if old.get(f) != new.get(f)]


@dataclass(frozen=True)
class Request:
    """The officer's request to correct: who sent it back, when, the note and the questioned fields."""

    at: datetime
    actor: str | None
    step: str | None
    note: str | None
    questioned_fields: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "by": self.actor,
            "step": self.step,
            "note": self.note,
            "questioned_fields": list(self.questioned_fields),
            "questioned_labels": [label(f) for f in self.questioned_fields],
        }


def request_of(event: Event) -> Request:
    """The request a sent-back ``completed`` event holds."""
    questioned = tuple(f for f in event.detail.get("questioned_fields") or () if isinstance(f, str))
    return Request(event.at, event.actor, event.step, event.detail.get("note"), questioned)


def latest_request(session: Session, instance: Instance) -> Request | None:
    """The last time an officer sent the application back (a ``completed`` event with a sent-back
    decision), or None."""
    events = session.scalars(
        select(Event)
        .where(Event.instance_id == instance.id, Event.kind == "completed", Event.lane != "applicant")
        .order_by(Event.id.desc())
    )
    return next((request_of(e) for e in events if e.detail.get("decision") in SENT_BACK), None)


def record_answer(
    session: Session,
    row: TaskRow,
    response: str,
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    actor: str,
) -> Event:
    """The applicant's answer to ``row`` (the correction task): the response, the changed fields and the
    documents uploaded since the task opened (sent with this answer), as one event."""
    sent = session.scalars(
        select(Document.kind)
        .where(Document.application_id == row.instance.application.id, Document.uploaded_at >= row.ready_at)
        .order_by(Document.id)
    )
    request = latest_request(session, row.instance)
    return record(
        session,
        row.instance,
        ANSWER_EVENT,
        actor=actor,
        at=clock.now(),
        task_id=row.id,
        step=row.step,
        lane=row.lane,
        response=response,
        changes=changes(before, after),
        documents=list(dict.fromkeys(sent)),
        questioned_fields=list(request.questioned_fields) if request else [],
    )


def answer_view(event: Event) -> dict[str, Any]:
    """A ``correction_submitted`` event as people read it: labels, values shown, documents named."""
    detail = event.detail or {}
    return {
        "at": event.at,
        "by": event.actor,
        "task_id": event.task_id,
        "response": detail.get("response"),
        "changes": [
            {
                **c,
                "label": label(c["field"]),
                "old_text": display_value(c["field"], c.get("old")),
                "new_text": display_value(c["field"], c.get("new")),
                "questioned": c["field"] in (detail.get("questioned_fields") or ()),
            }
            for c in detail.get("changes") or ()
        ],
        "documents": list(detail.get("documents") or ()),
        "document_labels": [DOCUMENT_LABELS.get(k, k) for k in detail.get("documents") or ()],
        "questioned_fields": list(detail.get("questioned_fields") or ()),
        "questioned_labels": [label(f) for f in detail.get("questioned_fields") or ()],
    }


def answers(session: Session, instance: Instance) -> list[Event]:
    """Every answer of the applicant to a correction, oldest first."""
    return list(
        session.scalars(
            select(Event).where(Event.instance_id == instance.id, Event.kind == ANSWER_EVENT).order_by(Event.id)
        )
    )


def latest_answer(session: Session, row: TaskRow) -> dict[str, Any] | None:
    """The applicant's answer that brought the file back to ``row`` (a verification task): the last
    answer recorded after the previous completion of this step, or None when it is the first round."""
    last = session.scalar(
        select(Event.id)
        .where(Event.instance_id == row.instance_id, Event.kind == "completed", Event.step == row.step)
        .order_by(Event.id.desc())
        .limit(1)
    )
    query = select(Event).where(Event.instance_id == row.instance_id, Event.kind == ANSWER_EVENT)
    if last is not None:
        query = query.where(Event.id > last)
    event = session.scalar(query.order_by(Event.id.desc()).limit(1))
    return answer_view(event) if event is not None else None


def summary(detail: dict[str, Any]) -> str:
    """An answer's detail in one line for the history: the response, the changed fields, new documents."""
    parts = [f"Tanggapan: \u201c{detail.get('response') or '-'}\u201d."]
    changed = [label(c["field"]) for c in detail.get("changes") or ()]
    if changed:
        parts.append("Data diubah: " + ", ".join(changed) + ".")
    sent = [DOCUMENT_LABELS.get(k, k) for k in detail.get("documents") or ()]
    if sent:
        parts.append("Dokumen baru: " + ", ".join(sent) + ".")
    if not changed and not sent:
        parts.append("Tidak ada data yang diubah.")
    return " ".join(parts)

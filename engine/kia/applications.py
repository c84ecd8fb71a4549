"""KIA applications: the domain around the process instance (personal data, code, PIN, documents)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import documents, routing
from engine.kia.models import Application, Document, Kecamatan
from engine.kia.process import ApplicationStatus
from engine.kia.security import hash_secret, new_code, new_pin, normalize_code
from engine.workflow import incidents, instances
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from engine.workflow.events import record
from engine.workflow.models import Event, Instance

PROCESS_KEY = "kia_whatsapp"
REQUIRED_DOCUMENTS = ("kk", "akta")

STATUS_LABELS: dict[str, str] = {
    ApplicationStatus.BARU: "Baru",
    ApplicationStatus.DIAJUKAN: "Diajukan",
    ApplicationStatus.DIVERIFIKASI: "Diverifikasi",
    ApplicationStatus.PERLU_PERBAIKAN: "Perlu perbaikan",
    ApplicationStatus.DICETAK: "Dicetak",
    ApplicationStatus.SIAP_DIAMBIL: "Siap diambil di UPTD",
    ApplicationStatus.SELESAI: "Selesai",
}


@dataclass(frozen=True)
class Upload:
    kind: str  # kk | akta | photo
    content: bytes


def submit(
    session: Session,
    data: dict[str, Any],
    uploads: Iterable[Upload],
    *,
    document_dir: str,
    max_bytes: int = documents.DEFAULT_MAX_BYTES,
    channel: str = "web",
    process_key: str = PROCESS_KEY,
) -> tuple[Application, str]:
    """Start an application and complete the applicant's submission step.

    ``data`` is a validated application (``forms.validate_application``). Returns the application and
    its PIN in clear text (shown once; only its hash is stored)."""
    files = {u.kind: u for u in uploads}
    needed = list(REQUIRED_DOCUMENTS) + (["photo"] if data["kia_kind"] == "5_to_17" else [])
    missing = {kind: ["Dokumen wajib diunggah."] for kind in needed if kind not in files}
    if missing:
        raise InvalidData("Dokumen belum lengkap.", missing)
    checked = {kind: (u, documents.check(u.content, kind, max_bytes)) for kind, u in files.items()}
    if session.get(Kecamatan, data["child"]["kecamatan"]) is None:
        raise InvalidData("Data tidak sah.", {"child": {"kecamatan": ["Kecamatan tidak dikenal."]}})

    code = new_code()
    while session.scalar(select(Application.id).where(Application.code == code)) is not None:
        code = new_code()
    pin = new_pin()
    route = routing.domicile(session, data["child"])
    instance = instances.start(
        session,
        process_key,
        business_key=code,
        kecamatan=route.kecamatan,
        data={"kia_kind": data["kia_kind"]},
        actor="pemohon",
    )
    record(session, instance, "routed", actor="sistem", at=clock.now(), kecamatan=route.kecamatan, source=route.source)
    app = Application(
        instance=instance,  # sets ``instance.application`` too
        code=code,
        pin_hash=hash_secret(pin),
        channel=channel,
        kia_kind=data["kia_kind"],
        applicant=data["applicant"],
        child=data["child"],
        warnings={"nik": data.get("warnings", [])},
        created_at=clock.now(),
    )
    session.add(app)
    session.flush()
    _store(session, app, checked.values(), document_dir)
    submission = next((r for r in instances.open_tasks_of(session, instance.id) if r.form_key == "submission"), None)
    if submission is not None:
        try:
            with session.begin_nested():
                instances.complete(session, submission, {"confirm": True}, actor="pemohon")
        except instances.StepFailed as failure:  # kept, waiting at its submission step, as an incident
            with session.begin_nested():
                incidents.record_task_failure(session, submission, {"confirm": True}, "pemohon", failure)
    return app, pin


def _store(
    session: Session, app: Application, checked: Iterable[tuple[Upload, str]], document_dir: str
) -> list[Document]:
    stored_rows = []
    for upload, media_type in checked:
        stored = documents.store(document_dir, upload.content, media_type)
        row = Document(
            application_id=app.id,
            kind=upload.kind,
            media_type=media_type,
            sha256=stored.sha256,
            size=stored.size,
            uploaded_at=clock.now(),
        )
        session.add(row)
        stored_rows.append(row)
    return stored_rows


def reupload(
    session: Session,
    app: Application,
    uploads: Iterable[Upload],
    *,
    document_dir: str,
    max_bytes: int = documents.DEFAULT_MAX_BYTES,
    actor: str = "pemohon",
) -> list[Document]:
    """Documents sent again with a correction: checked like at submission, kept beside the old ones (the
    newest of each kind is the current one) and recorded in the history. The caller commits."""
    checked = [
        (u, documents.check(u.content, u.kind, max_bytes)) for u in uploads if u.kind in (*REQUIRED_DOCUMENTS, "photo")
    ]
    rows = _store(session, app, checked, document_dir)
    for row in rows:
        record(session, app.instance, "document_uploaded", actor=actor, at=row.uploaded_at, document=row.kind)
    return rows


def routing_of(session: Session, app: Application) -> dict[str, Any] | None:
    """The latest routing decision: ``{"kecamatan", "source"}`` (source ``siak`` or ``applicant``)."""
    event = session.scalar(
        select(Event)
        .where(Event.instance_id == app.instance_id, Event.kind == "routed")
        .order_by(Event.id.desc())
        .limit(1)
    )
    return {"kecamatan": event.detail.get("kecamatan"), "source": event.detail.get("source")} if event else None


def by_code(session: Session, raw_code: str) -> Application:
    code = normalize_code(raw_code)
    app = session.scalar(select(Application).where(Application.code == code)) if code else None
    if app is None:
        raise NotFound("Kode permohonan tidak ditemukan.")
    return app


def mask_name(name: str) -> str:
    return " ".join(part[0] + "*" * (len(part) - 1) for part in name.split() if part)


def mask_number(value: str | None, visible: int = 4) -> str:
    """A personal number (NIK, KK number, phone) with all but its last ``visible`` characters starred."""
    value = (value or "").strip()
    return "*" * max(len(value) - visible, 0) + value[-visible:] if value else ""


def status_view(session: Session, app: Application, full: bool = False) -> dict[str, Any]:
    """What the applicant sees: milestones with times, the current step, where to collect.

    Only a masked name; ``full`` (applicant signed in with the PIN) adds the officers' notes and the
    applicant's own open tasks."""
    instance: Instance = app.instance
    events = list(session.scalars(select(Event).where(Event.instance_id == instance.id).order_by(Event.id)))
    open_rows = instances.open_tasks_of(session, instance.id)
    kec = session.get(Kecamatan, instance.kecamatan or "")
    view: dict[str, Any] = {
        "code": app.code,
        "status": instance.status,
        "status_label": STATUS_LABELS.get(instance.status, instance.status),
        "name": mask_name(app.child.get("name", "")),
        "kia_kind": app.kia_kind,
        "submitted_at": app.created_at,
        "completed_at": instance.completed_at,
        "steps": [
            {"status": e.detail.get("milestone"), "label": e.detail.get("name"), "at": e.at}
            for e in events
            if e.kind == "milestone"
        ],
        "current": [
            {"step": r.step, "title": r.title, "lane": r.lane, "ready_at": r.ready_at, "due_at": r.due_at}
            for r in open_rows
        ],
        "pickup": {"kecamatan": kec.name, "uptd": kec.uptd_name, "address": kec.uptd_address} if kec else None,
    }
    if full:
        view["notes"] = [
            {"step": e.step, "note": e.detail["note"], "at": e.at}
            for e in events
            if e.kind == "completed" and e.detail.get("note")
        ]
        view["tasks"] = [
            {"id": r.id, "step": r.step, "title": r.title, "form_key": r.form_key}
            for r in open_rows
            if r.lane == "applicant"
        ]
    return view

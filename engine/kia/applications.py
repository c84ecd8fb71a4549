"""KIA applications: the domain around the process instance (personal data, code, PIN, documents)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.orm import Session

from engine.kia import documents, lockout, routing, rules
from engine.kia.models import Application, Document, Kecamatan
from engine.kia.process import ApplicationStatus
from engine.kia.security import display_code, hash_secret, new_code, new_pin, normalize_code
from engine.workflow import incidents, instances
from engine.workflow.clock import clock
from engine.workflow.definitions import definition_of
from engine.workflow.errors import Conflict, EngineError, InvalidData, NotFound
from engine.workflow.events import record
from engine.workflow.models import Event, Instance, Outbox, TaskRow

PROCESS_KEY = "kia_whatsapp"
REQUIRED_DOCUMENTS = ("kk", "akta")
NIK_LENGTH = 16

STATUS_LABELS: dict[str, str] = {
    ApplicationStatus.BARU: "Baru",
    ApplicationStatus.DIAJUKAN: "Diajukan",
    ApplicationStatus.DIVERIFIKASI: "Diverifikasi",
    ApplicationStatus.PERLU_PERBAIKAN: "Perlu perbaikan",
    ApplicationStatus.DICETAK: "Dicetak",
    ApplicationStatus.SIAP_DIAMBIL: "Siap diambil di UPTD",
    ApplicationStatus.SELESAI: "Selesai",
}


def status_label(instance: Instance) -> str:
    """An instance's status as people read it: the name of the milestone it passed last, as the diagram
    of its version names it (a milestone a process owner added reads as they named it); ``Baru`` before
    the first."""
    names = {key: name for key, name in definition_of(instance.process_version).milestones.values() if name}
    return names.get(instance.status) or STATUS_LABELS.get(instance.status, instance.status)


@dataclass(frozen=True)
class Upload:
    kind: str  # kk | akta | photo | proxy_letter
    content: bytes


@dataclass(frozen=True)
class Attachments:
    """Files sent with a staff step's form (the proxy letter with the hand-over), and where they go."""

    uploads: tuple[Upload, ...]
    document_dir: str
    max_bytes: int = documents.DEFAULT_MAX_BYTES

    def get(self, kind: str) -> Upload | None:
        return next((u for u in self.uploads if u.kind == kind), None)


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
    its PIN in clear text (shown once; only its hash is stored). The KIA kind and whether the photo is
    required come from the ``kia_rules`` table of the version the application starts on."""
    files = {u.kind: u for u in uploads}
    rule = rules.for_new_application(session, process_key, data["child_age"])
    needed = list(REQUIRED_DOCUMENTS) + (["photo"] if rule.photo_required else [])
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
        data={"child_age": data["child_age"], "kia_kind": rule.kind, "photo_required": rule.photo_required},
        actor="pemohon",
    )
    record(session, instance, "routed", actor="sistem", at=clock.now(), kecamatan=route.kecamatan, source=route.source)
    app = Application(
        instance=instance,  # sets ``instance.application`` too
        code=code,
        pin_hash=hash_secret(pin),
        channel=channel,
        kia_kind=rule.kind,
        applicant=data["applicant"],
        child=data["child"],
        warnings={"nik": data.get("warnings", [])},
        created_at=clock.now(),
        # starting the chat is consent to WhatsApp notices; through the API or web it is stated
        whatsapp_consent_at=clock.now() if channel == "whatsapp" or data.get("whatsapp_consent") else None,
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


def attach(
    session: Session, app: Application, upload: Upload, *, document_dir: str, max_bytes: int, label: str | None = None
) -> Document:
    """One document sent with a staff step (a proxy letter with the hand-over): checked like at submission
    (its type by content, its size: 413/415 naming its field, the message the file by ``label``), stored
    the same way. The caller commits."""
    media_type = documents.check(upload.content, upload.kind, max_bytes, label)
    [row] = _store(session, app, [(upload, media_type)], document_dir)
    session.flush()
    return row


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


class DuplicateApplication(Conflict):
    """The child already has an application in progress."""

    code = "duplicate_application"


DUPLICATE = (
    "Permohonan KIA untuk anak dengan NIK ini sedang diproses. Ikuti permohonan tersebut dengan kode "
    "permohonan yang Anda terima saat mengajukan (periksa WhatsApp atau e-mail Anda); tidak perlu "
    "mengajukan lagi."
)


def refuse_duplicate(session: Session, child_nik: str | None) -> None:
    """DuplicateApplication when an application for the same child NIK is still open (not finished nor
    cancelled). Names no code: the caller may be anyone who knows the NIK. Both applicant channels (the
    API and the WhatsApp chat) call it before ``submit``, in the transaction that submits: on PostgreSQL
    it holds a lock on the NIK until that transaction ends, so that two at once cannot both pass."""
    if not child_nik:
        return
    if session.get_bind().dialect.name == "postgresql":
        # two submissions of one child at once: the second waits here until the first commits, then finds
        # it (SQLite's transactions already run one at a time: BEGIN IMMEDIATE)
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"kia-child-nik:{child_nik}"))))
    open_one = session.scalar(
        select(Application.id)
        .join(Instance, Instance.id == Application.instance_id)
        .where(Application.child_nik == child_nik, Instance.completed_at.is_(None))
        .limit(1)
    )
    if open_one is not None:
        raise DuplicateApplication(DUPLICATE)


PIN_REISSUES_PER_DAY = 3


class TooManyPinReissues(EngineError):
    """A new PIN was already sent ``PIN_REISSUES_PER_DAY`` times in the last 24 hours."""

    code = "too_many_pin_reissues"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"PIN baru sudah dikirim {PIN_REISSUES_PER_DAY} kali dalam 24 jam terakhir; coba lagi besok "
            "atau datang ke kantor Disdukcapil."
        )
        self.retry_after = retry_after


def reissue_pin(session: Session, app: Application) -> list[str]:
    """A new PIN for ``app``, sent only to the contact given in the application (never returned): by
    e-mail when it has one, and over WhatsApp when it came by WhatsApp or has no e-mail. The old PIN
    stops working and the code's sign-in lock is lifted. At most ``PIN_REISSUES_PER_DAY`` in 24 hours
    (TooManyPinReissues). Returns the channels used; the caller commits."""
    now = clock.now()
    recent = list(
        session.scalars(
            select(Event.at)
            .where(Event.instance_id == app.instance_id, Event.kind == "pin_reissued", Event.at > now - timedelta(1))
            .order_by(Event.at)
        )
    )
    if len(recent) >= PIN_REISSUES_PER_DAY:
        raise TooManyPinReissues(int((recent[0] + timedelta(1) - now).total_seconds()) + 1)
    pin = new_pin()
    app.pin_hash = hash_secret(pin)
    lockout.reset(session, lockout.pin_key(app.id))
    contact = app.applicant
    text = (
        f"PIN baru untuk permohonan KIA {display_code(app.code)}: "
        f"{pin}\nPIN lama tidak berlaku lagi. Jangan berikan PIN ini kepada siapa pun."
    )
    channels = []
    if contact.get("email"):
        channels.append(("email", contact["email"]))
    if contact.get("phone") and (app.channel == "whatsapp" or not channels):
        channels.append(("whatsapp", contact["phone"]))
    for channel, recipient in channels:
        # the template's parameters (outside the 24-hour window): blanked with the text once sent
        payload = {"text": text, "secret": True, "code": app.code, "parameters": [display_code(app.code), pin]}
        if channel == "email":
            payload["subject"] = "PIN baru permohonan KIA"
        session.add(
            Outbox(
                instance_id=app.instance_id,
                channel=channel,
                kind="pin_reissued",
                recipient=recipient,
                payload=payload,
                next_attempt_at=now,
                created_at=now,
            )
        )
    record(session, app.instance, "pin_reissued", actor="pemohon", at=now, channels=[c for c, _ in channels])
    return [c for c, _ in channels]


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


def matching(raw: str) -> ColumnElement[bool]:
    """The tasks a staff search ``raw`` finds. A code (one word once its dashes are dropped, case ignored)
    is looked up by the unique index on ``code`` alone; 16 digits are the child's NIK (exact, the index on
    ``child_nik``); anything else is a case-insensitive fragment of the child's or the applicant's name (or
    a code typed with spaces), compared with the open task's own copy of both names (``tasks.search_text``,
    kept by ``models._copy_search_keys``), which ``ix_tasks_open_search`` holds for every open task."""
    text = " ".join(raw.split())
    if not text:
        return false()
    code = normalize_code(text)
    if code is not None and " " not in text:  # no name fragment is 12 letters of the code alphabet, unspaced
        return _of_applications(Application.code == code)
    digits = text.replace(" ", "")
    if digits.isdigit() and len(digits) == NIK_LENGTH:
        return _of_applications(Application.child_nik == digits)  # the indexed copy of child["nik"]
    found = [TaskRow.search_text.contains(text.lower(), autoescape=True)]  # both names, lowercased
    if code is not None:
        found.append(_of_applications(Application.code == code))
    return or_(*found)


def _of_applications(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return TaskRow.instance_id.in_(select(Application.instance_id).where(condition))


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
        "status_label": status_label(instance),
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

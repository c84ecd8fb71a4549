"""SOP step 5's end: the card handed over at the UPTD, to the right person.

The hand-over step (form ``handover``) records who received the card: their name, NIK, relationship to
the child, and the number of the card handed over. ``record`` is the step's rule, applied by the one
completion use case (``engine.kia.completion``) before the runtime completes the step; everything it
refuses is refused together, field by field (422, in Bahasa Indonesia), and nothing is kept:

- the NIK is checked by the form (``engine.kia.identity``) and here against the region codes of the
  reference data, like the child's NIK; it cannot be the child's own;
- the card number is the one printed for the application (when the print step recorded one; else the
  number given is recorded);
- a parent or a family member (``ayah``, ``ibu``, ``anggota_keluarga``) must be in the child's family
  card (KK) per the population records, under the name the records hold for that NIK. Where the records
  cannot say (none loaded, the service down, the family not in them) the hand-over notes that the KK was
  not checked (``KkCheck.NOT_CHECKED``), as the verification does without records;
- anyone else collects as a proxy (``kuasa``): the officer records the proxy's name and NIK as the
  recipient's and uploads the proxy letter (``proxy_letter``: PDF, JPEG or PNG, checked and stored like
  the application's documents, ``engine.kia.applications.attach``).

The recipient's NIK stays out of the workflow's data (and so out of its serialized state and history):
the ``handovers`` row keeps it, for the staff of the application; the applicant reads it masked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import applications, reference, siak, verification
from engine.kia.applications import Attachments, mask_number
from engine.kia.identity import IdentityError, parse_nik
from engine.kia.models import Application, Handover
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from engine.workflow.models import TaskRow

FORM = "handover"
PROXY_LETTER = "proxy_letter"  # the upload's field name and the document's kind
LETTER_LABEL = "surat kuasa"


class Relationship(StrEnum):
    """Who the recipient is to the child."""

    AYAH = "ayah"
    IBU = "ibu"
    KELUARGA = "anggota_keluarga"  # another member of the child's family card (a guardian in the KK)
    KUASA = "kuasa"  # a proxy with a letter


RELATIONSHIP_LABELS: dict[str, str] = {
    Relationship.AYAH: "Ayah",
    Relationship.IBU: "Ibu",
    Relationship.KELUARGA: "Anggota keluarga dalam KK",
    Relationship.KUASA: "Kuasa (dengan surat kuasa)",
}


class KkCheck(StrEnum):
    """The recipient against the child's family card in the population records."""

    IN_KK = "in_kk"  # found in the KK, under the name given
    NOT_CHECKED = "not_checked"  # the records could not say: the NIK's structure alone was checked
    PROXY = "proxy"  # a proxy, not in the KK: their letter was uploaded


KK_CHECK_LABELS: dict[str, str] = {
    KkCheck.IN_KK: "Tercantum dalam KK anak menurut data kependudukan",
    KkCheck.NOT_CHECKED: "Belum dicocokkan dengan KK (data kependudukan tidak tersedia)",
    KkCheck.PROXY: "Kuasa dengan surat kuasa",
}

REFUSED = "Penyerahan KIA ditolak; periksa isian yang ditandai."
NOT_IN_KK = (
    "Penerima tidak tercantum dalam Kartu Keluarga (KK) anak menurut data kependudukan. KIA hanya dapat "
    "diambil oleh orang tua atau anggota keluarga yang tercantum dalam KK, atau oleh kuasa yang membawa "
    "surat kuasa (pilih hubungan «Kuasa» dan unggah surat kuasanya)."
)
NAME_MISMATCH = "Nama penerima tidak sesuai dengan nama pada data kependudukan untuk NIK ini."
CHILD_NIK = "NIK penerima sama dengan NIK anak; isi NIK orang yang mengambil KIA."
CARD_MISMATCH = "Nomor kartu tidak sesuai dengan nomor KIA yang dicetak untuk permohonan ini ({expected})."
LETTER_REQUIRED = "Unggah surat kuasa (PDF, JPEG atau PNG) bila KIA diambil oleh kuasa."
LETTER_UNEXPECTED = "Surat kuasa hanya diunggah bila penerima adalah kuasa."
UNEXPECTED_FILE = "Berkas ini tidak diterima pada langkah ini."
NOT_HANDED_OVER = "KIA permohonan ini belum diserahkan."

FIELD_REQUIRED = "Wajib diisi."
UNKNOWN_RELATIONSHIP = "Pilih hubungan penerima: ayah, ibu, anggota keluarga dalam KK, atau kuasa."
REQUIRED_FIELDS = ("recipient_name", "recipient_nik", "recipient_relationship", "card_number")

_SPACES = re.compile(r"\s+")


def card_number_of(text: str | None) -> str:
    """A card number as compared and kept: without spaces, upper case."""
    return _SPACES.sub("", text or "").upper()


def record(
    session: Session, row: TaskRow, data: dict[str, Any], actor: str, attachments: Attachments | None
) -> dict[str, Any]:
    """The hand-over step's rule (see the module's doc): checks, stores the proxy letter, writes the
    ``handovers`` row; returns the data for the workflow (without the NIK). InvalidData (422) for
    everything refused, UploadRefused (413/415) for a letter that is not a document."""
    app = row.instance.application
    uploads = attachments.uploads if attachments is not None else ()
    _require_fields(data)
    relationship = Relationship(data["recipient_relationship"])
    name, nik = data["recipient_name"], data["recipient_nik"]
    card_number = card_number_of(data["card_number"])
    errors: dict[str, list[str]] = {u.kind: [UNEXPECTED_FILE] for u in uploads if u.kind != PROXY_LETTER}
    expected = card_number_of(app.card_number)
    if expected and card_number != expected:
        errors["card_number"] = [CARD_MISMATCH.format(expected=app.card_number)]
    try:
        parse_nik(nik, reference.known_region_codes(session))
    except IdentityError as error:
        errors["recipient_nik"] = [error.message]
    if nik == (app.child or {}).get("nik"):
        errors["recipient_nik"] = [CHILD_NIK]
    letter = attachments.get(PROXY_LETTER) if attachments is not None else None
    if relationship is Relationship.KUASA:
        kk_check = KkCheck.PROXY
        if letter is None:
            errors[PROXY_LETTER] = [LETTER_REQUIRED]
    else:
        if letter is not None:
            errors[PROXY_LETTER] = [LETTER_UNEXPECTED]
        kk_check = KkCheck.NOT_CHECKED
        if "recipient_nik" not in errors:
            kk_check, family_errors = _family_check(session, app, nik, name)
            errors.update(family_errors)
    if errors:
        raise InvalidData(REFUSED, errors)
    letter_id = None
    if letter is not None and attachments is not None:
        stored = applications.attach(
            session,
            app,
            letter,
            document_dir=attachments.document_dir,
            max_bytes=attachments.max_bytes,
            label=LETTER_LABEL,
        )
        letter_id = stored.id
    if not expected:
        app.card_number = card_number
    handover = session.scalar(select(Handover).where(Handover.application_id == app.id))
    if handover is None:  # a diagram that hands over twice keeps the latest
        handover = Handover(application_id=app.id)
        session.add(handover)
    handover.task_id = row.id
    handover.recipient_name = name
    handover.recipient_nik = nik
    handover.relationship = relationship.value
    handover.card_number = card_number
    handover.kk_check = kk_check.value
    handover.proxy_letter_id = letter_id
    handover.note = (data.get("note") or "").strip() or None
    handover.handed_over_by = actor
    handover.handed_over_at = clock.now()
    return {key: value for key, value in data.items() if key != "recipient_nik"}


def _require_fields(data: dict[str, Any]) -> None:
    """What the rule reads, as the built-in form gives it (a form of another shape under the same key is
    refused field by field, not failed on)."""
    errors = {key: [FIELD_REQUIRED] for key in REQUIRED_FIELDS if not isinstance(data.get(key), str) or not data[key]}
    if "recipient_relationship" not in errors and data["recipient_relationship"] not in set(Relationship):
        errors["recipient_relationship"] = [UNKNOWN_RELATIONSHIP]
    if errors:
        raise InvalidData(REFUSED, errors)


def _family_check(session: Session, app: Application, nik: str, name: str) -> tuple[KkCheck, dict[str, list[str]]]:
    """The recipient in the child's family card: the KK of the child's record (else the one entered)."""
    port = siak.port(session)
    try:
        child = port.lookup_person((app.child or {}).get("nik", ""))
        family = port.lookup_family(child.kk_number if child else (app.child or {}).get("kk_number", ""))
    except siak.SiakUnavailable:
        return KkCheck.NOT_CHECKED, {}
    if family is None:
        return KkCheck.NOT_CHECKED, {}
    member = next((m for m in family.members if m.nik == nik), None)
    if member is None:
        return KkCheck.NOT_CHECKED, {"recipient_nik": [NOT_IN_KK]}
    if not verification.same_name(member.name, name):
        return KkCheck.NOT_CHECKED, {"recipient_name": [NAME_MISMATCH]}
    return KkCheck.IN_KK, {}


def kk_check_label(handover: Handover) -> str:
    return KK_CHECK_LABELS.get(handover.kk_check, handover.kk_check)


def of_application(session: Session, app: Application) -> Handover | None:
    return session.scalar(select(Handover).where(Handover.application_id == app.id))


def require(session: Session, app: Application) -> Handover:
    """The application's hand-over, NotFound (404) before the card was handed over."""
    found = of_application(session, app)
    if found is None:
        raise NotFound(NOT_HANDED_OVER)
    return found


@dataclass(frozen=True)
class Shown:
    """A hand-over as a reader sees it: the NIK in full, the KK check (what the population records said)
    and the proxy letter only for the staff of the application."""

    task_id: str
    recipient_name: str
    recipient_nik: str | None  # None when the reader may not see it in full
    recipient_nik_masked: str
    relationship: str
    relationship_label: str
    card_number: str
    kk_check: str | None
    kk_check_label: str | None
    proxy_letter_id: int | None
    note: str | None
    handed_over_by: str
    handed_over_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def shown(handover: Handover, full: bool) -> Shown:
    """``full``: the reader handles the application (``engine.kia.access.may_see_population_records``)."""
    return Shown(
        task_id=handover.task_id,
        recipient_name=handover.recipient_name,
        recipient_nik=handover.recipient_nik if full else None,
        recipient_nik_masked=mask_number(handover.recipient_nik),
        relationship=handover.relationship,
        relationship_label=RELATIONSHIP_LABELS.get(handover.relationship, handover.relationship),
        card_number=handover.card_number,
        kk_check=handover.kk_check if full else None,
        kk_check_label=kk_check_label(handover) if full else None,
        proxy_letter_id=handover.proxy_letter_id if full else None,
        note=handover.note,
        handed_over_by=handover.handed_over_by,
        handed_over_at=handover.handed_over_at,
    )

"""SOP step 5: handing the card over at the UPTD to someone entitled to collect it.

The card goes to a parent or another member of the child's family card (KK) as the population records
list it (``engine.kia.siak``), or to a proxy who brings a letter from the parents ("surat kuasa"), which
the officer uploads. ``hand_over`` is the step's rule, run by the one completion use case
(``engine.kia.completion``): the recipient's NIK is checked structurally (``engine.kia.identity``: a real
NIK of an adult, not the child's own) and, where the records hold the family, against the KK (the NIK in
it, the name as recorded, the mother or father as the child's record names them); the card number must be
the one printed. Anything refused is one ``InvalidData`` with a message per field, in Bahasa Indonesia.
When the records hold no family (nothing loaded, or this KK not in them) the officer is told to check the
KK paper (``family_for_handover``) and a structurally valid recipient with a stated relationship passes.

What it records is a ``Handover`` row (the personal data: name, NIK) and a ``handed_over`` event with no
personal data (the relationship, whether the KK was checked, whether a proxy letter came); the workflow's
own data keeps neither the name nor the NIK.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.kia import documents, siak
from engine.kia.applications import mask_number
from engine.kia.identity import IdentityError, age_on, jakarta_today, parse_nik
from engine.kia.models import Application, Document, Handover
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData, NotFound
from engine.workflow.events import record
from engine.workflow.models import TaskRow

HANDOVER_FORM = "handover"
PROXY_LETTER = "proxy_letter"  # the upload's field name and the stored document's kind
UPLOAD_FIELDS = (PROXY_LETTER,)
HANDED_OVER = "handed_over"  # the event
ADULT_AGE = 17  # the age of the KTP-el: a recipient signs with their own identity card
PERSONAL_FIELDS = ("recipient_name", "recipient_nik")  # kept in the Handover row, not in the workflow


class Relationship(StrEnum):
    IBU = "ibu"
    AYAH = "ayah"
    WALI = "wali"
    KELUARGA = "keluarga"
    KUASA = "kuasa"


RELATIONSHIP_LABELS: dict[str, str] = {
    Relationship.IBU: "Ibu",
    Relationship.AYAH: "Ayah",
    Relationship.WALI: "Wali (tercantum dalam KK)",
    Relationship.KELUARGA: "Anggota keluarga lain dalam KK",
    Relationship.KUASA: "Penerima kuasa (dengan surat kuasa)",
}
PARENT_SEX = {Relationship.IBU: "P", Relationship.AYAH: "L"}
FAMILY_ROLE_LABELS = {
    "kepala_keluarga": "Kepala keluarga",
    "istri": "Istri",
    "suami": "Suami",
    "anak": "Anak",
    "famili_lain": "Famili lain",
    "orang_tua": "Orang tua",
    "mertua": "Mertua",
    "cucu": "Cucu",
}

REFUSED = "Penyerahan KIA ditolak: periksa isian yang ditandai."
NOT_IN_KK = (
    "NIK penerima tidak tercantum dalam Kartu Keluarga (KK) anak ini menurut data kependudukan. KIA hanya "
    "diserahkan kepada orang tua atau anggota keluarga dalam KK; orang lain wajib membawa surat kuasa "
    "(pilih «Penerima kuasa» dan unggah suratnya)."
)
NAME_NOT_IN_KK = "Nama penerima tidak sama dengan nama pada KK untuk NIK ini; periksa KTP-el penerima."
NOT_THE_MOTHER = (
    "Menurut data kependudukan, penerima dengan NIK ini bukan ibu anak; pilih hubungan yang sesuai "
    "(mis. anggota keluarga lain dalam KK)."
)
NOT_THE_FATHER = (
    "Menurut data kependudukan, penerima dengan NIK ini bukan ayah anak; pilih hubungan yang sesuai "
    "(mis. anggota keluarga lain dalam KK)."
)
WRONG_SEX = {
    Relationship.IBU: "NIK penerima adalah NIK laki-laki, sedangkan hubungan yang dipilih Ibu.",
    Relationship.AYAH: "NIK penerima adalah NIK perempuan, sedangkan hubungan yang dipilih Ayah.",
}
THE_CHILD = "NIK penerima adalah NIK anak pemilik KIA; KIA diserahkan kepada orang tua, keluarga atau penerima kuasa."
TOO_YOUNG = (
    "Penerima harus sudah berusia {age} tahun dan membawa KTP-el; menurut NIK ini penerima baru berusia {years} tahun."
)
LETTER_REQUIRED = "Surat kuasa wajib diunggah bila KIA diambil oleh penerima kuasa (PDF, JPEG atau PNG)."
LETTER_NOT_NEEDED = (
    "Surat kuasa hanya diunggah bila penerima adalah penerima kuasa: pilih «Penerima kuasa» atau kosongkan berkasnya."
)
CARD_REQUIRED = "Wajib diisi: nomor kartu belum dicatat saat pencetakan; salin dari KIA yang diserahkan."
CARD_MISMATCH = (
    "Nomor kartu tidak sama dengan nomor yang dicatat saat pencetakan ({recorded}); periksa KIA yang diserahkan."
)
FAMILY_FOUND = (
    "Menurut data kependudukan, KIA dapat diserahkan kepada anggota keluarga dalam KK berikut. Cocokkan "
    "KTP-el penerima: nama dan NIK-nya harus sama dengan KK. Orang lain hanya dengan surat kuasa."
)
FAMILY_UNKNOWN = (
    "Data kependudukan tidak memuat KK anak ini, jadi penerima tidak dapat dicocokkan otomatis. Periksa "
    "Kartu Keluarga (KK) asli yang dibawa penerima: nama dan NIK penerima harus tercantum di KK dan sama "
    "dengan KTP-el-nya, lalu pilih hubungannya dengan anak. Bila tidak tercantum, KIA hanya diserahkan "
    "dengan surat kuasa dari orang tua."
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Uploads:
    """The files sent with a completion (field name to bytes, at most ``max_bytes + 1`` read) and where
    and how large documents are stored."""

    files: Mapping[str, bytes]
    document_dir: str
    max_bytes: int = documents.DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class FamilyMember:
    name: str
    role: str  # the family role's label, e.g. "Istri"


@dataclass(frozen=True)
class FamilyForHandover:
    """What the hand-over officer is shown before the form: who may collect, or what to check."""

    status: Literal["found", "unknown"]
    message: str
    members: tuple[FamilyMember, ...] = field(default_factory=tuple)
    card_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "message": self.message,
            "members": [{"name": m.name, "role": m.role} for m in self.members],
            "card_number": self.card_number,
        }


def _norm(value: object) -> str:
    return _NOT_ALNUM.sub(" ", str(value or "").casefold()).strip()


def _family(session: Session, app: Application) -> siak.Family | None:
    try:
        return siak.port(session).lookup_family(str(app.child.get("kk_number") or ""))
    except siak.SiakUnavailable:
        return None


def _child_record(session: Session, app: Application) -> siak.Person | None:
    try:
        return siak.port(session).lookup_person(str(app.child.get("nik") or ""))
    except siak.SiakUnavailable:
        return None


def family_for_handover(session: Session, app: Application) -> FamilyForHandover:
    """The family members the records list for the child's KK (the child left out), or what the officer
    must check when they list none. Population records: only for a caller
    ``engine.kia.access.may_see_population_records`` allows (the callers check)."""
    family = _family(session, app)
    if family is None:
        return FamilyForHandover("unknown", FAMILY_UNKNOWN, card_number=app.card_number)
    child_nik = app.child.get("nik")
    members = tuple(
        FamilyMember(m.name, FAMILY_ROLE_LABELS.get(m.family_role, m.family_role.replace("_", " ").capitalize()))
        for m in family.members
        if m.nik != child_nik
    )
    return FamilyForHandover("found", FAMILY_FOUND, members, app.card_number)


def _card_number(given: str | None, recorded: str | None, errors: dict[str, list[str]]) -> str:
    given = _SPACES.sub(" ", (given or "").strip())
    if recorded:
        if given and _norm(given) != _norm(recorded):
            errors["card_number"] = [CARD_MISMATCH.format(recorded=recorded)]
        return recorded
    if not given:
        errors["card_number"] = [CARD_REQUIRED]
    return given


def _structure(
    nik: str, relationship: str, child_nik: str | None, known_regions: Collection[str] | None
) -> dict[str, list[str]]:
    """The recipient's NIK as a real adult's, not the child's, of the sex a parent's relationship says."""
    try:
        info = parse_nik(nik, known_regions)
    except IdentityError as error:
        return {"recipient_nik": [error.message]}
    if nik == child_nik:
        return {"recipient_nik": [THE_CHILD]}
    years = age_on(info.birth_date, jakarta_today())
    if years < ADULT_AGE:
        return {"recipient_nik": [TOO_YOUNG.format(age=ADULT_AGE, years=years)]}
    expected = PARENT_SEX.get(Relationship(relationship))
    if expected is not None and info.sex != expected:
        return {"recipient_relationship": [WRONG_SEX[Relationship(relationship)]]}
    return {}


def _against_kk(
    session: Session, app: Application, name: str, nik: str, relationship: str, errors: dict[str, list[str]]
) -> bool | None:
    """Whether the recipient is in the child's KK per the records (None: no family there to check);
    adds the fields' messages when a relative is not who the KK says."""
    family = _family(session, app)
    if family is None:
        return None
    member = next((m for m in family.members if m.nik == nik), None)
    if relationship == Relationship.KUASA:
        return member is not None
    if member is None:
        errors["recipient_nik"] = [NOT_IN_KK]
        return False
    if _norm(member.name) != _norm(name):
        errors["recipient_name"] = [NAME_NOT_IN_KK]
    child = _child_record(session, app)
    parents = {Relationship.IBU: child.mother_name, Relationship.AYAH: child.father_name} if child else {}
    parent = parents.get(Relationship(relationship), "")
    if parent and _norm(parent) != _norm(member.name):
        errors.setdefault(
            "recipient_relationship", [NOT_THE_MOTHER if relationship == Relationship.IBU else NOT_THE_FATHER]
        )
    return True


def _letter(relationship: str, uploads: Uploads | None, errors: dict[str, list[str]]) -> tuple[bytes, str] | None:
    """The proxy's letter, checked like an application's documents; required for a proxy only."""
    content = (uploads.files.get(PROXY_LETTER) if uploads is not None else None) or b""
    if relationship != Relationship.KUASA:
        if content:
            errors[PROXY_LETTER] = [LETTER_NOT_NEEDED]
        return None
    if not content or uploads is None:
        errors[PROXY_LETTER] = [LETTER_REQUIRED]
        return None
    try:
        return content, documents.check(content, "surat kuasa", uploads.max_bytes)
    except documents.UploadRefused as refused:
        errors[PROXY_LETTER] = [refused.message]
        return None


def hand_over(
    session: Session,
    row: TaskRow,
    data: dict[str, Any],
    actor: str,
    uploads: Uploads | None = None,
    known_regions: Collection[str] | None = None,
) -> dict[str, Any]:
    """The hand-over step's rule (see the module's doc): checks the recipient, stores the proxy's letter,
    records the ``Handover`` and the ``handed_over`` event; returns the data for the workflow (without
    the recipient's name and NIK). Raises ``InvalidData`` with every field's message."""
    app = row.instance.application
    name, nik = data["recipient_name"], data["recipient_nik"]
    relationship = data["recipient_relationship"]
    errors = _structure(nik, relationship, app.child.get("nik"), known_regions)
    card_number = _card_number(data.get("card_number"), app.card_number, errors)
    letter = _letter(relationship, uploads, errors)
    in_kk = _against_kk(session, app, name, nik, relationship, errors) if "recipient_nik" not in errors else None
    if errors:
        raise InvalidData(REFUSED, errors)
    now = clock.now()
    letter_row = None
    if letter is not None and uploads is not None:
        stored = documents.store(uploads.document_dir, *letter)
        letter_row = Document(
            application_id=app.id,
            kind=PROXY_LETTER,
            media_type=stored.media_type,
            sha256=stored.sha256,
            size=stored.size,
            uploaded_at=now,
        )
        session.add(letter_row)
        session.flush()
    app.card_number = card_number
    session.add(
        Handover(
            application_id=app.id,
            task_id=row.id,
            recipient_name=name,
            recipient_nik=nik,
            recipient_relationship=relationship,
            in_kk=in_kk,
            proxy_letter_id=letter_row.id if letter_row is not None else None,
            card_number=card_number,
            handed_over_by=actor,
            handed_over_at=now,
        )
    )
    record(
        session,
        row.instance,
        HANDED_OVER,
        actor=actor,
        at=now,
        task_id=row.id,
        step=row.step,
        lane=row.lane,
        relationship=relationship,
        kk_checked=in_kk is not None,
        proxy_letter=letter_row is not None,
    )
    return {k: v for k, v in {**data, "card_number": card_number}.items() if k not in PERSONAL_FIELDS}


KK_CHECK_LABELS = {
    "in_kk": "tercantum dalam KK menurut data kependudukan",
    "not_in_kk": "tidak tercantum dalam KK (dengan surat kuasa)",
    "kk_paper": "diperiksa petugas pada KK asli (data kependudukan tidak memuat KK ini)",
}


def kk_check(found: Handover) -> str:
    """How the recipient was checked: ``in_kk``, ``not_in_kk`` (a proxy) or ``kk_paper`` (no records)."""
    if found.in_kk is None:
        return "kk_paper"
    return "in_kk" if found.in_kk else "not_in_kk"


def recipient_view(
    found: Handover, officer_name: str | None, officer_nip: str | None, population_records: bool
) -> dict[str, Any]:
    """Who received the card, as the control card and the pages show it: the NIK masked; how they were
    checked against the KK only for a reader who may see the population records (else None)."""
    check = kk_check(found)
    return {
        "recipient_name": found.recipient_name,
        "recipient_nik": mask_number(found.recipient_nik),
        "relationship": found.recipient_relationship,
        "relationship_label": RELATIONSHIP_LABELS.get(found.recipient_relationship, found.recipient_relationship),
        "proxy": found.recipient_relationship == Relationship.KUASA,
        "proxy_letter_id": found.proxy_letter_id,
        "kk_check": check if population_records else None,
        "kk_check_label": KK_CHECK_LABELS[check] if population_records else None,
        "card_number": found.card_number,
        "handed_over_at": found.handed_over_at,
        "handed_over_by": found.handed_over_by,
        "handed_over_by_name": officer_name,
        "handed_over_by_nip": officer_nip,
    }


def handover_of(session: Session, app: Application) -> Handover | None:
    return session.scalar(select(Handover).where(Handover.application_id == app.id))


def require_handover(session: Session, app: Application) -> Handover:
    found = handover_of(session, app)
    if found is None:
        raise NotFound("KIA permohonan ini belum diserahkan.")
    return found


def summary(detail: Mapping[str, Any]) -> str:
    """The ``handed_over`` event in one line, e.g. "Diterima oleh Ibu; dicocokkan dengan KK"."""
    parts = [f"Diterima oleh {RELATIONSHIP_LABELS.get(str(detail.get('relationship')), 'penerima')}"]
    if "kk_checked" in detail:  # from the population records: only for who may see them
        parts.append("dicocokkan dengan data KK" if detail["kk_checked"] else "diperiksa pada KK asli")
    if detail.get("proxy_letter"):
        parts.append("dengan surat kuasa")
    return "; ".join(parts)

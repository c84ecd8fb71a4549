"""SOP step 2 by machine: the applicant's entry against the population records, field by field.

``compare`` looks the child up by NIK and the family by KK number (through the SIAK port) and marks
every field ``match``, ``mismatch`` or ``missing`` (no record to compare with). Names, places and
addresses are compared without regard to case, spacing and punctuation. ``require_override`` is the
rule of the verification step: completing it as ``complete`` while anything is not a match needs the
officer's reason, which is then recorded as a ``verification_override`` event (shown on the control card).
When the records cannot be asked (``unavailable``: nothing loaded yet, or the service is down) the
officer decides by the documents alone, as before the records existed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy.orm import Session

from engine.kia import siak
from engine.kia.models import Application
from engine.workflow.clock import clock
from engine.workflow.errors import InvalidData
from engine.workflow.events import record

Result = Literal["match", "mismatch", "missing"]
Status = Literal["match", "mismatch", "missing", "unavailable"]
OVERRIDE_REQUIRED = (
    "Data permohonan tidak sesuai atau tidak ditemukan pada data kependudukan ({fields}); "
    "isi alasan bila berkas tetap diterima."
)
LABELS = {
    "nik": "NIK",
    "name": "Nama anak",
    "sex": "Jenis kelamin",
    "birth_date": "Tanggal lahir",
    "birth_place": "Tempat lahir",
    "kk_number": "Nomor KK",
    "address": "Alamat sesuai KK",
    "kecamatan": "Kecamatan domisili",
    "applicant": "Pemohon dalam KK",
}
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@dataclass(frozen=True)
class FieldCheck:
    field: str
    label: str
    entered: str | None
    record: str | None
    result: Result


@dataclass(frozen=True)
class Comparison:
    person_found: bool
    family_found: bool
    fields: tuple[FieldCheck, ...]
    family: tuple[siak.Person, ...]
    unavailable: str | None = None  # why the records could not be asked (nothing loaded, service down)

    @property
    def status(self) -> Status:
        if self.unavailable:
            return "unavailable"
        if not self.person_found:
            return "missing"
        return "match" if all(f.result == "match" for f in self.fields) else "mismatch"

    @property
    def disagreements(self) -> list[str]:
        return [f.field for f in self.fields if f.result != "match"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "person_found": self.person_found,
            "family_found": self.family_found,
            "override_required": self.status in ("mismatch", "missing"),
            "unavailable": self.unavailable,
            "fields": [f.__dict__.copy() for f in self.fields],
            "family": [
                {"name": m.name, "family_role": m.family_role, "sex": m.sex, "birth_date": m.birth_date.isoformat()}
                for m in self.family
            ],
        }


def _norm(value: object) -> str:
    return _NOT_ALNUM.sub(" ", str(value).casefold()).strip()


def same_name(a: object, b: object) -> bool:
    """Two names read the same without regard to case, spacing and punctuation (as ``compare`` reads them)."""
    return _norm(a) == _norm(b)


def _check(field: str, entered: object, record_value: object) -> FieldCheck:
    entered_text = None if entered in (None, "") else str(entered)
    record_text = None if record_value in (None, "") else str(record_value)
    if record_text is None:
        result: Result = "missing"
    else:
        result = "match" if entered_text is not None and _norm(entered_text) == _norm(record_text) else "mismatch"
    return FieldCheck(field, LABELS[field], entered_text, record_text, result)


def _applicant_check(applicant: dict[str, Any], person: siak.Person | None, family: siak.Family | None) -> FieldCheck:
    """The applicant is the parent named in the child's record, or at least a member of the family."""
    name = applicant.get("name")
    members = family.members if family else ()
    same = next((m.name for m in members if _norm(m.name) == _norm(name or "")), None)
    parent = None
    if person is not None:
        parent = {"ayah": person.father_name, "ibu": person.mother_name}.get(applicant.get("relationship", ""))
    return _check("applicant", name, same or parent)


def compare(port: siak.SiakPort, child: dict[str, Any], applicant: dict[str, Any]) -> Comparison:
    """The applicant's entry (``child``, ``applicant`` as stored on the application) against the records."""
    try:
        person = port.lookup_person(child.get("nik", ""))
        family = port.lookup_family(child.get("kk_number", ""))
    except siak.SiakUnavailable as error:
        return Comparison(False, False, (), (), unavailable=error.message)
    home = person or (family.members[0] if family and family.members else None)
    checks = [
        _check("nik", child.get("nik"), person.nik if person else None),
        _check("name", child.get("name"), person.name if person else None),
        _check("sex", child.get("sex"), person.sex if person else None),
        _check("birth_date", child.get("birth_date"), person.birth_date.isoformat() if person else None),
        _check("birth_place", child.get("birth_place"), person.birth_place if person else None),
        _check("kk_number", child.get("kk_number"), home.kk_number if home else None),
        _check("address", child.get("address"), home.address if home else None),
        _check("kecamatan", child.get("kecamatan"), home.kecamatan if home else None),
        _applicant_check(applicant, person, family),
    ]
    return Comparison(person is not None, family is not None, tuple(checks), family.members if family else ())


def compare_application(session: Session, app: Application) -> Comparison:
    return compare(siak.port(session), app.child, app.applicant)


def require_override(
    session: Session,
    app: Application,
    data: dict[str, Any],
    *,
    actor: str,
    task_id: str,
    step: str | None,
    lane: str | None,
) -> None:
    """Completing verification as ``complete`` against disagreeing or missing records needs
    ``override_reason`` (InvalidData otherwise); the override is recorded for the control card."""
    if data.get("decision") != "complete":
        return
    comparison = compare_application(session, app)
    if comparison.status in ("match", "unavailable"):
        return
    labels = ", ".join(LABELS[f] for f in comparison.disagreements)
    if not (data.get("override_reason") or "").strip():
        raise InvalidData("Alasan wajib diisi.", {"override_reason": [OVERRIDE_REQUIRED.format(fields=labels)]})
    record(
        session,
        app.instance,
        "verification_override",
        actor=actor,
        at=clock.now(),
        task_id=task_id,
        step=step,
        lane=lane,
        reason=data["override_reason"],
        status=comparison.status,
        fields=comparison.disagreements,
    )

"""The application asked field by field, validated with the API's own marshmallow schemas.

Each step names a field of ``forms.schemas.ApplicantSchema`` or ``ChildSchema``; its title and choices
come from the schema, and its value is checked by loading that one field (``partial=True``), so the chat
applies exactly the API's rules. The assembled draft then goes through ``forms.validate_application``,
like a ``POST /api/v1/applications``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import marshmallow as ma

from engine.kia.identity import IdentityError, age_on, check_child_age, jakarta_today
from forms.fields import Form
from forms.schemas import ApplicantSchema, ChildSchema

SCHEMAS: dict[str, type[Form]] = {"applicant": ApplicantSchema, "child": ChildSchema}
_DMY = re.compile(r"([0-9]{1,2})[-/. ]([0-9]{1,2})[-/. ]([0-9]{4})")


class FieldInvalid(ValueError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Step:
    key: str  # "applicant.name" or "doc:kk"
    hint: str

    @property
    def is_document(self) -> bool:
        return self.key.startswith("doc:")

    @property
    def section(self) -> str:
        return self.key.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.key.split(".", 1)[1] if not self.is_document else self.key[4:]

    @property
    def field(self) -> ma.fields.Field:
        return SCHEMAS[self.section]._declared_fields[self.name]

    @property
    def title(self) -> str:
        if self.is_document:
            return DOCUMENT_TITLES[self.name]
        return self.field.metadata.get("title", self.name)

    def choices(self) -> list[tuple[str, str]]:
        """(value, label) pairs of a choice field, from its ``OneOf`` validator; [] for free text."""
        if self.is_document:
            return []
        for validator in self.field.validators:
            if isinstance(validator, ma.validate.OneOf):
                labels = list(validator.labels) or [str(c) for c in validator.choices]
                return list(zip((str(c) for c in validator.choices), labels, strict=True))
        return []


DOCUMENT_TITLES = {"kk": "Kartu Keluarga (KK)", "akta": "Akta kelahiran", "photo": "Pas foto anak 2x3"}

FIELD_STEPS = [
    Step("applicant.name", "Siapa nama lengkap Anda sebagai pemohon?"),
    Step("applicant.relationship", "Apa hubungan Anda dengan anak?"),
    Step("applicant.phone", "Nomor HP (WhatsApp) yang dapat dihubungi?"),
    Step("applicant.email", "Alamat e-mail Anda? Kode permohonan juga dikirim ke e-mail ini."),
    Step("child.name", "Nama lengkap anak sesuai akta kelahiran?"),
    Step("child.nik", "NIK anak (16 digit angka, tertera di Kartu Keluarga)?"),
    Step("child.sex", "Jenis kelamin anak?"),
    Step("child.birth_date", "Tanggal lahir anak? Tulis tanggal-bulan-tahun, mis. 10-05-2023."),
    Step("child.birth_place", "Tempat lahir anak?"),
    Step("child.kk_number", "Nomor Kartu Keluarga (16 digit angka)?"),
    Step("child.akta_number", "Nomor akta kelahiran anak?"),
    Step("child.address", "Alamat anak sesuai Kartu Keluarga?"),
    Step("child.kecamatan", "Di kecamatan mana anak berdomisili?"),
]
DOCUMENT_STEPS = [
    Step("doc:kk", "Kirim foto atau PDF Kartu Keluarga (KK)."),
    Step("doc:akta", "Kirim foto atau PDF akta kelahiran anak."),
    Step("doc:photo", "Untuk usia anak ini pas foto wajib: kirim pas foto anak ukuran 2x3 (foto atau PDF)."),
]


def child_age(draft: dict[str, Any], on: date | None = None) -> int | None:
    birth = (draft.get("child") or {}).get("birth_date")
    return age_on(date.fromisoformat(birth), on or jakarta_today()) if birth else None


def steps_for(draft: dict[str, Any], photo_required: Callable[[int], bool]) -> list[Step]:
    """The steps of this draft: the photo only when ``photo_required`` (the version's ``kia_rules``
    table) says so for the child's age."""
    age = child_age(draft)
    documents = DOCUMENT_STEPS if age is not None and photo_required(age) else DOCUMENT_STEPS[:2]
    return FIELD_STEPS + documents


def step_by_key(key: str) -> Step:
    return next(s for s in FIELD_STEPS + DOCUMENT_STEPS if s.key == key)


def prompt(step: Step, whatsapp_phone: str | None = None) -> str:
    lines = [f"*{step.title}*", step.hint]
    choices = step.choices()
    if choices:
        lines += [f"{i}. {label}" for i, (_, label) in enumerate(choices, 1)]
        lines.append("Balas dengan nomor pilihan.")
    if step.key == "applicant.phone" and whatsapp_phone:
        lines.append("Balas *ini* untuk memakai nomor WhatsApp ini.")
    return "\n".join(lines)


def _chat_form(step: Step, raw: str, whatsapp_phone: str | None) -> str:
    """Chat conveniences before validation: a choice by number or label, a date as dd-mm-yyyy,
    "ini" for this WhatsApp number. The result is what a web form would have sent."""
    text = raw.strip()
    choices = step.choices()
    if choices:
        if text.isdigit() and 1 <= int(text) <= len(choices):
            return choices[int(text) - 1][0]
        folded = text.casefold()
        return next((value for value, label in choices if folded in (value.casefold(), label.casefold())), text)
    if step.key == "child.birth_date":
        match = _DMY.fullmatch(text)
        if match:
            day, month, year = match.groups()
            return f"{year}-{int(month):02d}-{int(day):02d}"
    if step.key == "applicant.phone" and whatsapp_phone and text.casefold() == "ini":
        return whatsapp_phone
    return text


def clean(step: Step, raw: str, whatsapp_phone: str | None = None) -> Any:
    """The validated, JSON-ready value of one field, or ``FieldInvalid`` with the schema's message."""
    schema = SCHEMAS[step.section](partial=True)
    try:
        loaded = schema.load({step.name: _chat_form(step, raw, whatsapp_phone)})
    except ma.ValidationError as error:
        messages = error.normalized_messages().get(step.name) or ["Nilai tidak sah."]
        raise FieldInvalid(" ".join(str(m) for m in messages)) from None
    if step.key == "child.birth_date":
        try:
            check_child_age(loaded[step.name], jakarta_today())
        except IdentityError as error:
            raise FieldInvalid(error.message) from None
    return schema.dump(loaded)[step.name]


def display(step: Step, value: Any) -> str:
    """A stored value as the applicant reads it (choice labels, dates as dd-mm-yyyy)."""
    labels = dict(step.choices())
    if labels:
        return labels.get(str(value), str(value))
    if step.key == "child.birth_date" and isinstance(value, str):
        year, month, day = value.split("-")
        return f"{day}-{month}-{year}"
    return str(value)


def first_failing_step(fields: dict[str, Any]) -> tuple[Step, str] | None:
    """Map ``validate_application``'s nested messages back to the first step that must be asked again."""
    for step in FIELD_STEPS:
        messages = (
            (fields.get(step.section) or {}).get(step.name) if isinstance(fields.get(step.section), dict) else None
        )
        if messages:
            return step, " ".join(str(m) for m in messages) if isinstance(messages, list) else str(messages)
    return None

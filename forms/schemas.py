"""The KIA application and one form per user task (the diagram's ``form_key``)."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Collection
from datetime import date
from functools import cache
from typing import Any, ClassVar

import marshmallow as ma

from engine.kia.corrections import FIELD_LABELS
from engine.kia.handover import RELATIONSHIP_LABELS
from engine.kia.identity import (
    IdentityError,
    age_on,
    check_child_age,
    jakarta_today,
    nik_mismatches,
    parse_kk_number,
    parse_nik,
)
from engine.kia.regions import PEKANBARU_KECAMATAN
from forms.fields import (
    NOTE_MAX_LENGTH,
    Boolean,
    Choice,
    Date,
    Email,
    Form,
    List,
    Nested,
    PersonName,
    String,
    regexp,
)
from forms.jsonschema import json_schema

PEKANBARU = "14.71"
CONFIRM_REQUIRED = "Permohonan harus dikonfirmasi."
NOTE_REQUIRED_INCOMPLETE = "Catatan wajib diisi bila berkas dikembalikan."
NOTE_REQUIRED_PROBLEM = "Catatan wajib diisi bila data bermasalah."
NOTE_REQUIRED_MISSING = "Catatan wajib diisi bila KIA tidak ada dalam kiriman."
UNKNOWN_FIELD = "Bukan data permohonan yang dikenal."
TOO_MANY_FIELDS = "Terlalu banyak data dipilih."
KK_OUTSIDE_PEKANBARU = "Nomor KK tidak diterbitkan di Kota Pekanbaru; periksa domisili anak menurut KK."

# a NIK the forms' samples use (the dry run's hand-over): the demo family's mother (``engine.kia.population``)
HANDOVER_SAMPLE_NIK = "1471086107920002"
_MOBILE = re.compile(r"628[0-9]{7,12}")  # E.164 digits, 10-15 in all
_SEPARATORS = re.compile(r"[\s().-]")


class FormValidationError(ValueError):
    """Invalid form data; ``fields`` holds marshmallow's nested per-field messages."""

    def __init__(self, fields: dict[str, Any]) -> None:
        self.message = "Data formulir tidak sah."
        super().__init__(self.message)
        self.fields = fields


class UnknownForm(LookupError):  # noqa: N818 - name fixed by the public API
    """No form is registered under this key."""

    def __init__(self, key: object) -> None:
        self.key = key
        self.message = f"Formulir tidak dikenal: {key}"
        super().__init__(self.message)


# Domain fields.


class Phone(String):
    """An Indonesian mobile number ("08...", "+628...", "628..."), loaded as E.164 digits "628..."."""

    default_error_messages: ClassVar[dict[str, str]] = {
        "invalid_phone": "Nomor HP tidak sah: gunakan nomor seluler Indonesia, mis. 081234567890."
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=24, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return text
        digits = _SEPARATORS.sub("", text)
        if digits.startswith("+"):
            digits = digits[1:]
        elif digits.startswith("0"):
            digits = "62" + digits[1:]
        if not _MOBILE.fullmatch(digits):
            raise self.make_error("invalid_phone")
        return digits


class _IdentityNumber(String):
    """16 digits (spaces ignored), checked by an ``identity`` parser with today's date."""

    def __init__(self, parser: Callable[[str], object], **kwargs: Any) -> None:
        super().__init__(max_length=16, **kwargs)
        self.parser = parser
        self.metadata = {"pattern": "^[0-9]{16}$", **self.metadata}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = re.sub(r"\s", "", super()._deserialize(value, attr, data, **kwargs))
        if text:
            try:
                self.parser(text)
            except IdentityError as error:
                raise ma.ValidationError(error.message) from error
        return text


class Nik(_IdentityNumber):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_nik, **kwargs)


class KkNumber(_IdentityNumber):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(parse_kk_number, **kwargs)


def _note(title: str) -> String:
    return String(max_length=NOTE_MAX_LENGTH, metadata={"title": title})


# The application.


class ApplicantSchema(Form):
    title = "Pemohon"

    name = PersonName(required=True, metadata={"title": "Nama pemohon"})
    phone = Phone(required=True, metadata={"title": "Nomor HP (WhatsApp)"})
    email = Email(required=True, metadata={"title": "Alamat e-mail"})
    relationship = Choice(
        ("ayah", "ibu", "wali"),
        ("Ayah", "Ibu", "Wali"),
        required=True,
        metadata={"title": "Hubungan dengan anak"},
    )


class ChildSchema(Form):
    title = "Anak"

    name = PersonName(required=True, metadata={"title": "Nama anak"})
    nik = Nik(required=True, metadata={"title": "NIK anak"})
    birth_date = Date(required=True, metadata={"title": "Tanggal lahir"})
    birth_place = String(required=True, max_length=100, metadata={"title": "Tempat lahir"})
    sex = Choice(("L", "P"), ("Laki-laki", "Perempuan"), required=True, metadata={"title": "Jenis kelamin"})
    kk_number = KkNumber(required=True, metadata={"title": "Nomor Kartu Keluarga (KK)"})
    akta_number = String(
        required=True,
        max_length=50,
        validate=regexp(
            r"^[A-Za-z0-9./\- ]*$",
            "Nomor akta hanya boleh berisi huruf, angka, spasi, titik, garis miring dan tanda hubung.",
        ),
        metadata={"title": "Nomor akta kelahiran"},
    )
    address = String(required=True, max_length=255, metadata={"title": "Alamat sesuai KK"})
    kecamatan = Choice(
        PEKANBARU_KECAMATAN,
        PEKANBARU_KECAMATAN.values(),
        required=True,
        metadata={"title": "Kecamatan domisili"},
    )


class ApplicationForm(Form):
    title = "Permohonan Kartu Identitas Anak (KIA)"

    applicant = Nested(ApplicantSchema, required=True, metadata={"title": "Pemohon"})
    child = Nested(ChildSchema, required=True, metadata={"title": "Anak"})
    whatsapp_consent = Boolean(
        load_default=False,
        metadata={"title": "Saya bersedia menerima pemberitahuan permohonan melalui WhatsApp"},
    )


# One form per user task.


class SubmissionForm(Form):
    title = "Konfirmasi permohonan"

    confirm = Boolean(
        required=True,
        validate=ma.validate.Equal(True, error=CONFIRM_REQUIRED),
        error_messages={"required": CONFIRM_REQUIRED, "null": CONFIRM_REQUIRED},
        metadata={"title": "Saya menyatakan data yang saya isi benar"},
    )


class VerificationForm(Form):
    title = "Verifikasi dan validasi berkas"

    decision = Choice(
        ("complete", "incomplete"),
        ("Lengkap dan sesuai SIAK", "Tidak lengkap, kembalikan ke pemohon"),
        required=True,
        metadata={"title": "Keputusan"},
    )
    note = _note("Catatan untuk pemohon")
    questioned_fields = List(
        Choice(FIELD_LABELS, FIELD_LABELS.values(), error=UNKNOWN_FIELD),
        validate=ma.validate.Length(max=len(FIELD_LABELS), error=TOO_MANY_FIELDS),
        metadata={"title": "Data yang perlu diperbaiki pemohon"},
    )
    override_reason = _note("Alasan tetap diterima meski ada peringatan")

    @ma.validates_schema
    def _note_when_sent_back(self, data: dict, **kwargs: Any) -> None:
        if data.get("decision") == "incomplete" and not data.get("note"):
            raise ma.ValidationError(NOTE_REQUIRED_INCOMPLETE, field_name="note")

    @ma.post_load
    def _questioned_only_when_sent_back(self, data: dict, **kwargs: Any) -> dict:
        """The questioned fields, once each in the entry's order; only when the file goes back."""
        chosen = set(data.pop("questioned_fields", None) or ())
        if data.get("decision") == "incomplete" and chosen:
            data["questioned_fields"] = [f for f in FIELD_LABELS if f in chosen]
        return data


class PrintingForm(Form):
    title = "Penerbitan dan pencetakan KIA"

    decision = Choice(
        ("issued", "problem"),
        ("KIA sudah dicetak", "Data bermasalah"),
        required=True,
        metadata={"title": "Keputusan"},
    )
    note = _note("Catatan untuk pemohon")
    card_number = String(max_length=32, metadata={"title": "Nomor kartu"})

    @ma.validates_schema
    def _note_when_problem(self, data: dict, **kwargs: Any) -> None:
        if data.get("decision") == "problem" and not data.get("note"):
            raise ma.ValidationError(NOTE_REQUIRED_PROBLEM, field_name="note")


class GroupingForm(Form):
    title = "Pengelompokan KIA per kecamatan"

    batch = String(max_length=64, metadata={"title": "Batch distribusi"})
    note = _note("Catatan")


class ArrivalForm(Form):
    title = "Kedatangan KIA di UPTD"

    decision = Choice(
        ("arrived", "missing"),
        ("KIA sudah tiba di UPTD", "KIA tidak ada dalam kiriman"),
        required=True,
        metadata={"title": "Keputusan"},
    )
    note = _note("Catatan")

    @ma.validates_schema
    def _note_when_missing(self, data: dict, **kwargs: Any) -> None:
        if data.get("decision") == "missing" and not data.get("note"):
            raise ma.ValidationError(NOTE_REQUIRED_MISSING, field_name="note")


class MissingCardForm(Form):
    title = "Penelusuran KIA yang tidak sampai di UPTD"

    decision = Choice(
        ("resent", "reprinted"),
        ("KIA ditemukan dan dikirim ulang ke UPTD", "KIA dicetak ulang dan dikirim ke UPTD"),
        required=True,
        metadata={"title": "Tindak lanjut"},
    )
    note = _note("Catatan untuk UPTD")


class HandoverForm(Form):
    """Who received the card (``engine.kia.handover``: the recipient in the child's KK, or a proxy whose
    letter is uploaded with the form as ``proxy_letter``)."""

    title = "Penyerahan KIA kepada pemohon"

    recipient_name = PersonName(required=True, metadata={"title": "Nama penerima (sesuai KTP-el)"})
    recipient_nik = Nik(
        required=True,
        metadata={"title": "NIK penerima", "examples": [HANDOVER_SAMPLE_NIK]},
    )
    recipient_relationship = Choice(
        tuple(map(str, RELATIONSHIP_LABELS)),
        tuple(RELATIONSHIP_LABELS.values()),
        required=True,
        metadata={"title": "Hubungan penerima dengan anak"},
    )
    card_number = String(required=True, max_length=32, metadata={"title": "Nomor kartu KIA yang diserahkan"})
    note = _note("Catatan")


class CorrectionForm(Form):
    title = "Perbaikan data permohonan"

    response = String(required=True, max_length=NOTE_MAX_LENGTH, metadata={"title": "Tanggapan pemohon"})
    applicant = Nested(ApplicantSchema(partial=True), metadata={"title": "Perbaikan data pemohon"})
    child = Nested(ChildSchema(partial=True), metadata={"title": "Perbaikan data anak"})


FORMS: dict[str, type[Form]] = {
    "submission": SubmissionForm,
    "verification": VerificationForm,
    "printing": PrintingForm,
    "grouping": GroupingForm,
    "handover": HandoverForm,
    "arrival": ArrivalForm,
    "missing_card": MissingCardForm,
    "correction": CorrectionForm,
}


def get_form(key: str) -> Form:
    """A fresh instance of the form registered under ``key``."""
    if not isinstance(key, str) or key not in FORMS:
        raise UnknownForm(key)
    return FORMS[key]()


def _load(form: Form, data: Any) -> dict:
    try:
        return form.load(data)
    except ma.ValidationError as error:
        raise FormValidationError(error.normalized_messages()) from None


def load_form(key: str, data: Any) -> dict:
    """Validate ``data`` against form ``key``; the cleaned data is JSON-ready (dates as ISO text)."""
    form = get_form(key)
    return form.dump(_load(form, data))


def form_json_schema(key: str | type[Form]) -> dict:
    """The JSON Schema of a form key (or of a form class such as ``ApplicationForm``)."""
    form_class = key if isinstance(key, type) and issubclass(key, Form) else type(get_form(key))
    return copy.deepcopy(_json_schema_of(form_class))


@cache
def _json_schema_of(form_class: type[Form]) -> dict:
    return json_schema(form_class())


def validate_application(data: Any, on: date | None = None, known_regions: Collection[str] | None = None) -> dict:
    """Load a KIA application and apply the checks that depend on the application date.

    ``on`` defaults to today in Asia/Jakarta; ``known_regions`` (regency codes "14.71") narrows the
    NIK and KK region checks. Returns the JSON-ready cleaned application plus ``child_age`` (completed
    years on ``on``: what the version's ``kia_rules`` table decides the KIA kind and the photo rule from,
    ``engine.kia.rules``) and ``warnings`` (Indonesian, for the verifying officer).
    """
    form = ApplicationForm()
    loaded = _load(form, data)
    on = on or jakarta_today()
    child = loaded["child"]
    errors: dict[str, list[str]] = {}
    checks = {
        "birth_date": lambda: check_child_age(child["birth_date"], on),
        "nik": lambda: parse_nik(child["nik"], known_regions, on),
        "kk_number": lambda: parse_kk_number(child["kk_number"], known_regions, on),
    }
    results = {}
    for field, check in checks.items():
        try:
            results[field] = check()
        except IdentityError as error:
            errors[field] = [error.message]
    if errors:
        raise FormValidationError({"child": errors})
    warnings = nik_mismatches(results["nik"], child["birth_date"], child["sex"])
    if results["kk_number"].regency != PEKANBARU:
        warnings.append(KK_OUTSIDE_PEKANBARU)
    cleaned = form.dump(loaded)
    return {**cleaned, "child_age": age_on(child["birth_date"], on), "warnings": warnings}


def application_check(known_regions: Callable[[], Collection[str] | None]) -> Callable[[Any], dict]:
    """``validate_application`` with the known regions (read only when a correction is checked): how a
    correction is checked like a submission."""
    return lambda data: validate_application(data, known_regions=known_regions())

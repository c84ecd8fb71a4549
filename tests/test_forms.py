"""The KIA application, the task forms, their Indonesian messages and their JSON Schemas."""

from __future__ import annotations

import copy
import json
from datetime import date
from typing import Any

import pytest

from engine.kia.regions import RIAU_REGENCIES
from forms import (
    FORMS,
    ApplicationForm,
    FormValidationError,
    UnknownForm,
    form_json_schema,
    get_form,
    load_form,
    validate_application,
)
from forms.fields import Form

ON = date(2025, 6, 1)
DATE_WARNING = "Tanggal lahir menurut NIK (12-05-2020) berbeda dengan tanggal lahir yang diisi (13-05-2020)."
SEX_WARNING = "Jenis kelamin menurut NIK (Perempuan) berbeda dengan jenis kelamin yang diisi (Laki-laki)."
HANDOVER_FORM = {
    "recipient_name": "Budi Santoso",
    "recipient_nik": "1471081203900003",
    "recipient_relationship": "ayah",
    "card_number": "KIA-0001",
}

APPLICATION: dict[str, Any] = {
    "applicant": {
        "name": "  Siti Aminah ",
        "phone": "0812-3456-7890",
        "email": "siti@example.com",
        "relationship": "ibu",
    },
    "child": {
        "name": "Ani Rahmawati",
        "nik": "1471085205200001",  # girl, 12 May 2020
        "birth_date": "2020-05-12",
        "birth_place": "Pekanbaru",
        "sex": "P",
        "kk_number": "1471081501150003",
        "akta_number": "1471-LT-12052020-0001",
        "address": "Jl. Garuda Sakti No. 1, RT 01 RW 02",
        "kecamatan": "14.71.08",
    },
}


def application(**changes: dict[str, Any]) -> dict[str, Any]:
    """The valid application with some parts changed (a value of ... removes the key)."""
    data = copy.deepcopy(APPLICATION)
    for part, values in changes.items():
        for key, value in values.items():
            if value is ...:
                data[part].pop(key)
            else:
                data[part][key] = value
    return data


def errors_of(call: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    with pytest.raises(FormValidationError) as caught:
        call(*args, **kwargs)
    assert caught.value.message == "Data formulir tidak sah."
    return caught.value.fields


# The application ------------------------------------------------------------------------------


def test_valid_application_is_cleaned() -> None:
    result = validate_application(APPLICATION, on=ON)
    assert result["applicant"] == {
        "name": "Siti Aminah",
        "phone": "6281234567890",
        "email": "siti@example.com",
        "relationship": "ibu",
    }
    assert result["child"]["birth_date"] == "2020-05-12"
    assert result["child"]["kecamatan"] == "14.71.08"
    assert result["child_age"] == 5  # the version's kia_rules table decides the kind from it
    assert result["warnings"] == []
    json.dumps(result)  # ready for workflow data as is


def test_application_under_5() -> None:
    data = application(child={"nik": "1471085205220001", "birth_date": "2022-05-12"})
    assert validate_application(data, on=ON)["child_age"] == 3


@pytest.mark.parametrize(
    ("phone", "normalised"),
    [
        ("081234567890", "6281234567890"),
        ("+6281234567890", "6281234567890"),
        ("6281234567890", "6281234567890"),
        ("0812-3456-7890", "6281234567890"),
        ("+62 812 3456 7890", "6281234567890"),
        ("(0812) 345.678", "62812345678"),  # 11 digits
        ("081234567", "6281234567"),  # shortest: 10 digits
        ("+62812345678901", "62812345678901"),
    ],
)
def test_phone_is_normalised(phone: str, normalised: str) -> None:
    data = application(applicant={"phone": phone})
    assert validate_application(data, on=ON)["applicant"]["phone"] == normalised


@pytest.mark.parametrize(
    "phone",
    [
        "12345",
        "0212345678",  # Jakarta landline
        "+1 555 123 4567",
        "+081234567890",
        "081234",  # too short
        "0812345678901234",  # too long
        "8123456789",
        "nomor saya",
    ],
)
def test_phone_invalid(phone: str) -> None:
    errors = errors_of(validate_application, application(applicant={"phone": phone}), on=ON)
    assert errors == {
        "applicant": {"phone": ["Nomor HP tidak sah: gunakan nomor seluler Indonesia, mis. 081234567890."]}
    }


@pytest.mark.parametrize(
    ("part", "field", "value", "message"),
    [
        ("applicant", "name", "", "Tidak boleh kosong."),
        ("applicant", "name", "   ", "Tidak boleh kosong."),
        ("applicant", "name", None, "Tidak boleh kosong."),
        ("applicant", "name", ..., "Wajib diisi."),
        ("applicant", "name", 42, "Bukan teks yang sah."),
        ("applicant", "name", "x" * 101, "Terlalu panjang: maksimal 100 karakter."),
        ("applicant", "name", "Siti\x00", "Mengandung karakter yang tidak diizinkan."),
        ("applicant", "email", "siti@", "Alamat e-mail tidak sah."),
        ("applicant", "email", ..., "Wajib diisi."),
        (
            "applicant",
            "relationship",
            "kakek",
            "Pilihan tidak sah: harus salah satu dari ayah, ibu, wali.",
        ),
        (
            "applicant",
            "relationship",
            "",
            "Pilihan tidak sah: harus salah satu dari ayah, ibu, wali.",
        ),
        ("child", "nik", "147108520520000", "NIK harus terdiri dari 16 digit angka."),
        ("child", "nik", "1471085205200000", "Nomor urut pada NIK tidak boleh 0000."),
        ("child", "nik", "1471086902210001", "Tanggal lahir pada NIK tidak sah."),
        ("child", "nik", "2071085205200001", "Kode provinsi pada NIK tidak dikenal."),
        ("child", "kk_number", "1471081501150000", "Nomor urut pada nomor KK tidak boleh 0000."),
        ("child", "kk_number", "14710815011500", "Nomor KK harus terdiri dari 16 digit angka."),
        ("child", "birth_date", "12-05-2020", "Format tanggal tidak sah (gunakan YYYY-MM-DD)."),
        ("child", "birth_date", "20200512", "Format tanggal tidak sah (gunakan YYYY-MM-DD)."),
        ("child", "birth_date", 20200512, "Format tanggal tidak sah (gunakan YYYY-MM-DD)."),
        ("child", "birth_date", "2021-02-29", "Tanggal tersebut tidak ada dalam kalender."),
        ("child", "sex", "W", "Pilihan tidak sah: harus salah satu dari L, P."),
        ("child", "kecamatan", "14.71.16", "Pilihan tidak sah: harus salah satu dari 14.71.01, "),
        ("child", "kecamatan", "Binawidya", "Pilihan tidak sah: harus salah satu dari 14.71.01, "),
        ("child", "akta_number", "12;DROP", "Nomor akta hanya boleh berisi huruf, angka, spasi"),
        ("child", "address", "x" * 10_000, "Terlalu panjang: maksimal 255 karakter."),
    ],
)
def test_application_field_errors(part: str, field: str, value: Any, message: str) -> None:
    errors = errors_of(validate_application, application(**{part: {field: value}}), on=ON)
    assert list(errors) == [part]
    assert list(errors[part]) == [field]
    [actual] = errors[part][field]
    assert actual.startswith(message)


def test_nik_with_spaces_is_accepted() -> None:
    data = application(child={"nik": "1471 0852 0520 0001"})
    assert validate_application(data, on=ON)["child"]["nik"] == "1471085205200001"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (None, {"_schema": ["Data formulir harus berupa objek JSON."]}),
        ([APPLICATION], {"_schema": ["Data formulir harus berupa objek JSON."]}),
        ("{}", {"_schema": ["Data formulir harus berupa objek JSON."]}),
        ({}, {"applicant": ["Wajib diisi."], "child": ["Wajib diisi."]}),
        (
            {"applicant": "Siti", "child": []},
            {"applicant": ["Harus berupa objek."], "child": ["Harus berupa objek."]},
        ),
        ({**APPLICATION, "pin": "1234"}, {"pin": ["Kolom tidak dikenal."]}),
        (
            application(child={"blood_group": "O"}),
            {"child": {"blood_group": ["Kolom tidak dikenal."]}},
        ),
    ],
)
def test_application_shape_errors(data: Any, expected: dict) -> None:
    assert errors_of(validate_application, data, on=ON) == expected


def test_application_errors_are_nested_per_field() -> None:
    data = application(
        applicant={"email": "bukan-email", "phone": ...},
        child={"nik": "123", "sex": "X"},
    )
    assert errors_of(validate_application, data, on=ON) == {
        "applicant": {"email": ["Alamat e-mail tidak sah."], "phone": ["Wajib diisi."]},
        "child": {
            "nik": ["NIK harus terdiri dari 16 digit angka."],
            "sex": ["Pilihan tidak sah: harus salah satu dari L, P."],
        },
    }


@pytest.mark.parametrize(
    ("birth_date", "nik", "on", "refused"),
    [
        ("2008-06-01", "1471080106080001", date(2025, 6, 1), True),  # 17 today
        ("2008-06-01", "1471080106080001", date(2025, 5, 31), False),  # 17 tomorrow
        ("2025-06-02", "1471080206250001", date(2025, 6, 1), True),  # born tomorrow
    ],
)
def test_child_must_be_under_17(birth_date: str, nik: str, on: date, refused: bool) -> None:
    data = application(child={"birth_date": birth_date, "nik": nik, "sex": "L"})
    if not refused:
        assert 5 <= validate_application(data, on=on)["child_age"] < 17
        return
    errors = errors_of(validate_application, data, on=on)
    assert list(errors) == ["child"]
    assert "birth_date" in errors["child"]
    assert errors["child"]["birth_date"][0].startswith(
        ("Anak sudah berusia 17 tahun", "Tanggal lahir tidak boleh di masa depan.")
    )


def test_kk_issued_after_application_date() -> None:
    data = application(child={"kk_number": "1471080206250001"})
    assert errors_of(validate_application, data, on=ON) == {
        "child": {"kk_number": ["Tanggal penerbitan pada nomor KK tidak boleh di masa depan."]}
    }


def test_known_regions_narrow_nik_and_kk() -> None:
    data = application(child={"nik": "3171085205200001", "kk_number": "1472081501150003"})
    assert validate_application(data, on=ON)["warnings"]  # accepted without a region list
    assert errors_of(validate_application, data, on=ON, known_regions=set(RIAU_REGENCIES)) == {
        "child": {
            "nik": ["Kode provinsi pada NIK tidak dikenal."],
            "kk_number": ["Kode kabupaten/kota pada nomor KK tidak dikenal."],
        }
    }


@pytest.mark.parametrize(
    ("child", "warnings"),
    [
        ({}, []),
        (
            {"birth_date": "2020-05-13"},
            [DATE_WARNING],
        ),
        (
            {"sex": "L"},
            [SEX_WARNING],
        ),
        (
            {"kk_number": "1401081501150003"},
            ["Nomor KK tidak diterbitkan di Kota Pekanbaru; periksa domisili anak menurut KK."],
        ),
    ],
)
def test_application_warnings(child: dict, warnings: list[str]) -> None:
    assert validate_application(application(child=child), on=ON)["warnings"] == warnings


# Task forms -----------------------------------------------------------------------------------

VALID = [
    ("submission", {"confirm": True}, {"confirm": True}),
    ("verification", {"decision": "complete"}, {"decision": "complete"}),
    (
        "verification",
        {"decision": "complete", "note": " ", "override_reason": "Dicek manual di SIAK"},
        {"decision": "complete", "note": "", "override_reason": "Dicek manual di SIAK"},
    ),
    (
        "verification",
        {"decision": "incomplete", "note": " Akta kelahiran buram. "},
        {"decision": "incomplete", "note": "Akta kelahiran buram."},
    ),
    (
        "printing",
        {"decision": "issued", "card_number": "KIA-0001"},
        {"decision": "issued", "card_number": "KIA-0001"},
    ),
    (
        "printing",
        {"decision": "problem", "note": "Nama di KK berbeda."},
        {"decision": "problem", "note": "Nama di KK berbeda."},
    ),
    ("grouping", {}, {}),
    (
        "grouping",
        {"batch": "2025-06 Binawidya", "note": ""},
        {"batch": "2025-06 Binawidya", "note": ""},
    ),
    (
        "handover",
        {
            "recipient_name": " Siti Rahmawati ",
            "recipient_nik": "1471 0861 0792 0002",
            "recipient_relationship": "ibu",
            "card_number": "1471-0000-0001",
        },
        {
            "recipient_name": "Siti Rahmawati",
            "recipient_nik": "1471086107920002",
            "recipient_relationship": "ibu",
            "card_number": "1471-0000-0001",
        },
    ),
    (
        "handover",
        {**HANDOVER_FORM, "recipient_relationship": "kuasa", "note": "Diambil kuasa"},
        {**HANDOVER_FORM, "recipient_relationship": "kuasa", "note": "Diambil kuasa"},
    ),
    ("correction", {"response": "Sudah saya perbaiki."}, {"response": "Sudah saya perbaiki."}),
    (
        "correction",
        {
            "response": "Tanggal lahir salah ketik.",
            "child": {"birth_date": "2020-05-12", "nik": "1471085205200001"},
            "applicant": {"phone": "+62 812 3456 7890"},
        },
        {
            "response": "Tanggal lahir salah ketik.",
            "child": {"birth_date": "2020-05-12", "nik": "1471085205200001"},
            "applicant": {"phone": "6281234567890"},
        },
    ),
]


@pytest.mark.parametrize(("key", "data", "cleaned"), VALID)
def test_task_form_valid(key: str, data: dict, cleaned: dict) -> None:
    assert load_form(key, data) == cleaned


INVALID = [
    ("submission", {}, {"confirm": ["Permohonan harus dikonfirmasi."]}),
    ("submission", {"confirm": False}, {"confirm": ["Permohonan harus dikonfirmasi."]}),
    ("submission", {"confirm": None}, {"confirm": ["Permohonan harus dikonfirmasi."]}),
    ("submission", {"confirm": "mungkin"}, {"confirm": ["Harus bernilai true atau false."]}),
    ("verification", {}, {"decision": ["Wajib diisi."]}),
    (
        "verification",
        {"decision": "ok"},
        {"decision": ["Pilihan tidak sah: harus salah satu dari complete, incomplete."]},
    ),
    (
        "verification",
        {"decision": "incomplete"},
        {"note": ["Catatan wajib diisi bila berkas dikembalikan."]},
    ),
    (
        "verification",
        {"decision": "incomplete", "note": "   "},
        {"note": ["Catatan wajib diisi bila berkas dikembalikan."]},
    ),
    (
        "verification",
        {"decision": "complete", "note": "x" * 2001},
        {"note": ["Terlalu panjang: maksimal 2000 karakter."]},
    ),
    (
        "verification",
        {"decision": "complete", "approved": True},
        {"approved": ["Kolom tidak dikenal."]},
    ),
    ("printing", {"decision": "problem"}, {"note": ["Catatan wajib diisi bila data bermasalah."]}),
    (
        "printing",
        {"decision": "printed"},
        {"decision": ["Pilihan tidak sah: harus salah satu dari issued, problem."]},
    ),
    (
        "printing",
        {"decision": "issued", "card_number": 7},
        {"card_number": ["Bukan teks yang sah."]},
    ),
    ("grouping", {"batch": ["a"]}, {"batch": ["Bukan teks yang sah."]}),
    ("grouping", {"kecamatan": "14.71.08"}, {"kecamatan": ["Kolom tidak dikenal."]}),
    (
        "handover",
        {},
        {
            "recipient_name": ["Wajib diisi."],
            "recipient_nik": ["Wajib diisi."],
            "recipient_relationship": ["Wajib diisi."],
            "card_number": ["Wajib diisi."],
        },
    ),
    ("handover", {**HANDOVER_FORM, "recipient_name": " "}, {"recipient_name": ["Tidak boleh kosong."]}),
    (
        "handover",
        {**HANDOVER_FORM, "recipient_nik": "1471086107920000"},
        {"recipient_nik": ["Nomor urut pada NIK tidak boleh 0000."]},
    ),
    (
        "handover",
        {**HANDOVER_FORM, "recipient_nik": "14710861079200"},
        {"recipient_nik": ["NIK harus terdiri dari 16 digit angka."]},
    ),
    (
        "handover",
        {**HANDOVER_FORM, "recipient_relationship": "nenek"},
        {"recipient_relationship": ["Pilihan tidak sah: harus salah satu dari ayah, ibu, anggota_keluarga, kuasa."]},
    ),
    ("correction", {}, {"response": ["Wajib diisi."]}),
    ("correction", {"response": ""}, {"response": ["Tidak boleh kosong."]}),
    (
        "correction",
        {"response": "ok", "child": {"nik": "1471085205200000", "name": "", "hobby": "x"}},
        {
            "child": {
                "nik": ["Nomor urut pada NIK tidak boleh 0000."],
                "name": ["Tidak boleh kosong."],
                "hobby": ["Kolom tidak dikenal."],
            }
        },
    ),
    (
        "correction",
        {"response": "ok", "applicant": {"email": "x@"}, "child": "Ani"},
        {"applicant": {"email": ["Alamat e-mail tidak sah."]}, "child": ["Harus berupa objek."]},
    ),
]


@pytest.mark.parametrize(("key", "data", "expected"), INVALID)
def test_task_form_invalid(key: str, data: Any, expected: dict) -> None:
    assert errors_of(load_form, key, data) == expected


@pytest.mark.parametrize("key", FORMS)
@pytest.mark.parametrize("data", [None, [], "confirm", 1])
def test_task_form_needs_an_object(key: str, data: Any) -> None:
    assert errors_of(load_form, key, data) == {"_schema": ["Data formulir harus berupa objek JSON."]}


def test_note_required_only_when_sent_back() -> None:
    assert load_form("verification", {"decision": "complete"}) == {"decision": "complete"}
    assert errors_of(load_form, "verification", {"decision": "incomplete", "note": ""}) == {
        "note": ["Catatan wajib diisi bila berkas dikembalikan."]
    }


@pytest.mark.parametrize("key", ["", "application", "Verification", None, 3])
def test_unknown_form(key: Any) -> None:
    with pytest.raises(UnknownForm) as caught:
        get_form(key)
    assert caught.value.message == f"Formulir tidak dikenal: {key}"
    with pytest.raises(UnknownForm):
        load_form(key, {})
    with pytest.raises(UnknownForm):
        form_json_schema(key)


def test_forms_registry() -> None:
    assert set(FORMS) == {
        "submission",
        "verification",
        "printing",
        "grouping",
        "handover",
        "arrival",
        "missing_card",
        "correction",
    }
    for key, form_class in FORMS.items():
        form = get_form(key)
        assert isinstance(form, form_class)
        assert isinstance(form, Form)
        assert form_class.title


# JSON Schema ----------------------------------------------------------------------------------


def walk(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


@pytest.mark.parametrize("key", [*FORMS, ApplicationForm])
def test_json_schema_shape(key: Any) -> None:
    schema = form_json_schema(key)
    form_class = FORMS[key] if isinstance(key, str) else key
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["type"] == "object"
    assert schema["title"] == form_class.title
    assert schema["additionalProperties"] is False
    required = sorted(name for name, field in form_class().fields.items() if field.required)
    assert sorted(schema.get("required", [])) == required
    assert set(schema["properties"]) == set(form_class().fields)
    assert "$ref" not in json.dumps(schema)
    for node in walk(schema):
        if node.get("type") == "object":
            assert node["additionalProperties"] is False
            for prop in node["properties"].values():
                assert prop["title"]  # every field carries its Indonesian label
        if node.get("type") == "string" and "enum" not in node:
            assert node.get("maxLength") or node.get("format") == "date"  # no unbounded text


def test_json_schema_details() -> None:
    verification = form_json_schema("verification")["properties"]
    assert verification["decision"]["enum"] == ["complete", "incomplete"]
    assert verification["decision"]["title"] == "Keputusan"
    assert verification["note"]["maxLength"] == 2000
    assert form_json_schema("submission")["properties"]["confirm"] == {
        "type": "boolean",
        "enum": [True],
        "title": "Saya menyatakan data yang saya isi benar",
    }
    assert form_json_schema("printing")["properties"]["decision"]["enum"] == ["issued", "problem"]

    app = form_json_schema(ApplicationForm)
    assert app["required"] == ["applicant", "child"]
    applicant, child = app["properties"]["applicant"], app["properties"]["child"]
    assert applicant["type"] == "object"
    assert applicant["properties"]["email"]["format"] == "email"
    assert applicant["properties"]["relationship"]["enum"] == ["ayah", "ibu", "wali"]
    assert child["properties"]["birth_date"]["format"] == "date"
    assert child["properties"]["sex"]["oneOf"] == [
        {"const": "L", "title": "Laki-laki"},
        {"const": "P", "title": "Perempuan"},
    ]
    assert child["properties"]["nik"]["pattern"] == "^[0-9]{16}$"
    assert len(child["properties"]["kecamatan"]["enum"]) == 15
    assert {"const": "14.71.08", "title": "Binawidya"} in child["properties"]["kecamatan"]["oneOf"]
    assert "nik" in child["required"]


def test_json_schema_correction_parts_are_optional() -> None:
    schema = form_json_schema("correction")
    assert schema["required"] == ["response"]
    for part in ("applicant", "child"):
        assert schema["properties"][part]["type"] == "object"
        assert "required" not in schema["properties"][part]


def test_json_schema_is_a_copy() -> None:
    form_json_schema("grouping")["title"] = "changed"
    assert form_json_schema("grouping")["title"] == "Pengelompokan KIA per kecamatan"

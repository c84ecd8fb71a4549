"""Owner-designed forms (issue 21.1): a form-js form deployed with the diagram, checked by the server.

Unit: the messages per field in Bahasa Indonesia for every kind of component, the JSON Schema, what the
server refuses to take (components it cannot check), the lint (an unknown form_key, an unusable form, a
gateway after the form against its choices) and the dry run (one run per value a gateway branches on).
HTTP (SQLite and PostgreSQL): a diagram deployed with its form; the task detail gives the form and its
JSON Schema; the API and the staff task page refuse bad data field by field and take good data; a
built-in form keeps its behaviour beside it.
"""

from __future__ import annotations

import copy
import io
import json
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

import forms
import handlers  # noqa: F401  registers the service handlers the lint and the dry run check against
from engine.workflow import owner_forms
from engine.workflow.clock import clock
from engine.workflow.definitions import build_definition
from engine.workflow.dryrun import dry_run
from engine.workflow.errors import DiagramRejected, InvalidData
from engine.workflow.version_files import VersionFiles

from .diagrams import KASI_FORM, KASI_FORM_ID, KASI_STEP, KASI_TITLE, with_kasi_decision, with_quality_check
from .helpers import bundled_files, inbox, token
from .scripted import finish, new_application
from .test_web_pages import sign_in

CHECK_FORM_ID = "periksa_mutu"
CHECK_FORM = {
    "id": CHECK_FORM_ID,
    "type": "default",
    "schemaVersion": 16,
    "components": [
        {"type": "text", "text": "## Pemeriksaan mutu cetakan"},
        {
            "key": "hasil",
            "label": "Hasil pemeriksaan",
            "type": "radio",
            "validate": {"required": True},
            "values": [{"label": "Baik", "value": "baik"}, {"label": "Rusak, cetak ulang", "value": "rusak"}],
        },
        {
            "key": "jumlah",
            "label": "Jumlah lembar dicetak",
            "type": "number",
            "decimalDigits": 0,
            "validate": {"min": 1, "max": 10},
        },
        {"key": "sesuai", "label": "Foto dan data sesuai", "type": "checkbox", "validate": {"required": True}},
        {
            "key": "cacat",
            "label": "Cacat yang ditemukan",
            "type": "checklist",
            "values": [{"label": "Tinta pudar", "value": "pudar"}, {"label": "Tergores", "value": "gores"}],
        },
        {"key": "tanggal", "label": "Tanggal periksa", "type": "datetime", "subtype": "date"},
        {"key": "jam", "timeLabel": "Jam periksa", "type": "datetime", "subtype": "time"},
        {
            "key": "nomor",
            "label": "Nomor blangko",
            "description": "empat angka pada blangko",
            "type": "textfield",
            "validate": {"pattern": "^[0-9]{4}$", "minLength": 4},
        },
        {"key": "surel", "label": "E-mail pemeriksa", "type": "textfield", "validate": {"validationType": "email"}},
        {"type": "separator"},
    ],
}
WIB = ZoneInfo("Asia/Jakarta")


def read(document: dict) -> owner_forms.OwnerForm:
    return owner_forms.parse(copy.deepcopy(document))


def refusal(form: owner_forms.OwnerForm, data: object) -> dict:
    with pytest.raises(InvalidData) as refused:
        form.validate(data)
    assert refused.value.message == "Data formulir tidak sah."
    return refused.value.fields


# Validation


def test_an_empty_completion_names_each_required_field_in_indonesian() -> None:
    kasi = read(KASI_FORM)
    assert refusal(kasi, {}) == {"keputusan": ["Wajib diisi."]}
    assert refusal(kasi, {"keputusan": "", "catatan": "   "}) == {"keputusan": ["Wajib diisi."]}
    check = read(CHECK_FORM)
    assert refusal(check, {}) == {"hasil": ["Wajib diisi."], "sesuai": ["Wajib dicentang."]}


def test_each_kind_of_field_is_checked_with_its_own_message() -> None:
    clock.freeze(datetime(2027, 9, 2, 9, 0, tzinfo=WIB))
    try:
        form = read(CHECK_FORM)
        bad = {
            "hasil": "sedang",
            "jumlah": 11,
            "sesuai": "ya",
            "cacat": ["pudar", "sobek"],
            "tanggal": "02-09-2027",
            "jam": "25:00",
            "nomor": "12a4",
            "surel": "bukan-alamat",
            "lain": 1,
        }
        assert refusal(form, bad) == {
            "lain": ["Kolom tidak dikenal."],
            "hasil": ["Pilihan tidak sah: harus salah satu dari baik, rusak."],
            "jumlah": ["Harus antara 1 dan 10."],
            "sesuai": ["Harus bernilai true atau false."],
            "cacat": ["Pilihan tidak sah: harus salah satu dari pudar, gores."],
            "tanggal": ["Format tanggal tidak sah (gunakan YYYY-MM-DD)."],
            "jam": ["Format waktu tidak sah (gunakan JJ:MM, mis. 08:30)."],
            "nomor": ["Format tidak sah."],
            "surel": ["Alamat e-mail tidak sah."],
        }
        more = {"hasil": 1, "jumlah": 2.5, "sesuai": False, "cacat": "pudar", "tanggal": "2027-02-30", "nomor": "12"}
        assert refusal(form, more) == {
            "hasil": ["Pilihan tidak sah: harus salah satu dari baik, rusak."],
            "jumlah": ["Harus bilangan bulat."],
            "sesuai": ["Wajib dicentang."],
            "cacat": ["Bukan daftar yang sah."],
            "tanggal": ["Tanggal tersebut tidak ada dalam kalender."],
            "nomor": ["Terlalu pendek: minimal 4 karakter."],
        }
        assert refusal(form, {"hasil": "baik", "sesuai": True, "jumlah": "banyak", "nomor": "1\x00234"}) == {
            "jumlah": ["Bukan angka yang sah."],
            "nomor": ["Mengandung karakter yang tidak diizinkan."],
        }
        assert refusal(form, [1, 2]) == {"_schema": ["Data formulir harus berupa objek JSON."]}
        kasi = read(KASI_FORM)
        assert refusal(kasi, {"keputusan": "setuju", "catatan": "x" * 201}) == {
            "catatan": ["Terlalu panjang: maksimal 200 karakter."]
        }
        assert refusal(kasi, {"keputusan": "setuju", "catatan": 5}) == {"catatan": ["Bukan teks yang sah."]}

        # what a completion keeps: every field, cleaned (a number typed in a page read as a number)
        good = {
            "hasil": "rusak",
            "jumlah": "3",
            "sesuai": True,
            "cacat": ["gores", "pudar", "gores"],
            "tanggal": "2027-09-02",
            "jam": "08:30",
            "nomor": " 1234 ",
        }
        assert form.validate(good) == {
            "hasil": "rusak",
            "jumlah": 3,
            "sesuai": True,
            "cacat": ["pudar", "gores"],
            "tanggal": "2027-09-02",
            "jam": "08:30",
            "nomor": "1234",
            "surel": "",
        }
        assert kasi.validate({"keputusan": "tolak"}) == {"keputusan": "tolak", "catatan": ""}
    finally:
        clock.reset()


def test_dates_a_form_forbids_in_the_past_and_number_bounds() -> None:
    clock.freeze(datetime(2027, 9, 2, 9, 0, tzinfo=WIB))
    try:
        document = {
            "id": "janji",
            "components": [
                {
                    "key": "hari",
                    "label": "Hari ambil",
                    "type": "datetime",
                    "subtype": "date",
                    "disallowPassedDates": True,
                },
                {"key": "saat", "label": "Saat", "type": "datetime", "subtype": "datetime"},
                {"key": "berat", "label": "Berat", "type": "number", "decimalDigits": 1, "validate": {"min": 0.5}},
                {"key": "umur", "label": "Umur", "type": "number", "validate": {"max": 17}},
            ],
        }
        form = read(document)
        assert refusal(form, {"hari": "2027-09-01", "saat": "2027-09-02 08:00", "berat": 0.25, "umur": 18}) == {
            "hari": ["Tanggal tidak boleh sebelum hari ini."],
            "saat": ["Format tanggal dan waktu tidak sah (gunakan YYYY-MM-DDTJJ:MM, mis. 2027-01-31T08:30)."],
            "berat": ["Paling banyak 1 angka di belakang koma."],
            "umur": ["Tidak boleh lebih dari 17."],
        }
        assert refusal(form, {"berat": 0.4})["berat"] == ["Tidak boleh kurang dari 0,5."]
        assert form.validate({"hari": "2027-09-02", "saat": "2027-09-02T08:00+07:00", "berat": "1,5"}) == {
            "hari": "2027-09-02",
            "saat": "2027-09-02T08:00+07:00",
            "berat": 1.5,
            "umur": None,
        }
    finally:
        clock.reset()


def test_phone_numbers_and_the_forms_own_pattern_message() -> None:
    document = {
        "id": "kontak",
        "components": [
            {"key": "hp", "label": "Nomor HP", "type": "textfield", "validate": {"validationType": "phone"}},
            {
                "key": "rt",
                "label": "RT",
                "type": "textfield",
                "validate": {"pattern": "^[0-9]{3}$", "patternErrorMessage": "RT ditulis tiga angka, mis. 004."},
            },
        ],
    }
    form = read(document)
    assert refusal(form, {"hp": "0812 3456", "rt": "4"}) == {
        "hp": ["Nomor telepon tidak sah: tulis dengan kode negara tanpa spasi, mis. +6281234567890."],
        "rt": ["RT ditulis tiga angka, mis. 004."],
    }
    assert form.validate({"hp": "+6281234567890", "rt": "004"}) == {"hp": "+6281234567890", "rt": "004"}


def test_limits_written_as_text_by_the_form_editor_count_as_numbers() -> None:
    # the form-js editor's properties panel stores the numbers typed in it as text
    document = {
        "id": "catatan",
        "components": [
            {"key": "catatan", "label": "Catatan", "type": "textarea", "validate": {"maxLength": "5"}},
            {"key": "jumlah", "label": "Jumlah", "type": "number", "validate": {"min": "1", "max": "2,5"}},
        ],
    }
    form = read(document)
    assert refusal(form, {"catatan": "panjang sekali", "jumlah": 3}) == {
        "catatan": ["Terlalu panjang: maksimal 5 karakter."],
        "jumlah": ["Harus antara 1 dan 2,5."],
    }
    assert form.json_schema()["properties"]["catatan"]["maxLength"] == 5
    feel = {"id": "f", "components": [{"key": "x", "type": "textfield", "validate": {"maxLength": "=batas"}}]}
    assert owner_forms.problems(feel) == ["komponen 'x': maxLength harus bilangan bulat 0 sampai 10000"]


# JSON Schema


def test_the_json_schema_of_a_form() -> None:
    assert read(KASI_FORM).json_schema() == {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Persetujuan Kasi Pelayanan",
        "type": "object",
        "properties": {
            "keputusan": {
                "title": "Keputusan Kasi",
                "type": "string",
                "enum": ["setuju", "tolak"],
                "oneOf": [{"const": "setuju", "title": "Setuju"}, {"const": "tolak", "title": "Tolak"}],
            },
            "catatan": {"title": "Catatan", "type": "string", "maxLength": 200},
        },
        "required": ["keputusan"],
        "additionalProperties": False,
    }
    schema = read(CHECK_FORM).json_schema()
    properties = schema["properties"]
    assert schema["required"] == ["hasil", "sesuai"] and schema["title"] == "Pemeriksaan mutu cetakan"
    assert properties["jumlah"] == {"title": "Jumlah lembar dicetak", "type": "integer", "minimum": 1, "maximum": 10}
    assert properties["sesuai"] == {"title": "Foto dan data sesuai", "type": "boolean", "const": True}
    assert properties["cacat"]["type"] == "array" and properties["cacat"]["items"]["enum"] == ["pudar", "gores"]
    assert properties["tanggal"] == {"title": "Tanggal periksa", "type": "string", "format": "date"}
    assert properties["jam"]["title"] == "Jam periksa" and re.fullmatch(properties["jam"]["pattern"], "08:30")
    assert properties["nomor"] == {
        "title": "Nomor blangko",
        "description": "empat angka pada blangko",
        "type": "string",
        "maxLength": 255,
        "minLength": 4,
        "pattern": "^[0-9]{4}$",
    }
    assert properties["surel"]["format"] == "email"
    # without a heading the step's name titles it
    untitled = {**KASI_FORM, "components": KASI_FORM["components"][1:]}
    assert read(untitled).json_schema("Persetujuan")["title"] == "Persetujuan"


# What the server cannot check


@pytest.mark.parametrize(
    ("component", "message"),
    [
        (
            {"key": "tag", "type": "taglist", "values": [{"value": "a"}]},
            "jenis komponen 'taglist' tidak dapat diperiksa",
        ),
        ({"key": "x", "type": "textfield", "label": "=nama"}, "ekspresi FEEL pada label tidak didukung"),
        (
            {"key": "x", "type": "textfield", "conditional": {"hide": "=true"}},
            "properti 'conditional' tidak dapat diperiksa",
        ),
        ({"key": "x", "type": "select", "valuesKey": "daftar"}, "pilihan dari valuesKey tidak didukung"),
        ({"key": "x", "type": "select"}, "pilihan (values) wajib diisi"),
        ({"key": "x", "type": "textfield", "validate": {"pattern": "([a-z]"}}, "pola (pattern) tidak sah"),
        ({"key": "x", "type": "textfield", "validate": {"pattern": "^(a+)+$"}}, "pengulangan bersarang"),
        ({"key": "a.b", "type": "textfield"}, "kunci (key) wajib berupa nama"),
        ({"key": "x", "type": "textfield", "validate": {"validationType": "iban"}}, "validationType 'iban'"),
        ({"key": "x", "type": "number", "validate": {"min": 5, "max": 1}}, "min lebih besar dari max"),
        ({"key": "x", "type": "number", "validate": {"pattern": "a"}}, "aturan validasi 'pattern' tidak dapat"),
        ({"key": "x", "type": "textfield", "readonly": True}, "kolom 'readonly' tidak didukung"),
        ({"key": "x", "type": "datetime", "subtype": "week"}, "subtype 'week' tidak dikenal"),
        ({"key": "x", "type": "textfield", "validate": {"maxLength": 20000}}, "maxLength harus bilangan bulat"),
        ({"key": "x", "type": "number", "defaultValue": "dua"}, "nilai bawaan (defaultValue) tidak sah"),
    ],
)
def test_components_the_server_cannot_check_are_refused(component: dict, message: str) -> None:
    document = {"id": "f", "components": [{"key": "ok", "type": "textfield"}, component]}
    problems = owner_forms.problems(document)
    assert any(message in p for p in problems), problems
    with pytest.raises(owner_forms.FormInvalid):
        owner_forms.parse(document)


def test_a_form_needs_components_with_distinct_keys() -> None:
    assert owner_forms.problems({"id": "f"}) == ["formulir harus punya daftar komponen (components)"]
    assert owner_forms.problems({"id": "f", "components": [{"type": "text", "text": "Halo"}]}) == [
        "formulir tidak punya satu pun kolom isian"
    ]
    twice = {"id": "f", "components": [{"key": "a", "type": "textfield"}, {"key": "a", "type": "number"}]}
    assert owner_forms.problems(twice) == ["kunci 'a' dipakai oleh lebih dari satu komponen"]
    assert owner_forms.problems(KASI_FORM) == [] and owner_forms.problems(CHECK_FORM) == []


# Lint and dry run


def files(*documents: dict) -> VersionFiles:
    return VersionFiles({d["id"]: copy.deepcopy(d) for d in documents}, bundled_files().decisions)


def problems_of(xml: bytes, sent: VersionFiles) -> list[str]:
    with pytest.raises(DiagramRejected) as refused:
        build_definition(xml, forms.form_choices(), sent)
    return [f"{p.element_id}: {p.message}" for p in refused.value.problems]


def test_the_lint_refuses_unknown_forms_and_unusable_ones_naming_the_step() -> None:
    xml = with_kasi_decision()
    (unknown,) = problems_of(xml, files())
    assert unknown.startswith(f"{KASI_STEP}: «{KASI_TITLE}» ({KASI_STEP}): formulir '{KASI_FORM_ID}' tidak dikenal")
    broken = {**KASI_FORM, "components": [*KASI_FORM["components"], {"key": "lampiran", "type": "filepicker"}]}
    (unusable,) = problems_of(xml, files(broken))
    assert unusable.startswith(f"{KASI_STEP}: «{KASI_TITLE}»") and "'filepicker' tidak dapat diperiksa" in unusable
    # a form no step uses is still checked, under its own id; a built-in form's id is not the owner's to take
    spare = {"id": "printing", "components": [{"key": "x", "type": "iframe"}]}
    found = problems_of(xml, files(KASI_FORM, spare))
    assert (
        "printing: formulir 'printing': id 'printing' sudah dipakai formulir bawaan; beri formulir ini id lain" in found
    )
    assert any(p.startswith("printing: formulir 'printing': komponen 'x': jenis komponen 'iframe'") for p in found)


def test_a_gateway_after_an_owner_form_is_checked_against_its_choices() -> None:
    (missing,) = problems_of(with_kasi_decision(rejected=False), files(KASI_FORM))
    assert "gw_kasi" in missing and "tidak punya cabang untuk keputusan 'tolak'" in missing
    typo = with_kasi_decision().replace(b"keputusan == 'tolak'", b"keputusan == 'tidak'")
    assert any(
        "keputusan 'tidak', nilai yang tidak ada di formulir 'persetujuan_kasi'" in p
        for p in problems_of(typo, files(KASI_FORM))
    )


def test_the_dry_run_takes_every_value_a_gateway_branches_on() -> None:
    definition = build_definition(with_kasi_decision(), forms.form_choices(), files(KASI_FORM))
    assert definition.owner_form_samples() == {
        KASI_FORM_ID: [{"keputusan": "setuju", "catatan": "Contoh"}, {"keputusan": "tolak", "catatan": "Contoh"}]
    }
    lanes = {"applicant", "admin", "operator", "dafdud", "uptd", "kasi"}
    run = dry_run(definition, forms.form_samples(), roles=lanes, start_data={"child_age": 3, "photo_required": False})
    assert run.problems == [], run.problems
    taken = {value for path in run.paths for step, value in path.decisions if step == KASI_STEP}
    assert taken == {"setuju", "tolak"}
    # a form that no gateway reads is completed once per path
    plain = build_definition(with_quality_check(form_key=CHECK_FORM_ID), forms.form_choices(), files(CHECK_FORM))
    (sample,) = plain.owner_form_samples()[CHECK_FORM_ID]
    assert (sample["hasil"], sample["sesuai"], sample["nomor"], sample["surel"]) == (
        "baik",
        True,
        "1111",
        "contoh@example.org",
    )
    assert read(CHECK_FORM).validate(sample) == sample


def test_a_required_text_no_sample_matches_gives_no_sample_unless_its_default_does() -> None:
    strict = {
        "id": "kode",
        "components": [{"key": "kode", "type": "textfield", "validate": {"required": True, "pattern": "^Q[0-9]{3}$"}}],
    }
    assert read(strict).samples() == []
    strict["components"][0]["defaultValue"] = "Q123"
    assert read(strict).samples() == [{"kode": "Q123"}]


# Over HTTP: deploy, the task detail, the API and the staff page


def field_errors(html: str) -> dict[str, list[str]]:
    """The messages a page shows under each of its fields (``data-field``), by field."""
    out = {}
    for chunk in html.split('data-field="')[1:]:
        name, body = chunk.split('"', 1)
        messages = re.findall(r'<p class="error">([^<]+)</p>', body)
        if messages:
            out[name] = messages
    return out


def deploy_with_form(client: FlaskClient, xml: bytes, *documents: dict):  # noqa: ANN201
    data = {
        "file": (io.BytesIO(xml), "kia.bpmn"),
        "form": [(io.BytesIO(json.dumps(d).encode()), f"{d['id']}.form.json") for d in documents],
        "note": "Pemeriksaan mutu dengan formulir pemilik proses",
    }
    return client.post(
        "/api/v1/processes", data=data, content_type="multipart/form-data", headers=token(client, "owner1")
    )


def test_an_owner_form_over_the_api_and_the_task_page(client: FlaskClient) -> None:
    xml = with_quality_check(form_key=CHECK_FORM_ID)
    refused = deploy_with_form(client, xml)  # the form not sent: refused, the bundled version keeps serving
    assert refused.status_code == 422
    assert "tidak dikenal" in refused.get_json()["error"]["fields"]["check_card"][0]
    deployed = deploy_with_form(client, xml, CHECK_FORM)
    assert deployed.status_code == 201, deployed.get_json()

    code = new_application(client)
    finish(client, "admin1", code, {"decision": "complete"})
    finish(client, "operator1", code, {"decision": "issued"})  # a built-in form, as before
    operator = token(client, "operator1")
    (task,) = [t for t in inbox(client, operator) if t["application_code"] == code]
    assert task["step"] == "check_card"
    detail = client.get(f"/api/v1/tasks/{task['id']}", headers=operator).get_json()
    assert (detail["form_type"], detail["form"]) == ("owner", CHECK_FORM)
    assert detail["form_schema"] == read(CHECK_FORM).json_schema("Periksa mutu cetakan KIA")

    empty = client.post(f"/api/v1/tasks/{task['id']}/complete", json={}, headers=operator)
    assert empty.status_code == 422
    assert empty.get_json()["error"] == {
        "code": "invalid_data",
        "message": "Data formulir tidak sah.",
        "fields": {"hasil": ["Wajib diisi."], "sesuai": ["Wajib dicentang."]},
    }

    # the staff page draws the form from its components, in its own words
    csrf = sign_in(client, "operator1")
    page = client.get(f"/petugas/tugas/{task['id']}")
    assert page.status_code == 200
    html = page.text
    assert "<h2>Pemeriksaan mutu cetakan</h2>" in html and "Hasil pemeriksaan" in html
    assert 'type="radio" name="hasil" value="rusak"' in html and "Rusak, cetak ulang" in html
    assert re.search(r'type="number" name="jumlah"[^>]*min="1"[^>]*max="10"[^>]*step="1"', html, re.S)
    assert 'type="checkbox" name="sesuai"' in html and 'name="cacat" value="gores"' in html
    assert 'type="date" name="tanggal"' in html and 'type="time" name="jam"' in html
    assert "empat angka pada blangko" in html and '<hr class="form-separator">' in html
    assert client.post(f"/petugas/tugas/{task['id']}/ambil", data={"csrf_token": csrf}).status_code == 302

    posted = {"csrf_token": csrf, "hasil": "baik", "jumlah": "12", "nomor": "12345"}
    again = client.post(f"/petugas/tugas/{task['id']}/selesaikan", data=posted)
    assert again.status_code == 422
    assert field_errors(again.text) == {
        "jumlah": ["Harus antara 1 dan 10."],
        "sesuai": ["Wajib dicentang."],
        "nomor": ["Format tidak sah."],
    }
    assert 'value="12345"' in again.text  # what the officer typed is kept

    good = {**posted, "jumlah": "2", "nomor": "1234", "sesuai": "on", "cacat": ["pudar"], "tanggal": "2027-09-02"}
    done = client.post(f"/petugas/tugas/{task['id']}/selesaikan", data=good)
    assert done.status_code == 302, done.text
    assert [t["step"] for t in inbox(client, token(client, "dafdud1")) if t["application_code"] == code] == [
        "group_cards"
    ]
    history = client.get(f"/api/v1/tasks/{task['id']}", headers=token(client, "operator1")).get_json()
    assert history["state"] == "completed"

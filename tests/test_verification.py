"""Verification against the population records (SIAK port), routing by domicile, and the submission
checks: API level, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import json
from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from api.extensions import db
from engine.kia.population import DEMO_FAMILY
from engine.kia.siak_import import upsert

from .helpers import PDF_BYTES, PNG_BYTES, applicant_headers, application_data, inbox, submit, token
from .pdfcheck import pages_text

WITH_PHOTO = {"kk": PDF_BYTES, "akta": PDF_BYTES, "photo": PNG_BYTES}  # a child of 5 or more
REASON = "Akta kelahiran dan KK asli sudah dicocokkan; nama di SIAK belum diperbarui."


def load_population(app: Flask, rows: list[dict[str, str]]) -> None:
    with app.app_context():
        upsert(db.session, [{**r, "birth_date": date.fromisoformat(r["birth_date"])} for r in rows])
        db.session.commit()


def moved_family() -> list[dict[str, str]]:
    """A family living in Tuahmadani (14.71.13) today whose child was registered in 2015 under code
    14.71.08, then Tampan (a code reused for Binawidya since 2020)."""
    common = {
        "kk_number": "1471131002210004",
        "address": "Jl. Delima No. 7, RT 002/RW 004",
        "kecamatan": "14.71.13",
        "birth_place": "Pekanbaru",
    }
    return [
        {
            **common,
            "nik": "1471081104850001",
            "name": "Fajar Nasution",
            "sex": "L",
            "birth_date": "1985-04-11",
            "family_role": "kepala_keluarga",
            "father_name": "",
            "mother_name": "",
        },
        {
            **common,
            "nik": "1471085208880001",
            "name": "Dewi Lestari",
            "sex": "P",
            "birth_date": "1988-08-12",
            "family_role": "istri",
            "father_name": "",
            "mother_name": "",
        },
        {
            **common,
            "nik": "1471080307150002",
            "name": "Rizky Nasution",
            "sex": "L",
            "birth_date": "2015-07-03",
            "family_role": "anak",
            "father_name": "Fajar Nasution",
            "mother_name": "Dewi Lestari",
        },
    ]


def moved_child(**changes: str) -> dict:
    data = application_data(
        **{
            "name": "Rizky Nasution",
            "nik": "1471080307150002",
            "birth_date": "2015-07-03",
            "sex": "L",
            "kk_number": "1471131002210004",
            "address": "Jl. Delima No. 7, RT 002/RW 004",
            "kecamatan": "14.71.08",
            **changes,
        }
    )
    data["applicant"]["name"] = "Dewi Lestari"
    return data


def verification_task(client: FlaskClient, code: str, headers: dict) -> dict:
    task = next(t for t in inbox(client, headers, lane="admin") if t["application_code"] == code)
    return client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()


def results(view: dict) -> dict[str, str]:
    return {f["field"]: f["result"] for f in view["fields"]}


def test_matching_record_is_shown_side_by_side_and_completes_without_override(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    created = submit(client).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    view = task["verification"]
    assert view["status"] == "match" and view["person_found"] and view["family_found"]
    assert not view["override_required"]
    assert set(results(view).values()) == {"match"}
    name = next(f for f in view["fields"] if f["field"] == "name")
    assert name == {
        "field": "name",
        "label": "Nama anak",
        "entered": "Aisyah Putri Ramadhani",
        "record": "Aisyah Putri Ramadhani",
        "result": "match",
    }
    assert [m["family_role"] for m in view["family"]] == ["kepala_keluarga", "istri", "anak"]
    assert [d["kind"] for d in view["documents"]] == ["kk", "akta"]
    assert client.get(view["documents"][0]["url"], headers=admin).data == PDF_BYTES
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=admin)
    assert done.status_code == 200, done.get_json()
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()
    assert detail["routing"] == {"kecamatan": "14.71.08", "source": "siak"}
    assert detail["verification"]["status"] == "match"


def test_mismatch_needs_an_override_reason_recorded_on_the_control_card(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    created = submit(client, application_data(name="Aisyah Putri", birth_place="Dumai")).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    view = task["verification"]
    assert view["status"] == "mismatch" and view["override_required"]
    assert {k for k, v in results(view).items() if v != "match"} == {"name", "birth_place"}
    assert next(f for f in view["fields"] if f["field"] == "birth_place")["record"] == "Pekanbaru"

    url = f"/api/v1/tasks/{task['id']}/complete"
    refused = client.post(url, json={"decision": "complete"}, headers=admin)
    assert refused.status_code == 422
    message = refused.get_json()["error"]["fields"]["override_reason"][0]
    assert "tidak sesuai" in message and "Nama anak" in message and "Tempat lahir" in message
    assert (
        client.post(
            url, json={"decision": "incomplete", "note": "Mohon perbaiki nama anak."}, headers=admin
        ).status_code
        == 200
    )  # sending it back needs no override

    # the applicant corrects only the birth place; the name still differs: override it
    applicant = applicant_headers(client, created)
    correction = client.get(f"/api/v1/status/{created['code']}", headers=applicant).get_json()["tasks"][0]
    fixed = client.post(
        f"/api/v1/tasks/{correction['id']}/complete",
        headers=applicant,
        json={"response": "Tempat lahir diperbaiki.", "child": {"birth_place": "Pekanbaru"}},
    )
    assert fixed.status_code == 200, fixed.get_json()
    task = verification_task(client, created["code"], admin)
    assert {k for k, v in results(task["verification"]).items() if v != "match"} == {"name"}
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "complete", "override_reason": REASON}
    )
    assert done.status_code == 200, done.get_json()

    card = client.get(f"/api/v1/applications/{created['code']}/control-card", headers=admin).get_json()
    overridden = [item for item in card["items"] if item["override"]]
    assert len(overridden) == 1 and overridden[0]["task_id"] == task["id"]
    assert overridden[0]["override"]["reason"] == REASON
    assert overridden[0]["override"]["fields"] == ["name"] and overridden[0]["override"]["by"] == "admin1"
    assert all(item["override"] is None for item in card["items"] if item["task_id"] != task["id"])
    pdf = client.get(f"/api/v1/applications/{created['code']}/control-card.pdf", headers=admin)
    text = " ".join(" ".join(pages_text(pdf.data)).split())
    assert overridden[0]["override"]["field_labels"] == ["Nama anak"]
    assert "Diterima meski tidak sesuai data kependudukan (Nama anak)" in text and "SIAK belum diperbarui" in text


def test_missing_record_needs_an_override(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    data = application_data(nik="1471085005230009", kk_number="1471081506230009")  # nobody in the records
    created = submit(client, data).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    view = task["verification"]
    assert view["status"] == "missing" and not view["person_found"] and not view["family_found"]
    assert set(results(view).values()) == {"missing"}
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert client.post(url, json={"decision": "complete", "override_reason": "  "}, headers=admin).status_code == 422
    assert client.post(url, json={"decision": "complete", "override_reason": REASON}, headers=admin).status_code == 200
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()
    assert detail["routing"] == {"kecamatan": "14.71.08", "source": "applicant"}
    assert [e["detail"]["status"] for e in detail["history"] if e["kind"] == "verification_override"] == ["missing"]


def test_without_loaded_records_the_officer_decides_alone(client: FlaskClient) -> None:
    created = submit(client).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    assert task["verification"]["status"] == "unavailable"
    assert "belum dimuat" in task["verification"]["unavailable"]
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=admin).status_code
        == 200
    )


def test_routing_follows_the_kk_address_not_the_reused_nik_code(client: FlaskClient, app: Flask) -> None:
    load_population(app, [*DEMO_FAMILY, *moved_family()])
    created = submit(client, moved_child(), WITH_PHOTO).get_json()  # entered Binawidya (14.71.08), as the NIK's digits
    admin, binawidya = token(client, "admin1"), token(client, "uptd_binawidya")
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()
    assert detail["kecamatan"] == "14.71.13"
    assert detail["routing"] == {"kecamatan": "14.71.13", "source": "siak"}
    kecamatan = next(f for f in detail["verification"]["fields"] if f["field"] == "kecamatan")
    assert (kecamatan["entered"], kecamatan["record"], kecamatan["result"]) == ("14.71.08", "14.71.13", "mismatch")
    assert client.get(f"/api/v1/status/{created['code']}").get_json()["pickup"]["kecamatan"] == "Tuahmadani"
    # the Ka. UPTD of Binawidya sees neither the application nor its documents
    document_url = detail["documents"][0]["url"]
    assert client.get(f"/api/v1/applications/{created['code']}", headers=binawidya).status_code == 403
    assert client.get(document_url, headers=binawidya).status_code == 403

    # a family not in the records is routed by the applicant's entry, whatever the NIK's code says
    unknown = application_data(
        nik="1471060505150001", birth_date="2015-05-05", sex="L", kk_number="1471151501200003", kecamatan="14.71.15"
    )
    other = submit(client, unknown, WITH_PHOTO).get_json()
    other_detail = client.get(f"/api/v1/applications/{other['code']}", headers=admin).get_json()
    assert other_detail["routing"] == {"kecamatan": "14.71.15", "source": "applicant"}


def test_correction_of_the_kk_number_reroutes(client: FlaskClient, app: Flask) -> None:
    load_population(app, [*DEMO_FAMILY, *moved_family()])
    wrong_kk = moved_child(kk_number="1471081506230002")  # another family's KK, in Binawidya
    created = submit(client, wrong_kk, WITH_PHOTO).get_json()
    admin = token(client, "admin1")
    assert client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()["kecamatan"] == "14.71.08"
    task = verification_task(client, created["code"], admin)
    client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        json={"decision": "incomplete", "note": "Nomor KK salah."},
        headers=admin,
    )
    applicant = applicant_headers(client, created)
    correction = client.get(f"/api/v1/status/{created['code']}", headers=applicant).get_json()["tasks"][0]
    fixed = client.post(
        f"/api/v1/tasks/{correction['id']}/complete",
        headers=applicant,
        json={"response": "KK diperbaiki.", "child": {"kk_number": "1471131002210004"}},
    )
    assert fixed.status_code == 200, fixed.get_json()
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()
    assert detail["routing"] == {"kecamatan": "14.71.13", "source": "siak"} and detail["kecamatan"] == "14.71.13"


# --- the submission's checks (acceptance) -------------------------------------------------------------------


def _post(client: FlaskClient, data: dict, files: dict[str, tuple[bytes, str]]):  # noqa: ANN202
    payload = {"data": json.dumps(data), **{k: (io.BytesIO(v), name) for k, (v, name) in files.items()}}
    return client.post("/api/v1/applications", data=payload, content_type="multipart/form-data")


def test_bad_nik_gets_422_naming_the_field(client: FlaskClient) -> None:
    for nik, message in [
        ("1471085013230001", "Tanggal lahir pada NIK tidak sah."),
        ("147108500523000", "NIK harus terdiri dari 16 digit angka."),
        ("1471085005230000", "Nomor urut pada NIK tidak boleh 0000."),
    ]:
        response = submit(client, application_data(nik=nik))
        assert response.status_code == 422
        assert response.get_json()["error"]["fields"] == {"child": {"nik": [message]}}


def test_spoofed_and_oversized_files_are_refused(client: FlaskClient) -> None:
    executable = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200  # a Windows program named .pdf
    spoofed = _post(client, application_data(), {"kk": (executable, "kk.pdf"), "akta": (PDF_BYTES, "akta.pdf")})
    assert spoofed.status_code == 415
    assert spoofed.get_json()["error"]["message"] == "Berkas 'kk' harus berupa PDF, JPEG atau PNG."
    big = PDF_BYTES + b"0" * (6 * 1024 * 1024)
    too_large = _post(client, application_data(), {"kk": (PDF_BYTES, "kk.pdf"), "akta": (big, "akta.pdf")})
    assert too_large.status_code == 413
    assert too_large.get_json()["error"]["message"] == "Berkas 'akta' lebih dari 5 MB."


def test_documents_only_for_the_uptd_of_the_kecamatan(client: FlaskClient) -> None:
    created = submit(client, files={"kk": PDF_BYTES, "akta": PNG_BYTES}).get_json()
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=token(client, "admin1")).get_json()
    url = detail["documents"][0]["url"]
    assert client.get(url, headers=token(client, "uptd_sukajadi")).status_code == 403
    assert client.get(url, headers=token(client, "uptd_binawidya")).status_code == 200
    assert client.get(url, headers=token(client, "operator1")).data == PDF_BYTES
    assert client.get(url).status_code == 401


def test_staff_task_page_marks_mismatches_and_asks_for_the_reason(client: FlaskClient, app: Flask) -> None:
    from .test_web_pages import sign_in, task_id_on_page

    load_population(app, list(DEMO_FAMILY))
    code = submit(client, application_data(name="Aisyah Putri")).get_json()["code"]
    csrf = sign_in(client, "admin1")
    task_id = task_id_on_page(client.get("/petugas/tugas").text, code)
    page = client.get(f"/petugas/tugas/{task_id}").text
    assert "dibandingkan dengan data kependudukan (SIAK)" in page and 'data-status="mismatch"' in page
    assert '<tr class="result-mismatch" data-field="child.name">' in page  # marked on the entry itself
    assert '<tr class="result-match" data-field="child.birth_date">' in page
    assert "tidak sesuai" in page and "Data kependudukan: <strong>Aisyah Putri Ramadhani</strong>" in page
    refused = client.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "complete"})
    assert refused.status_code == 422 and "isi alasan bila berkas tetap diterima" in refused.text
    done = client.post(
        f"/petugas/tugas/{task_id}/selesaikan",
        data={"csrf_token": csrf, "decision": "complete", "override_reason": REASON},
    )
    assert done.status_code == 302

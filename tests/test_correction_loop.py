"""The correction loop (issue 19, point 3), API level on SQLite and PostgreSQL: the officer questions
fields when sending an application back, the applicant's correction opens pre-filled with what they
entered (never the population records), and their answer with every changed field and new document is
recorded and shown to the verifier, on the control card and in the history."""

from __future__ import annotations

import io
import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

import forms
from engine.kia import corrections
from engine.kia.population import DEMO_FAMILY
from handlers.whatsapp.fake_graph import FakeGraph

from .helpers import PNG_BYTES, applicant_headers, application_data, submit, token
from .pdfcheck import pages_text
from .test_verification import load_population, verification_task
from .test_web_pages import csrf_of, sign_in, task_id_on_page
from .whatsapp_helpers import Phone, configure

NOTE = "Nama anak dan alamat tidak sesuai KK; mohon perbaiki dan unggah ulang KK."


def send_back(client: FlaskClient, task: dict, admin: dict, **extra: object):  # noqa: ANN201
    body = {"decision": "incomplete", "note": NOTE, **extra}
    return client.post(f"/api/v1/tasks/{task['id']}/complete", json=body, headers=admin)


def correction_task(client: FlaskClient, created: dict, headers: dict) -> dict:
    [task] = client.get(f"/api/v1/status/{created['code']}", headers=headers).get_json()["tasks"]
    return client.get(f"/api/v1/tasks/{task['id']}", headers=headers).get_json()


def test_questioned_fields_are_checked_against_the_entry_in_indonesian(client: FlaskClient) -> None:
    created = submit(client).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    refused = send_back(client, task, admin, questioned_fields=["child.name", "child.mother_name", "nik"])
    assert refused.status_code == 422
    messages = refused.get_json()["error"]["fields"]["questioned_fields"]
    assert messages == {"1": ["Bukan data permohonan yang dikenal."], "2": ["Bukan data permohonan yang dikenal."]}
    not_a_list = send_back(client, task, admin, questioned_fields="child.name")
    assert not_a_list.get_json()["error"]["fields"]["questioned_fields"] == ["Bukan daftar yang sah."]
    schema = task["form"]["properties"]["questioned_fields"]
    titles = {o["const"]: o["title"] for o in schema["items"]["oneOf"]}
    assert titles["child.address"] == "Alamat sesuai KK" and titles["documents.kk"] == "Dokumen Kartu Keluarga"

    # kept in the entry's order, once each, on the verification's "completed" event
    done = send_back(client, task, admin, questioned_fields=["child.address", "child.name", "child.address"])
    assert done.status_code == 200, done.get_json()
    history = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()["history"]
    [sent] = [e for e in history if e["kind"] == "completed" and e["step"] == task["step"]]
    assert sent["detail"]["questioned_fields"] == ["child.name", "child.address"]


def test_questioned_fields_go_only_with_a_file_sent_back() -> None:
    loaded = forms.load_form("verification", {"decision": "complete", "questioned_fields": ["child.name"]})
    assert "questioned_fields" not in loaded
    assert forms.load_form("verification", {"decision": "incomplete", "note": "x"}) == {
        "decision": "incomplete",
        "note": "x",
    }


def test_the_field_labels_are_the_applicants_form_titles() -> None:
    """``corrections.FIELD_LABELS`` names the fields as the applicant's form does (one wording)."""
    schema = forms.form_json_schema(forms.ApplicationForm)["properties"]
    titles = {
        f"{section}.{name}": spec["title"]
        for section in ("applicant", "child")
        for name, spec in schema[section]["properties"].items()
    }
    entry = {k: v for k, v in corrections.FIELD_LABELS.items() if not k.startswith("documents.")}
    assert entry == titles


def test_correction_opens_prefilled_with_the_entry_and_the_request_only(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))  # the records disagree: nothing of them may reach the applicant
    data = application_data(name="Aisyah Putri", address="Jl. Garuda Sakti 3")
    created = submit(client, data).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    assert task["correction_answer"] is None  # the first round: nothing answered yet
    assert task["verification"]["status"] == "mismatch"
    assert send_back(client, task, admin, questioned_fields=["child.name", "documents.kk"]).status_code == 200

    applicant = applicant_headers(client, created)
    detail = correction_task(client, created, applicant)
    prefill = detail["correction"]
    assert prefill["values"] == {"applicant": data["applicant"] | {"phone": "6281234567890"}, "child": data["child"]}
    request = prefill["request"]
    assert request["note"] == NOTE and request["by"] == "admin1"
    assert request["questioned_fields"] == ["child.name", "documents.kk"]
    assert request["questioned_labels"] == ["Nama anak", "Dokumen Kartu Keluarga"]
    assert "verification" not in detail and "correction_answer" not in detail
    text = json.dumps(detail)
    record_name = next(p["name"] for p in DEMO_FAMILY if p["nik"] == data["child"]["nik"])
    assert record_name not in text and "Aisyah Putri Ramadhani" not in text  # the record's name, not the entry
    assert "kepala_keluarga" not in text


def test_the_answer_and_every_changed_field_reach_the_verifier(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    data = application_data(name="Aisyah Putri", birth_place="Dumai")
    created = submit(client, data).get_json()
    admin = token(client, "admin1")
    task = verification_task(client, created["code"], admin)
    assert send_back(client, task, admin, questioned_fields=["child.name", "child.birth_place"]).status_code == 200

    applicant = applicant_headers(client, created)
    correction = correction_task(client, created, applicant)
    answer = "Nama dan tempat lahir sudah saya sesuaikan dengan akta."
    fixed = client.post(
        f"/api/v1/tasks/{correction['id']}/complete",
        headers=applicant,
        json={"response": answer, "child": {"name": "Aisyah Putri Ramadhani", "birth_place": "Pekanbaru"}},
    )
    assert fixed.status_code == 200, fixed.get_json()

    task = verification_task(client, created["code"], admin)
    seen = task["correction_answer"]
    assert seen["response"] == answer and seen["by"] == "pemohon" and seen["task_id"] == correction["id"]
    assert [(c["field"], c["old"], c["new"], c["questioned"]) for c in seen["changes"]] == [
        ("child.name", "Aisyah Putri", "Aisyah Putri Ramadhani", True),
        ("child.birth_place", "Dumai", "Pekanbaru", True),
    ]
    assert [c["label"] for c in seen["changes"]] == ["Nama anak", "Tempat lahir"]
    assert seen["documents"] == []  # none sent again (the web page's uploads: test_the_status_page_...)
    assert seen["questioned_labels"] == ["Nama anak", "Tempat lahir"]
    assert task["verification"]["status"] == "match"  # the corrected entry is compared again
    [line] = [e["summary"] for e in task["history"] if e["kind"] == "correction_submitted"]
    assert line.startswith(f"Tanggapan: \u201c{answer}\u201d.") and "Data diubah: Nama anak, Tempat lahir." in line

    card = client.get(f"/api/v1/applications/{created['code']}/control-card", headers=admin).get_json()
    [back] = [i for i in card["items"] if i["sent_back"]]
    assert back["step"] == task["step"] and back["sent_back"]["note"] == NOTE
    assert back["sent_back"]["questioned_labels"] == ["Nama anak", "Tempat lahir"]
    [answered] = [i for i in card["items"] if i["correction"]]
    assert answered["task_id"] == correction["id"] and answered["lane"] == "applicant"
    assert answered["correction"]["changes"][1]["old_text"] == "Dumai"
    assert all(i["correction"] is None for i in card["items"] if i["task_id"] != correction["id"])
    pdf = client.get(f"/api/v1/applications/{created['code']}/control-card.pdf", headers=admin)
    text = " ".join(" ".join(pages_text(pdf.data)).split())
    assert "Tanggapan pemohon: \u201cNama dan tempat lahir sudah saya sesuaikan dengan akta.\u201d" in text
    assert "Tempat lahir: Dumai \u2192 Pekanbaru" in text and "Dikembalikan: Nama anak, Tempat lahir" in text

    # a second round: the verifier sees only the newest answer; once verified, nothing is pending
    assert send_back(client, task, admin).status_code == 200
    correction = correction_task(client, created, applicant)
    assert correction["correction"]["request"]["questioned_fields"] == []
    assert correction["correction"]["values"]["child"]["name"] == "Aisyah Putri Ramadhani"
    again = client.post(
        f"/api/v1/tasks/{correction['id']}/complete", headers=applicant, json={"response": "Data sudah benar."}
    )
    assert again.status_code == 200
    task = verification_task(client, created["code"], admin)
    assert task["correction_answer"]["response"] == "Data sudah benar." and task["correction_answer"]["changes"] == []
    history = client.get(f"/api/v1/applications/{created['code']}", headers=admin).get_json()["history"]
    assert [e["summary"] for e in history if e["kind"] == "correction_submitted"][-1] == (
        "Tanggapan: \u201cData sudah benar.\u201d. Tidak ada data yang diubah."
    )


def test_the_verification_refuses_a_missing_reason_only_when_something_disagrees(
    client: FlaskClient, app: Flask
) -> None:
    load_population(app, list(DEMO_FAMILY))
    admin = token(client, "admin1")
    matching = submit(client).get_json()
    task = verification_task(client, matching["code"], admin)
    assert not task["verification"]["override_required"]
    url = f"/api/v1/tasks/{task['id']}/complete"
    assert client.post(url, json={"decision": "complete"}, headers=admin).status_code == 200
    differing = submit(client, application_data(nik="1471085005230002", name="Aisyah Putri")).get_json()
    task = verification_task(client, differing["code"], admin)
    assert task["verification"]["override_required"]
    refused = client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=admin)
    assert refused.status_code == 422 and "override_reason" in refused.get_json()["error"]["fields"]


@pytest.fixture
def phone(client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> Phone:
    configure(app, fake, monkeypatch)
    return Phone(client, app, fake)


def test_whatsapp_perbaikan_names_the_questioned_fields_and_records_the_answer(
    phone: Phone, client: FlaskClient, app: Flask
) -> None:
    code = submit(client).get_json()["code"]  # the applicant's phone is this WhatsApp number
    admin = token(client, "admin1")
    task = verification_task(client, code, admin)
    assert send_back(client, task, admin, questioned_fields=["child.address", "documents.kk"]).status_code == 200
    asked = phone.say("perbaikan")[-1]
    assert NOTE in asked and "Data yang perlu diperbaiki: Alamat sesuai KK, Dokumen Kartu Keluarga." in asked
    assert "terkirim" in phone.say("Alamat sudah benar sesuai KK terbaru.")[-1]
    seen = verification_task(client, code, admin)["correction_answer"]
    assert seen["response"] == "Alamat sudah benar sesuai KK terbaru." and seen["changes"] == []
    assert seen["questioned_labels"] == ["Alamat sesuai KK", "Dokumen Kartu Keluarga"]


def test_the_status_page_opens_prefilled_and_the_staff_page_shows_the_answer(client: FlaskClient, app: Flask) -> None:
    load_population(app, list(DEMO_FAMILY))
    data = application_data(address="Jl. Garuda Sakti 3")  # the records say "Jl. Garuda Sakti Km 3 No. 12"
    created = submit(client, data).get_json()
    code = created["code"]
    staff = app.test_client()
    csrf = sign_in(staff, "admin1")
    task_id = task_id_on_page(staff.get("/petugas/tugas").text, code)
    page = staff.get(f"/petugas/tugas/{task_id}").text
    assert 'class="verify-layout"' in page and 'id="decision-form"' in page
    assert re.search(r'<tr class="[^"]*result-mismatch[^"]*" data-field="child\.address"', page)
    assert 'name="override_reason"' in page  # something disagrees: the reason is asked
    assert re.search(r'<iframe[^>]+src="/api/v1/applications/' + code + r'/documents/\d+"', page)  # the KK (PDF)
    assert re.search(r'<img[^>]+src="/api/v1/applications/' + code + r'/documents/\d+"', page)  # the akta (PNG)
    assert 'value="child.address"' in page and "Alamat sesuai KK" in page  # the checklist
    staff.post(f"/petugas/tugas/{task_id}/ambil", data={"csrf_token": csrf})
    refused = staff.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "complete"})
    assert refused.status_code == 422 and "isi alasan bila berkas tetap diterima" in refused.text
    bad = staff.post(
        f"/petugas/tugas/{task_id}/selesaikan",
        data={"csrf_token": csrf, "decision": "incomplete", "note": NOTE, "questioned_fields": ["child.address", "x"]},
    )
    assert bad.status_code == 422 and "Bukan data permohonan yang dikenal." in bad.text
    assert re.search(r'value="child.address" checked', bad.text)  # the officer's choice kept
    sent = staff.post(
        f"/petugas/tugas/{task_id}/selesaikan",
        data={"csrf_token": csrf, "decision": "incomplete", "note": NOTE, "questioned_fields": ["child.address"]},
    )
    assert sent.status_code == 302

    public = app.test_client()
    status = public.get(f"/status/{code}")
    public.post(f"/status/{code}/pin", data={"csrf_token": csrf_of(status.text), "pin": created["pin"]})
    form = public.get(f"/status/{code}").text
    assert 'id="correction-request"' in form and NOTE in form and "Alamat sesuai KK" in form
    assert '<textarea name="child.address" rows="3" maxlength="255">Jl. Garuda Sakti 3</textarea>' in form  # as entered
    assert 'name="child.name" value="Aisyah Putri Ramadhani"' in form
    assert re.search(r'class="field questioned" data-field="child\.address"', form)
    assert "Jl. Garuda Sakti Km 3 No. 12" not in form and "Hendra Saputra" not in form  # no population record
    action = re.search(rf'action="(/status/{code}/tugas/[0-9a-f-]{{36}})"', form).group(1)
    fields = dict(re.findall(r'<input type="(?:text|date|email)" name="([a-z_.]+)" value="([^"]*)"', form))
    fields.update({"child.sex": "P", "child.kecamatan": "14.71.08", "applicant.relationship": "ibu"})
    fields["child.address"] = "Jl. Garuda Sakti Km 3 No. 12"
    answered = public.post(
        action,
        content_type="multipart/form-data",
        data={
            "csrf_token": csrf_of(form),
            "response": "Alamat saya lengkapi sesuai KK.",
            **fields,
            "kk": (io.BytesIO(PNG_BYTES), "kk.png"),
        },
    )
    assert answered.status_code == 302, answered.text

    task_id = task_id_on_page(staff.get("/petugas/tugas").text, code)
    page = staff.get(f"/petugas/tugas/{task_id}").text
    assert 'id="correction-answer"' in page and "Alamat saya lengkapi sesuai KK." in page
    answer = page[page.index('id="correction-answer"') : page.index("</section>", page.index('id="correction-answer"'))]
    assert "Jl. Garuda Sakti 3" in answer and "Jl. Garuda Sakti Km 3 No. 12" in answer and "Kartu Keluarga" in answer
    assert answer.count("<tr data-change=") == 1  # only the address changed (the other values came back as they were)
    assert 'name="override_reason"' not in page  # all agrees now: no reason asked
    assert re.search(r'data-field="child\.address"[^>]*>.*?diubah pemohon', page, re.S)
    card = staff.get(f"/petugas/permohonan/{code}").text
    assert "Tanggapan pemohon" in card and "Alamat saya lengkapi sesuai KK." in card

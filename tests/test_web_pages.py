"""The web pages through the Flask test client, on SQLite and PostgreSQL: sign-in, CSRF, the inbox and
task forms, Dafdud's bulk grouping, the application page, the status page with PIN and correction, the
lint endpoint, the version list and the supervisor's dashboard."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from api.extensions import db
from engine.models import Application, Document, Event, ProcessVersion
from engine.workflow import timers
from engine.workflow.clock import clock

from .helpers import PASSWORD, PDF_BYTES, ROOT, inbox, submit, token

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_bytes()
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF.search(html).group(1)


def sign_in(client: FlaskClient, username: str) -> str:
    """Sign in through the page; returns the session's CSRF token."""
    client.get("/masuk")
    page = client.get("/masuk")
    response = client.post(
        "/masuk", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert response.status_code == 302, response.text
    return csrf_of(client.get("/masuk").text)


def new_application(client: FlaskClient) -> dict:
    response = submit(client)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def task_id_on_page(html: str, code: str) -> str:
    return re.search(rf'data-task="([0-9a-f-]{{36}})" data-code="{code}"', html).group(1)


def advance_to(client: FlaskClient, code: str, lane: str, user: str, data: dict) -> None:
    headers = token(client, user)
    task = next(t for t in inbox(client, headers) if t["application_code"] == code and t["lane"] == lane)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
    assert response.status_code == 200, response.get_json()


def test_pages_need_sign_in_and_wrong_password_is_refused(client: FlaskClient) -> None:
    response = client.get("/petugas/tugas")
    assert response.status_code == 302 and response.headers["Location"].startswith("/masuk?next=/petugas/tugas")
    page = client.get("/masuk")
    refused = client.post(
        "/masuk", data={"username": "admin1", "password": "salah-sekali", "csrf_token": csrf_of(page.text)}
    )
    assert refused.status_code == 401 and "Nama pengguna atau kata sandi salah" in refused.text
    followed = client.post(
        "/masuk?next=//evil.example/x",
        data={"username": "admin1", "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert followed.status_code == 302 and followed.headers["Location"] == "/"  # no open redirect
    assert client.get("/petugas/tugas").status_code == 200


def test_session_cookie_csrf_and_security_headers(client: FlaskClient) -> None:
    page = client.get("/masuk")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY" and page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Cache-Control"] == "no-store"
    no_token = client.post("/masuk", data={"username": "admin1", "password": PASSWORD})
    assert no_token.status_code == 400 and "Formulir kedaluwarsa" in no_token.text
    csrf = sign_in(client, "admin1")
    cookie = client.get_cookie("kia_session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"

    code = new_application(client)["code"]
    task_id = task_id_on_page(client.get("/petugas/tugas").text, code)
    # the API accepts the session, but an unsafe request must carry the session's CSRF token
    refused = client.post(f"/api/v1/tasks/{task_id}/claim")
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "csrf_failed"
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRF-Token": "x" * 43}).status_code == 403
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] == "admin1"
    # a page form without the token changes nothing
    assert client.post(f"/petugas/tugas/{task_id}/lepas").status_code == 400
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["claimed_by"] == "admin1"
    # signing out ends the session for pages and API alike
    client.post("/keluar", data={"csrf_token": csrf})
    assert client.get(f"/api/v1/tasks/{task_id}").status_code == 401


def test_inbox_claim_complete_with_form_errors(client: FlaskClient) -> None:
    code = new_application(client)["code"]
    csrf = sign_in(client, "admin1")
    html = client.get("/petugas/tugas").text
    assert code in html and "Verifikasi dan validasi" in html and "data-due=" in html
    task_id = task_id_on_page(html, code)

    assert client.post(f"/petugas/tugas/{task_id}/ambil", data={"csrf_token": csrf}).status_code == 302
    page = client.get(f"/petugas/tugas/{task_id}")
    assert "Anda mengerjakan tugas ini" in page.text and "Aisyah Putri Ramadhani" in page.text
    assert 'name="decision" value="incomplete"' in page.text  # the form drawn from the JSON Schema

    invalid = client.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "incomplete"})
    assert invalid.status_code == 422 and "Catatan wajib diisi bila berkas dikembalikan." in invalid.text
    unknown = client.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "mungkin"})
    assert unknown.status_code == 422
    done = client.post(
        f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "incomplete", "note": "KK buram"}
    )
    assert done.status_code == 302
    assert client.get(f"/api/v1/status/{code}").get_json()["status"] == "perlu_perbaikan"
    again = client.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, "decision": "complete"})
    assert again.status_code == 409 and "sudah tidak terbuka" in again.text


def test_lanes_and_kecamatan_limit_inbox_and_pages(client: FlaskClient) -> None:
    code = new_application(client)["code"]  # Binawidya
    for user, data in (
        ("admin1", {"decision": "complete"}),
        ("operator1", {"decision": "issued"}),
        ("dafdud1", {"batch": "b1"}),
    ):
        advance_to(client, code, {"admin1": "admin", "operator1": "operator", "dafdud1": "dafdud"}[user], user, data)
    sign_in(client, "uptd_sukajadi")
    assert code not in client.get("/petugas/tugas").text
    assert client.get(f"/petugas/permohonan/{code}").status_code == 403
    other = client.application.test_client()
    sign_in(other, "uptd_binawidya")
    html = other.get("/petugas/tugas").text
    assert code in html
    task_id = task_id_on_page(html, code)
    assert client.get(f"/petugas/tugas/{task_id}").status_code == 403
    assert other.get("/petugas/tugas?kecamatan=14.71.01").text.count("data-task=") == 0


def test_dafdud_groups_several_cards_at_once(client: FlaskClient) -> None:
    codes = [new_application(client)["code"] for _ in range(2)]
    for code in codes:
        advance_to(client, code, "admin", "admin1", {"decision": "complete"})
        advance_to(client, code, "operator", "operator1", {"decision": "issued"})
    csrf = sign_in(client, "dafdud1")
    html = client.get("/petugas/tugas?lane=dafdud").text
    ids = [task_id_on_page(html, code) for code in codes]
    assert html.count('form="bulk-group"') == 2
    response = client.post(
        "/petugas/kelompokkan", data={"csrf_token": csrf, "batch": "2026-11-28 Binawidya", "task_id": ids}
    )
    assert response.status_code == 302
    page = client.get("/petugas/tugas?lane=dafdud").text
    assert re.search(r"2 KIA dikelompokkan \u201c2026-11-28 Binawidya\u201d: batch \d+ \(Binawidya, 2 KIA\)", page)
    recap = re.search(r'<a href="(/api/v1/reports/distribution.pdf\?batch=\d+)"', page).group(1)
    assert client.get(recap).headers["Content-Type"] == "application/pdf"
    # all or nothing: a task that is no longer open refuses the whole batch
    again = client.post("/petugas/kelompokkan", data={"csrf_token": csrf, "batch": "x", "task_id": ids})
    assert again.status_code == 302
    assert "Tidak ada yang dikelompokkan" in client.get("/petugas/tugas?lane=dafdud").text
    for code in codes:  # on their way to the UPTD: ready once it confirms their arrival
        assert client.get(f"/api/v1/status/{code}").get_json()["status"] == "dicetak"


def test_application_page_shows_diagram_marks_and_control_card(client: FlaskClient) -> None:
    code = new_application(client)["code"]
    advance_to(client, code, "admin", "admin1", {"decision": "incomplete", "note": "Akta tidak terbaca"})
    sign_in(client, "admin2")
    page = client.get(f"/petugas/permohonan/{code}")
    assert page.status_code == 200
    marks = re.search(r'<script id="diagram-marks" type="application/json">(.*?)</script>', page.text, re.S)
    assert '"current": ["correct_application"]' in marks.group(1)
    assert "verify_application" in marks.group(1)
    assert 'data-bpmn-url="/api/v1/processes/kia_whatsapp/bpmn?version=1"' in page.text
    assert "Akta tidak terbaca" in page.text
    paper = re.search(r'<a href="([^"]+control-card.pdf)" class="paper">', page.text).group(1)
    assert client.get(paper).headers["Content-Type"] == "application/pdf"
    card = re.search(r'id="control-card">(.*?)</table>', page.text, re.S).group(1)
    assert card.count("<tr class=") == 3  # submission, verification, correction
    assert "Admin2" not in card and "Admin1" in card and "tepat waktu" in card and "berjalan" in card
    assert client.get("/api/v1/processes/kia_whatsapp/bpmn?version=1").status_code == 200  # the viewer's fetch


def test_status_page_pin_and_correction(client: FlaskClient, app: Flask) -> None:
    created = new_application(client)
    code = created["code"]
    advance_to(client, code, "admin", "admin1", {"decision": "incomplete", "note": "Nama anak salah eja"})
    public = app.test_client()
    page = public.get(f"/status/{code.lower()}")
    assert page.status_code == 200 and "Perlu perbaikan" in page.text
    for secret in ("Aisyah Putri Ramadhani", "1471085005230001", "Siti Rahmawati", "Nama anak salah eja"):
        assert secret not in page.text
    assert "UPTD Disdukcapil Kecamatan Binawidya" in page.text
    assert public.get("/status/TIDAKADA1234").status_code == 404

    wrong = public.post(f"/status/{code}/pin", data={"csrf_token": csrf_of(page.text), "pin": "000000"})
    assert wrong.status_code == 401 and "PIN salah" in wrong.text
    assert (
        public.post(f"/status/{code}/pin", data={"csrf_token": csrf_of(page.text), "pin": created["pin"]}).status_code
        == 302
    )
    page = public.get(f"/status/{code}")
    assert "Nama anak salah eja" in page.text and "Kirim perbaikan" in page.text
    task_id = re.search(rf"/status/{code}/tugas/([0-9a-f-]{{36}})", page.text).group(1)
    invalid = public.post(
        f"/status/{code}/tugas/{task_id}", data={"csrf_token": csrf_of(page.text), "child.nik": "123"}
    )
    assert invalid.status_code == 422 and "Tanggapan pemohon" in invalid.text
    fixed = public.post(
        f"/status/{code}/tugas/{task_id}",
        data={"csrf_token": csrf_of(page.text), "response": "Sudah diperbaiki", "child.name": "Aisyah Putri Ramadani"},
    )
    assert fixed.status_code == 302
    page = public.get(f"/status/{code}").text
    assert "Diajukan" in page and 'id="expected"' in page  # verification open again: a hand-over estimate
    with app.app_context():
        assert db.session.query(Application).filter_by(code=code).one().child["name"] == "Aisyah Putri Ramadani"


def test_validate_endpoint_reports_problems_without_deploying(client: FlaskClient, app: Flask) -> None:
    owner = token(client, "owner1")
    ok = client.post("/api/v1/processes/validate", data=DIAGRAM, content_type="application/xml", headers=owner)
    assert ok.status_code == 200
    body = ok.get_json()
    assert (body["valid"], body["process_key"], body["problems"], body["dry_run"]) == (True, "kia_whatsapp", [], True)
    assert body["paths"] and all(p["ok"] for p in body["paths"])
    bad = DIAGRAM.replace(
        b'<spiffworkflow:property name="form_key" value="printing"/>',
        b'<spiffworkflow:property name="form_key" value="tidak_ada"/>',
    )
    result = client.post("/api/v1/processes/validate", data=bad, content_type="application/xml", headers=owner)
    assert result.status_code == 200
    assert result.get_json()["problems"] == [
        {
            "element_id": "print_card",
            "message": "«Input data ke SIAK dan cetak KIA» (print_card): formulir 'tidak_ada' tidak dikenal: "
            "bukan formulir bawaan dan tidak ikut di-deploy (formulir yang dikirim: tidak ada)",
        }
    ]
    assert (
        client.post(
            "/api/v1/processes/validate", data=b"<x/>", content_type="application/xml", headers=owner
        ).get_json()["valid"]
        is False
    )
    assert (
        client.post("/api/v1/processes/validate", data=DIAGRAM, content_type="text/plain", headers=owner).status_code
        == 415
    )
    assert (
        client.post(
            "/api/v1/processes/validate", data=DIAGRAM, content_type="application/xml", headers=token(client, "admin1")
        ).status_code
        == 403
    )
    with app.app_context():
        assert db.session.query(ProcessVersion).count() == 1


def test_versions_page_shows_changes_and_running_applications(client: FlaskClient) -> None:
    new_application(client)
    owner = token(client, "owner1")
    changed = DIAGRAM.replace(
        b'<spiffworkflow:property name="time_standard" value="PT1H"/>',
        b'<spiffworkflow:property name="time_standard" value="PT2H"/>',
        1,
    )
    assert (
        client.post(
            "/api/v1/processes?note=Verifikasi+2+jam", data=changed, content_type="application/xml", headers=owner
        ).status_code
        == 201
    )
    sign_in(client, "owner1")
    page = client.get("/pemilik/versi").text
    rows = re.findall(r'<tr data-version="(\d)">.*?<td class="running">(\d+)</td>', page, re.S)
    assert rows == [("2", "0"), ("1", "1")]
    assert "property time_standard" in page and "<del>PT1H</del>" in page and "<ins>PT2H</ins>" in page
    assert "verify_application" in page
    modeler = client.get("/pemilik/modeler")
    assert modeler.status_code == 200 and "dist/modeler.js" in modeler.text
    assert '"version": 2' in modeler.text


def test_dashboard_counts_durations_and_escalations(client: FlaskClient, app: Flask) -> None:
    fast, slow = new_application(client)["code"], new_application(client)["code"]
    advance_to(client, fast, "admin", "admin1", {"decision": "complete"})
    clock.advance(timedelta(hours=2))  # past the 1-hour standard: the slow one is escalated
    with app.app_context():
        assert timers.fire_due(sessionmaker(bind=db.engine, expire_on_commit=False)) >= 1
    advance_to(client, slow, "admin", "admin1", {"decision": "complete"})
    sign_in(client, "supervisor1")
    page = client.get("/dasbor").text
    by_step = re.search(r'id="by-step">(.*?)</table>', page, re.S).group(1)
    assert "Input data ke SIAK dan cetak KIA" in by_step
    # both wait for printing; the fast one's print step has overrun its hour by now too
    assert re.search(r"cetak KIA</td><td>2</td><td>1</td>", by_step)
    assert "Binawidya</td><td>2</td><td>1</td>" in page
    escalations = re.search(r'id="escalations">(.*?)</table>', page, re.S).group(1)
    verify, printing = "Verifikasi dan validasi data dengan SIAK", "Input data ke SIAK dan cetak KIA"
    assert re.search(rf'data-code="{slow}">[^<]+</a></td><td data-step="verify_application">{verify}</td>', escalations)
    assert re.search(rf'data-code="{fast}">[^<]+</a></td><td data-step="print_card">{printing}</td>', escalations)
    assert not re.search(rf'data-code="{fast}">[^<]+</a></td><td data-step="verify_application">', escalations)
    # verification: two done today, the slow one past its standard
    assert re.search(  # counts, not averages
        r"Verifikasi dan validasi data dengan SIAK</strong> · standar 1 jam · 1 tepat waktu, 1 lewat standar", page
    )
    assert 'class="bar late"' in page  # a day with a late completion is drawn red
    report = re.search(r'id="sla">(.*?)</table>', page, re.S).group(1)
    assert re.search(
        r"Verifikasi dan validasi data dengan SIAK</td><td><span class=\"version-standard\">versi 1: 1 jam "
        r"\(jam kerja\)</span></td><td>2</td>.*?<td>1 \(50%\)</td>",
        report,
    )
    assert client.get("/dasbor").status_code == 200
    admin = app.test_client()
    sign_in(admin, "admin1")
    assert admin.get("/dasbor").status_code == 403


def test_applicant_reuploads_a_document_with_the_correction(client: FlaskClient, app: Flask) -> None:
    created = new_application(client)
    code = created["code"]
    advance_to(client, code, "admin", "admin1", {"decision": "incomplete", "note": "KK buram"})
    public = app.test_client()
    page = public.get(f"/status/{code}")
    public.post(f"/status/{code}/pin", data={"csrf_token": csrf_of(page.text), "pin": created["pin"]})
    page = public.get(f"/status/{code}")
    assert 'enctype="multipart/form-data"' in page.text and 'type="file" name="kk"' in page.text
    action = re.search(rf'action="(/status/{code}/tugas/[0-9a-f-]{{36}})"', page.text).group(1)
    refused = public.post(
        action,
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(page.text), "response": "KK baru", "kk": (io.BytesIO(b"bukan pdf"), "kk.txt")},
    )
    assert refused.status_code == 422
    with app.app_context():
        assert db.session.query(Document).filter_by(kind="kk").count() == 1  # nothing stored, task still open
    new_kk = PDF_BYTES.replace(b"%%EOF", b"% dipindai ulang\n%%EOF")
    sent = public.post(
        action,
        content_type="multipart/form-data",
        data={"csrf_token": csrf_of(page.text), "response": "KK baru", "kk": (io.BytesIO(new_kk), "kk.pdf")},
    )
    assert sent.status_code == 302
    with app.app_context():
        kks = db.session.query(Document).filter_by(kind="kk").order_by(Document.id).all()
        assert len(kks) == 2 and kks[1].size == len(new_kk)
        assert db.session.query(Event).filter_by(kind="document_uploaded").one().detail == {"document": "kk"}
    staff = app.test_client()
    sign_in(staff, "admin1")
    task_id = task_id_on_page(staff.get("/petugas/tugas").text, code)
    task_page = staff.get(f"/petugas/tugas/{task_id}").text
    # distinct links (each current document is previewed and linked; the old one is linked, marked as such)
    links = list(dict.fromkeys(re.findall(rf'href="(/api/v1/applications/{code}/documents/\d+)"', task_page)))
    assert len(links) == 3
    previewed = re.search(r'<figure class="preview" data-kind="kk">.*?href="([^"]+)"', task_page, re.S).group(1)
    assert staff.get(previewed).data == new_kk  # the newest kk is the one shown
    assert task_page.count("(versi lama)") == 1

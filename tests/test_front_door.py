"""The applicant's front door (issue 19, point 8), through the Flask test client on SQLite and PostgreSQL:
``/`` is a public page for anyone without a staff session (an officer still gets their inbox), ``/status``
without a code is the code box (never JSON), a code typed with or without dashes, in any case, opens its
status page, the status page prints the code as on the receipt and links to the receipt once the PIN is
given, and a browser's 404 leads back to the front door. Nothing personal is on the public pages."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient

from engine.kia.security import display_code

from .test_web_pages import csrf_of, new_application, sign_in

HTML = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}  # what Chromium sends
SECRETS = ("Aisyah Putri Ramadhani", "1471085005230001", "Siti Rahmawati", "081234567890", "siti@example.com")


def test_the_front_door_is_public_and_an_officer_still_gets_the_inbox(client: FlaskClient, app: Flask) -> None:
    new_application(client)
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.text
    assert "Kartu Identitas Anak" in text and "Gratis." in text and "tidak dipungut biaya" in text
    assert "WhatsApp" in text and "Ajukan KIA" in text
    assert 'action="/status"' in text and 'name="kode"' in text  # the code box
    assert 'href="/masuk"' in text  # staff sign in from here
    for secret in SECRETS:
        assert secret not in text

    sign_in(client, "admin1")
    assert client.get("/").headers["Location"] == "/petugas/tugas"
    supervisor = app.test_client()
    sign_in(supervisor, "supervisor1")
    assert supervisor.get("/").status_code == 302  # to the officer's own start page, not the public one


def test_the_front_door_names_the_service_number_as_a_whatsapp_link(client: FlaskClient, app: Flask) -> None:
    assert "wa.me" not in client.get("/").text  # no number set: none invented
    app.config["WHATSAPP_PUBLIC_NUMBER"] = "0811 7600 1234"
    try:
        text = client.get("/").text
    finally:
        app.config["WHATSAPP_PUBLIC_NUMBER"] = ""
    assert 'href="https://wa.me/6281176001234"' in text and "0811 7600 1234" in text


def test_status_without_a_code_is_the_box_and_a_typed_code_opens_its_page(client: FlaskClient) -> None:
    code = new_application(client)["code"]
    for address in ("/status", "/status/"):
        box = client.get(address)
        assert box.status_code == 200 and box.mimetype == "text/html", address
        assert 'name="kode"' in box.text and "{" not in box.text.split("<body", 1)[1].split("<script", 1)[0]
    printed = display_code(code)
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", printed)
    for typed in (printed, printed.lower(), code, code.lower(), f"  {printed.replace('-', ' ')} "):
        opened = client.get("/status", query_string={"kode": typed})
        assert opened.status_code == 302 and opened.headers["Location"] == f"/status/{code}", typed
    page = client.get(f"/status/{code}")
    assert page.status_code == 200 and f'<h1 class="code" id="code">{printed}</h1>' in page.text
    assert f"Status permohonan {printed}" in page.text
    assert client.get(f"/status/{printed.lower()}").status_code == 200

    malformed = client.get("/status", query_string={"kode": "ABC"})
    assert malformed.status_code == 422 and "12 huruf dan angka" in malformed.text and 'value="ABC"' in malformed.text
    unknown = client.get("/status", query_string={"kode": "2222-3333-4444"})
    assert unknown.status_code == 302
    missing = client.get(unknown.headers["Location"])
    assert missing.status_code == 404 and "tidak ditemukan" in missing.text and 'name="kode"' in missing.text
    assert client.get("/status", query_string={"kode": ""}).status_code == 422


def test_the_receipt_link_appears_with_the_pin_and_opens_the_pdf(client: FlaskClient, app: Flask) -> None:
    created = new_application(client)
    code = created["code"]
    public = app.test_client()
    page = public.get(f"/status/{code}")
    assert "receipt-link" not in page.text and f"/api/v1/applications/{code}/receipt.pdf" not in page.text
    for secret in SECRETS:
        assert secret not in page.text
    assert public.get(f"/api/v1/applications/{code}/receipt.pdf").status_code == 401
    signed = public.post(f"/status/{code}/pin", data={"csrf_token": csrf_of(page.text), "pin": created["pin"]})
    assert signed.status_code == 302
    page = public.get(f"/status/{code}")
    link = re.search(r'id="receipt-link" href="([^"]+)"', page.text)
    assert link and link.group(1) == f"/api/v1/applications/{code}/receipt.pdf"
    receipt = public.get(link.group(1))
    assert receipt.status_code == 200 and receipt.mimetype == "application/pdf" and receipt.data.startswith(b"%PDF")
    other = new_application(client)["code"]  # the PIN opens its own application's receipt only
    assert public.get(f"/api/v1/applications/{other}/receipt.pdf").status_code == 403


def test_a_browsers_404_is_a_page_whose_link_goes_to_the_front_door(client: FlaskClient) -> None:
    lost = client.get("/tidak/ada/di/sini", headers=HTML)
    assert lost.status_code == 404 and lost.mimetype == "text/html"
    assert re.search(r'<a href="/" id="home-link">Ke halaman depan layanan KIA</a>', lost.text)
    assert "Gratis." in client.get("/").text  # where that link leads, signed out
    api = client.get("/api/v1/tidak-ada", headers=HTML)  # the API keeps its JSON
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"
    assert client.get("/tidak/ada").get_json()["error"]["code"] == "not_found"  # a client without Accept: JSON
    sign_in(client, "admin1")
    staff = client.get("/tidak/ada", headers=HTML)
    assert staff.status_code == 404 and "Kembali ke beranda" in staff.text and "Kotak masuk" in staff.text

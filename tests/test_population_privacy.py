"""Issue 14 point 1: population records reach only staff of the lanes that handle the application.

An outsider who knows a family's KK number (printed on every photocopy of the family card) submits an
invented child with it, over the API and over WhatsApp, against a real HTTP server (werkzeug in a thread)
on SQLite and PostgreSQL. Every answer and page the applicant's token, the PIN session of the status page
or an anonymous caller reaches (application detail, control card, receipt and control-card PDFs, status
JSON and page, the inbox, the correction task, WhatsApp replies) is searched for the family's members:
none is there, even after the officer accepted the file with a reason quoting the records. The
verifying officer does see them (so the search could fail).
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import httpx
import pytest
from flask import Flask

from api.extensions import db
from engine.kia.siak_import import upsert

from . import test_log_privacy
from .helpers import PDF_BYTES, PNG_BYTES, application_data, inbox, submit, token
from .pdfcheck import pages_text
from .whatsapp_helpers import ANSWERS, Phone, configure, media_part

HttpClient = test_log_privacy.HttpClient
server = test_log_privacy.server  # the app served by werkzeug in a thread (a fixture)

FAMILY_KK = "1471131002210004"
FAMILY = [
    ("1471131104850001", "Baharuddin Lubis", "L", "1985-04-11", "kepala_keluarga", "", ""),
    ("1471135208880001", "Rosmawati Siregar", "P", "1988-08-12", "istri", "", ""),
    ("1471130307150002", "Kevin Baharuddin", "L", "2015-07-03", "anak", "Baharuddin Lubis", "Rosmawati Siregar"),
]
FAMILY_ADDRESS = "Jl. Kenanga Indah No. 41, RT 003/RW 007"
# What only the population records hold: the members' names, NIKs, the family's address.
RECORDS_ONLY = [m[1] for m in FAMILY] + [m[0] for m in FAMILY] + [FAMILY_ADDRESS, "Kenanga"]


def load_family(app: Flask) -> None:
    rows = [
        {
            "nik": nik,
            "kk_number": FAMILY_KK,
            "name": name,
            "sex": sex,
            "birth_date": date.fromisoformat(born),
            "birth_place": "Medan",
            "family_role": role,
            "father_name": father,
            "mother_name": mother,
            "address": FAMILY_ADDRESS,
            "kecamatan": "14.71.13",
        }
        for nik, name, sex, born, role, father, mother in FAMILY
    ]
    with app.app_context():
        upsert(db.session, rows)
        db.session.commit()


def invented(nik: str = "1471085005230007", name: str = "Putri Anggraini") -> dict[str, Any]:
    """A child the family does not have, on the family's KK number, by an outsider."""
    data = application_data(name=name, nik=nik, kk_number=FAMILY_KK, address="Jl. Merpati No. 5")
    data["applicant"].update(name="Rudi Hartono", relationship="ayah", email="rudi@example.org")
    return data


def leaked(text: str) -> list[str]:
    return [value for value in RECORDS_ONLY if value.casefold() in text.casefold()]


def status_page_session(base: str, code: str, pin: str) -> httpx.Client:
    """A browser on the status page signed in with the PIN (its cookie jar holds the PIN session)."""
    browser = httpx.Client(base_url=base, timeout=60)
    page = browser.get(f"/status/{code}")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed_in = browser.post(f"/status/{code}/pin", data={"pin": pin, "csrf_token": csrf})
    assert signed_in.status_code == 302, signed_in.text
    return browser


def applicant_answers(http: HttpClient, browser: httpx.Client, bearer: dict[str, str], code: str) -> list[str]:
    """Everything the applicant's token, the PIN session and an anonymous caller can read of ``code``."""
    shown: list[str] = []
    paths_json = [f"/api/v1/applications/{code}", f"/api/v1/applications/{code}/control-card", "/api/v1/tasks"]
    pdfs = [f"/api/v1/applications/{code}/receipt.pdf", f"/api/v1/applications/{code}/control-card.pdf"]
    for path in paths_json:
        for answer in (http.http.get(path, headers=bearer), browser.get(path)):
            assert answer.status_code == 200, (path, answer.text[:300])
            shown.append(answer.text)
    for path in pdfs:
        for answer in (http.http.get(path, headers=bearer), browser.get(path)):
            assert answer.status_code == 200, path
            shown.append("\n".join(pages_text(answer.content)))
    for task in http.http.get("/api/v1/tasks", headers=bearer).json()["items"]:
        detail = http.http.get(f"/api/v1/tasks/{task['id']}", headers=bearer)
        assert detail.status_code == 200, detail.text
        shown.append(detail.text)
        shown.append(browser.get(f"/api/v1/tasks/{task['id']}").text)
    shown += [
        http.http.get(f"/api/v1/status/{code}").text,
        http.http.get(f"/api/v1/status/{code}", headers=bearer).text,
        browser.get(f"/api/v1/status/{code}").text,
        httpx.get(f"{str(http.http.base_url).rstrip('/')}/status/{code}").text,  # the page, anonymous
        browser.get(f"/status/{code}").text,  # the page with the PIN session (notes, correction form)
    ]
    return shown


def complete_step(http: HttpClient, headers: dict[str, str], code: str, body: dict[str, Any]) -> None:
    [task] = [t for t in inbox(http, headers) if t["application_code"] == code]
    response = http.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json=body)
    assert response.status_code == 200, response.get_json()


def test_an_outsider_with_a_known_kk_number_sees_none_of_the_family(
    app: Flask, server: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    load_family(app)
    http = HttpClient(server)
    created = submit(http, invented(), {"kk": PDF_BYTES, "akta": PNG_BYTES})
    assert created.status_code == 201, created.get_json()
    code, pin = created.get_json()["code"], created.get_json()["pin"]
    answers = [json.dumps(created.get_json())]
    bearer = {
        "Authorization": "Bearer "
        + http.post("/api/v1/auth/token", json={"code": code, "pin": pin}).get_json()["access_token"]
    }
    browser = status_page_session(server, code, pin)

    # the verifying officer sees the family (the search below can find it) ...
    admin = token(http, "admin1")
    [verification] = [t for t in inbox(http, admin) if t["application_code"] == code]
    seen_by_officer = http.http.get(f"/api/v1/tasks/{verification['id']}", headers=admin).text
    assert set(leaked(seen_by_officer)) >= {"Baharuddin Lubis", "Rosmawati Siregar", "Kevin Baharuddin"}
    assert "Rosmawati Siregar" in http.http.get(f"/api/v1/applications/{code}", headers=admin).text
    # ... a supervisor without a lane and a Ka. UPTD of another kecamatan do not
    for other in ("supervisor1", "uptd_sukajadi"):
        detail = http.http.get(f"/api/v1/applications/{code}", headers=token(http, other))
        assert detail.status_code in (200, 403) and not leaked(detail.text), other

    answers += applicant_answers(http, browser, bearer, code)  # waiting for verification

    # sent back for correction: the correction task, its form on the status page
    complete_step(http, admin, code, {"decision": "incomplete", "note": "Mohon kirim ulang foto KK."})
    answers += applicant_answers(http, browser, bearer, code)
    [correction] = [t for t in inbox(http, bearer) if t["form_key"] == "correction"]
    fixed = http.post(
        f"/api/v1/tasks/{correction['id']}/complete", headers=bearer, json={"response": "Sudah dikirim ulang."}
    )
    assert fixed.status_code == 200, fixed.get_json()

    # accepted against the records with a reason that quotes them (shown on the staff's control card)
    reason = "Diterima: KK asli dicocokkan, kepala keluarga Baharuddin Lubis hadir."
    complete_step(http, admin, code, {"decision": "complete", "override_reason": reason})
    card = http.http.get(f"/api/v1/applications/{code}/control-card", headers=admin).json()
    assert [i["override"]["reason"] for i in card["items"] if i["override"]] == [reason]
    answers += applicant_answers(http, browser, bearer, code)

    # the same outsider over WhatsApp: every reply of the chat, and the status asked there
    phone = Phone(http, app, fake, phone="6285277778888", user_id="ID.777")  # type: ignore[arg-type]
    chat = list(ANSWERS)
    chat[0], chat[4], chat[5], chat[9], chat[11] = (
        "Rudi Hartono",
        "Intan Permata",
        "1471085005230008",
        FAMILY_KK,
        "Jl. Merpati No. 5",
    )
    replies = []
    for answer in ["Halo", "1", *chat]:
        replies += phone.say(answer)
    replies += phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True))
    replies += phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))
    confirmed = phone.say("ya")
    assert any("PIN: *" in r for r in confirmed), confirmed
    replies += confirmed + phone.say(f"status {code}")
    answers += replies

    where = [text[:3000] for text in answers if leaked(text)][:2]
    found = sorted({value for text in answers for value in leaked(text)})
    assert not found, f"population records reached the applicant: {found} in {where}"
    assert len(answers) > 60

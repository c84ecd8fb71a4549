"""Notices to applicants within WhatsApp's rules, through the real webhook, the fake Graph API (a real
HTTP server enforcing Meta's rules) and a loopback SMTP server: the 24-hour window, templates, error
codes, consent, the e-mail fallback, and what staff see of each notice."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import outbox
from api.extensions import db
from engine.models import Outbox, TaskRow
from engine.workflow.clock import clock
from handlers.whatsapp.fake_graph import FakeGraph
from handlers.whatsapp.gateway import GatewayError, GraphGateway

from . import test_log_privacy
from .helpers import Mailbox, applicant_headers, application_data, inbox, submit, token
from .scripted import at
from .test_log_privacy import HttpClient
from .whatsapp_helpers import PHONE, USER_ID, Phone, configure, message_payload, post, status_payload, text_part

NOTE = "Foto KK buram, mohon unggah ulang."


def apply(client: FlaskClient, consent: bool = True) -> dict:
    response = submit(client, {**application_data(), "whatsapp_consent": consent})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def verify(client: FlaskClient, code: str, data: dict) -> None:
    headers = token(client, "admin1")
    task = next(t for t in inbox(client, headers) if t["application_code"] == code)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
    assert response.status_code == 200, response.get_json()


def ask_correction(client: FlaskClient, code: str) -> None:
    verify(client, code, {"decision": "incomplete", "note": NOTE})


def correct(client: FlaskClient, created: dict) -> None:
    applicant = applicant_headers(client, created)
    [task] = client.get(f"/api/v1/status/{created['code']}", headers=applicant).get_json()["tasks"]
    response = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json={"response": "Sudah saya unggah ulang."}, headers=applicant
    )
    assert response.status_code == 200, response.get_json()


def notices(client: FlaskClient, code: str) -> list[dict[str, Any]]:
    detail = client.get(f"/api/v1/applications/{code}", headers=token(client, "admin1")).get_json()
    return detail["notices"]


def shown(code: str) -> str:
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def body_parameters(message: dict) -> list[str]:
    return [
        p["text"] for c in message["template"].get("components", []) if c["type"] == "body" for p in c["parameters"]
    ]


server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does


@pytest.fixture
def client(server: str) -> HttpClient:
    """Every request of this module goes to the real HTTP server (the test client's calls, over a socket)."""
    return HttpClient(server)


@pytest.fixture
def wa(app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> FakeGraph:
    configure(app, fake, monkeypatch)
    return fake


def test_consenting_api_applicant_who_never_wrote_gets_the_correction_note_as_template(
    client: FlaskClient, app: Flask, wa: FakeGraph
) -> None:
    created = apply(client)
    ask_correction(client, created["code"])
    outbox.deliver(app)
    (note,) = [m for m in wa.messages_to(PHONE) if m["type"] == "template"]
    assert note["template"]["name"] == "kia_catatan_perbaikan" and note["template"]["language"] == {"code": "id"}
    assert body_parameters(note) == [shown(created["code"]), NOTE]
    assert wa.refused == []  # it never tried free-form text outside the window
    (listed,) = [n for n in notices(client, created["code"]) if n["kind"] == "correction_note"]
    assert (listed["channel"], listed["state"], listed["sent_as"]) == ("whatsapp", "sent", "template")
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=token(client, "admin1")).get_json()
    assert detail["whatsapp_consent_at"] is not None  # the consent, recorded with its time


def test_an_applicant_who_wrote_within_24_hours_gets_free_form_text(
    client: FlaskClient, app: Flask, wa: FakeGraph
) -> None:
    Phone(client, app, wa).say("halo")  # starting a chat is consent, and opens the window
    created = apply(client, consent=False)
    ask_correction(client, created["code"])
    outbox.deliver(app)
    note = wa.messages_to(PHONE)[-1]
    assert note["type"] == "text" and NOTE in note["text"]["body"] and shown(created["code"]) in note["text"]["body"]
    assert wa.refused == []


def test_the_window_closed_between_two_notices_so_the_second_goes_as_template_after_131047(
    client: FlaskClient, app: Flask, wa: FakeGraph
) -> None:
    """Meta measures the window from the message's own time; we learn of the message when its webhook
    arrives, here five minutes later. A notice sent in those last minutes is refused with 131047 and
    goes again at once as its template."""
    at("2027-09-02 10:00")
    wa.inbound(PHONE, USER_ID)  # the applicant wrote at 10:00 ...
    at("2027-09-02 10:05")
    assert post(client, message_payload(text_part("halo"))).status_code == 200  # ... we heard at 10:05
    created = apply(client)
    at("2027-09-02 10:30")
    ask_correction(client, created["code"])
    outbox.deliver(app)
    assert wa.messages_to(PHONE)[-1]["type"] == "text"  # the first notice: inside the window
    correct(client, created)
    at("2027-09-03 10:02")  # closed at Meta since 10:00, open here until 10:05
    verify(client, created["code"], {"decision": "complete"})
    outbox.deliver(app)
    (refused, code), *_ = wa.refused
    assert refused["type"] == "document" and code == 131047
    receipt = wa.messages_to(PHONE)[-1]
    assert receipt["type"] == "template" and receipt["template"]["name"] == "kia_resi_permohonan"
    (header,) = [c for c in receipt["template"]["components"] if c["type"] == "header"]
    assert header["parameters"][0]["document"]["filename"] == f"resi-{created['code']}.pdf"
    states = {n["kind"]: (n["state"], n["sent_as"]) for n in notices(client, created["code"])}
    assert states["receipt"] == ("sent", "template") and states["correction_note"] == ("sent", "text")


def test_an_unreachable_number_falls_back_to_email_and_flags_the_application(
    client: FlaskClient, app: Flask, wa: FakeGraph, smtp: Mailbox
) -> None:
    wa.unreachable.add(PHONE)  # not a WhatsApp number: 131026
    created = apply(client)
    code = created["code"]
    ask_correction(client, code)
    outbox.deliver(app)  # WhatsApp refuses; the e-mail copy is written ...
    outbox.deliver(app)  # ... and sent
    assert wa.messages_to(PHONE) == [] and [c for _, c in wa.refused] == [131026]
    mails = [m for m in smtp.messages if "perlu diperbaiki" in m[2].decode("utf-8", "replace")]
    assert [rcpt for _, rcpt, _ in mails] == [["siti@example.com"]]
    detail = client.get(f"/api/v1/applications/{code}", headers=token(client, "admin1")).get_json()
    assert detail["whatsapp_unreachable_at"] is not None
    assert "whatsapp_unreachable" in [e["kind"] for e in detail["history"]]
    notes = [n for n in detail["notices"] if n["kind"] == "correction_note"]
    assert [(n["channel"], n["state"]) for n in notes] == [("whatsapp", "failed"), ("email", "sent")]
    assert notes[1]["fallback_of"] == notes[0]["id"] and "131026" in notes[0]["last_error"]
    # the application page shows the flag and each notice
    page = client.get(f"/petugas/permohonan/{code}", headers=token(client, "admin1"))
    assert 'id="whatsapp-unreachable"' in page.text and "Catatan perbaikan data" in page.text
    # later notices go by e-mail at once
    correct(client, created)
    verify(client, code, {"decision": "complete"})
    with app.app_context():
        receipt = db.session.scalar(select(Outbox).where(Outbox.kind == "receipt"))
        assert (receipt.channel, receipt.recipient) == ("email", "siti@example.com")
        db.session.rollback()


def test_without_consent_notices_go_by_email_only(client: FlaskClient, app: Flask, wa: FakeGraph) -> None:
    created = apply(client, consent=False)
    ask_correction(client, created["code"])
    with app.app_context():
        rows = list(db.session.scalars(select(Outbox).where(Outbox.kind == "correction_note")))
        assert [(r.channel, r.recipient) for r in rows] == [("email", "siti@example.com")]
        db.session.rollback()
    detail = client.get(f"/api/v1/applications/{created['code']}", headers=token(client, "admin1")).get_json()
    assert detail["whatsapp_consent_at"] is None


def test_rate_limits_back_off_and_retry(client: FlaskClient, app: Flask, wa: FakeGraph) -> None:
    at("2027-09-02 10:00")
    created = apply(client)
    ask_correction(client, created["code"])
    wa.fail_next(1, status=400, code=131056)  # too many messages to this person
    wa.fail_next(1, status=429, code=130429)  # throughput of our number
    with app.app_context():
        note_id = db.session.scalar(select(Outbox.id).where(Outbox.kind == "correction_note"))
        db.session.rollback()
    assert outbox.deliver(app).retrying == [note_id]
    assert outbox.deliver(app).retrying == []  # backing off
    at("2027-09-02 10:00:30")
    assert outbox.deliver(app).retrying == [note_id]
    at("2027-09-02 10:01:30")
    assert outbox.deliver(app).sent == [note_id]
    assert [n["state"] for n in notices(client, created["code"]) if n["kind"] == "correction_note"] == ["sent"]


def failed_status(message_id: str, code: int) -> dict:
    payload = status_payload(message_id, "failed")
    status = payload["entry"][0]["changes"][0]["value"]["statuses"][0]
    status["errors"] = [{"code": code, "title": "failed"}]
    return payload


def test_status_webhooks_move_each_notice_on_and_failed_is_handled_like_a_failed_send(
    client: FlaskClient, app: Flask, wa: FakeGraph, smtp: Mailbox
) -> None:
    Phone(client, app, wa).say("halo")
    created = apply(client)
    code = created["code"]
    ask_correction(client, code)
    outbox.deliver(app)
    text = wa.messages_to(PHONE)[-1]
    assert text["type"] == "text"
    # Meta accepted the free-form text, then reports it failed with 131047: it goes again as template
    assert post(client, failed_status(text["id"], 131047)).status_code == 200
    assert post(client, failed_status(text["id"], 131047)).get_json()["statuses"] == 0  # once
    outbox.deliver(app)
    template = wa.messages_to(PHONE)[-1]
    assert template["type"] == "template" and template["template"]["name"] == "kia_catatan_perbaikan"
    for status in ("delivered", "read", "delivered"):  # out of order: never backwards
        post(client, status_payload(template["id"], status))
    (note,) = [n for n in notices(client, code) if n["kind"] == "correction_note"]
    assert (note["state"], note["sent_as"]) == ("read", "template")
    # a failed status with an undeliverable code: the same fallback as a failed send
    correct(client, created)
    verify(client, code, {"decision": "complete"})
    outbox.deliver(app)
    receipt = wa.messages_to(PHONE)[-1]
    assert receipt["type"] == "document"
    post(client, failed_status(receipt["id"], 131026))
    outbox.deliver(app)
    states = [(n["channel"], n["state"]) for n in notices(client, code) if n["kind"] == "receipt"]
    assert states == [("whatsapp", "failed"), ("email", "sent")]
    assert any("Resi permohonan" in m[2].decode("utf-8", "replace") for m in smtp.messages)


def test_a_correction_note_not_received_marks_the_task_and_tells_the_admins(
    client: FlaskClient, app: Flask, wa: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "KIA_NOTE_UNDELIVERED_AFTER", 3600)
    at("2027-09-02 10:00")
    created = apply(client)
    ask_correction(client, created["code"])
    outbox.deliver(app)  # sent as template; no "delivered" webhook comes
    at("2027-09-02 10:59")
    outbox.deliver(app)
    supervisor = token(client, "supervisor1")
    [task] = [t for t in inbox(client, supervisor) if t["application_code"] == created["code"]]
    assert task["form_key"] == "correction" and task["notice_problem"] is None
    at("2027-09-02 11:00")
    outbox.deliver(app)
    [task] = [t for t in inbox(client, supervisor) if t["application_code"] == created["code"]]
    assert task["notice_problem"] == "note_undelivered"
    page = client.get("/petugas/tugas", headers=supervisor)
    assert "pemohon belum menerima catatan" in page.text
    told = client.get("/api/v1/notifications", headers=token(client, "admin1")).get_json()["items"]
    assert [n["kind"] for n in told] == ["note_undelivered"]
    assert told[0]["task_url"] == f"/petugas/permohonan/{created['code']}"
    outbox.deliver(app)  # once per task
    assert len(client.get("/api/v1/notifications", headers=token(client, "admin2")).get_json()["items"]) == 1
    # the note is reported delivered after all: the mark goes
    with app.app_context():
        message_id = db.session.scalar(select(Outbox.provider_message_id).where(Outbox.kind == "correction_note"))
        db.session.rollback()
    post(client, status_payload(message_id, "delivered"))
    with app.app_context():
        assert db.session.get(TaskRow, task["id"]).notice_problem is None
        db.session.rollback()


def test_a_failed_correction_note_marks_the_task_at_once(client: FlaskClient, app: Flask, wa: FakeGraph) -> None:
    created = apply(client, consent=True)
    with app.app_context():  # an applicant without an e-mail address to fall back on
        from engine.models import Application

        row = db.session.scalar(select(Application).where(Application.code == created["code"]))
        row.applicant = {k: v for k, v in row.applicant.items() if k != "email"}
        db.session.commit()
    wa.unreachable.add(PHONE)
    ask_correction(client, created["code"])
    outbox.deliver(app)
    [task] = [t for t in inbox(client, token(client, "supervisor1")) if t["application_code"] == created["code"]]
    assert task["notice_problem"] == "note_undelivered"


# --- the fake enforces Meta's rules -----------------------------------------------------------------


def test_the_fake_graph_api_refuses_what_meta_refuses(wa: FakeGraph) -> None:
    gateway = GraphGateway(wa.graph_url, wa.token, wa.phone_number_id)
    try:
        with pytest.raises(GatewayError) as outside:
            gateway.send_text(PHONE, "halo")
        assert outside.value.code == 131047 and not outside.value.retryable
        with pytest.raises(GatewayError) as missing:
            gateway.send_template(PHONE, "kia_tidak_ada", "id", ["a"])
        assert missing.value.code == 132001
        with pytest.raises(GatewayError) as wrong_language:
            gateway.send_template(PHONE, "kia_siap_diambil", "en", ["a", "b"])
        assert wrong_language.value.code == 132001
        with pytest.raises(GatewayError) as count:
            gateway.send_template(PHONE, "kia_siap_diambil", "id", ["only one"])
        assert count.value.code == 132000
        assert gateway.send_template(PHONE, "kia_siap_diambil", "id", ["ABCD-EFGH-JKMN", "UPTD Binawidya"])
        wa.inbound(PHONE)
        assert gateway.send_text(PHONE, "halo")
        clock.advance(timedelta(hours=24, seconds=1))
        with pytest.raises(GatewayError):
            gateway.send_text(PHONE, "halo lagi")  # the window closed
        wa.pair_limit = 3
        wa.inbound(PHONE)
        for _ in range(1):
            gateway.send_text(PHONE, "satu")  # (2 sent in this window already)
        with pytest.raises(GatewayError) as limited:
            gateway.send_text(PHONE, "terlalu cepat")
        assert limited.value.code == 131056 and limited.value.retryable
    finally:
        gateway.close()
    assert [code for _, code in wa.refused] == [131047, 132001, 132001, 132000, 131047, 131056]
    assert json.dumps(wa.sent)  # what was accepted is kept, as sent


def test_a_new_pin_outside_the_window_goes_as_its_template_and_is_blanked_once_sent(
    client: FlaskClient, app: Flask, wa: FakeGraph
) -> None:
    code = apply(client)["code"]
    with app.app_context():  # applied in the chat: the new PIN goes by WhatsApp (and by e-mail)
        from engine.models import Application

        db.session.scalar(select(Application).where(Application.code == code)).channel = "whatsapp"
        db.session.commit()
    assert client.post("/api/v1/auth/new-pin", json={"code": code}).status_code == 202
    outbox.deliver(app)
    (sent,) = [m for m in wa.messages_to(PHONE) if m["type"] == "template"]
    assert sent["template"]["name"] == "kia_pin_baru"
    shown_code, pin = body_parameters(sent)
    assert shown_code == shown(code) and pin.isdigit()
    with app.app_context():
        row = db.session.scalar(select(Outbox).where(Outbox.kind == "pin_reissued", Outbox.channel == "whatsapp"))
        assert row.status == "sent" and row.payload["parameters"] == [] and pin not in row.payload["text"]
        db.session.rollback()

"""Outbox delivery: retries with backoff and every attempt recorded; WhatsApp templates and documents
through a real local Graph API server; e-mail through a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from email import message_from_bytes

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfReader
from sqlalchemy import select

from api import outbox
from api.extensions import db
from engine.models import DeliveryAttempt, Outbox
from engine.workflow.clock import clock
from handlers import delivery
from handlers.whatsapp.fake_graph import FakeGraph

from .helpers import PDF_BYTES, Mailbox, application_data, free_port, inbox, submit, token
from .whatsapp_helpers import PHONE, Phone, configure


def add_notice(app: Flask, **fields: object) -> int:
    with app.app_context():
        row = Outbox(
            **{
                "channel": "whatsapp",
                "kind": "card_ready",
                "recipient": PHONE,
                # (outside the 24-hour window: it goes as its template, with these parameters)
                "payload": {"text": "KIA Anda siap diambil.", "parameters": ["ABCD-EFGH-JKMN", "UPTD Binawidya"]},
                "next_attempt_at": clock.now(),
                "created_at": clock.now(),
                **fields,
            }
        )
        db.session.add(row)
        db.session.commit()
        return row.id


def attempts_of(app: Flask, outbox_id: int) -> list[DeliveryAttempt]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(DeliveryAttempt).where(DeliveryAttempt.outbox_id == outbox_id).order_by(DeliveryAttempt.number)
            )
        )


def row_of(app: Flask, outbox_id: int) -> Outbox:
    with app.app_context():
        return db.session.get(Outbox, outbox_id)


def test_graph_api_failing_twice_then_recovering_delivers_on_the_third_attempt(
    app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    notice = add_notice(app)
    fake.fail_next(2, status=503)

    assert outbox.deliver(app).retrying == [notice]
    assert row_of(app, notice).next_attempt_at == clock.now() + timedelta(seconds=30)
    assert outbox.deliver(app).retrying == []  # not due before its backoff
    clock.advance(timedelta(seconds=30))
    assert outbox.deliver(app).retrying == [notice]
    clock.advance(timedelta(seconds=59))
    assert outbox.deliver(app).sent == []  # the second backoff is a minute
    clock.advance(timedelta(seconds=1))
    assert outbox.deliver(app).sent == [notice]

    attempts = attempts_of(app, notice)
    assert [(a.number, a.ok) for a in attempts] == [(1, False), (2, False), (3, True)]
    assert attempts[0].error.startswith("graph api: HTTP 503") and attempts[2].error is None
    assert attempts[2].provider_message_id == fake.messages_to(PHONE)[0]["id"]
    row = row_of(app, notice)
    assert (row.status, row.attempts, row.last_error, row.sent_at) == ("sent", 3, None, clock.now())
    assert len(fake.messages_to(PHONE)) == 1


def test_network_down_keeps_the_notice_and_a_bad_request_is_not_retried(
    app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", f"http://127.0.0.1:{free_port()}/v21.0")
    notice = add_notice(app)
    assert outbox.deliver(app).retrying == [notice]
    assert row_of(app, notice).status == "pending" and "network" in row_of(app, notice).last_error

    monkeypatch.setitem(app.config, "WHATSAPP_GRAPH_URL", fake.graph_url)
    monkeypatch.delitem(app.extensions, "kia_whatsapp_gateway")
    rejected = add_notice(app)
    fake.fail_next(1, status=400)
    assert outbox.deliver(app, only=[rejected]).failed == [rejected]
    assert row_of(app, rejected).status == "failed" and len(attempts_of(app, rejected)) == 1


def test_gives_up_after_max_attempts(app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    configure(app, fake, monkeypatch)
    monkeypatch.setitem(app.config, "OUTBOX_MAX_ATTEMPTS", 2)
    clock.freeze(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    notice = add_notice(app)
    fake.fail_next(5, status=500)
    assert outbox.deliver(app).retrying == [notice]
    clock.advance(timedelta(minutes=1))
    assert outbox.deliver(app).failed == [notice]
    assert row_of(app, notice).status == "failed" and len(attempts_of(app, notice)) == 2


def _to_step_five(client: FlaskClient, consent: bool = False) -> str:
    code = submit(client, {**application_data(), "whatsapp_consent": consent}).get_json()["code"]
    for user, data in (
        ("admin1", {"decision": "complete"}),
        ("operator1", {"decision": "issued"}),
        ("dafdud1", {"batch": "2026-11-28"}),
        ("uptd_binawidya", {"decision": "arrived"}),  # at the UPTD: the parent is told it is ready
    ):
        headers = token(client, user)
        task = next(t for t in inbox(client, headers) if t["application_code"] == code)
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
        assert response.status_code == 200, response.get_json()
    return code


def test_without_settings_notices_wait_in_the_outbox(client: FlaskClient, app: Flask) -> None:
    assert app.config["WHATSAPP_TOKEN"] == "" and app.config["SMTP_HOST"] == ""
    _to_step_five(client)
    report = outbox.deliver(app)
    assert (report.sent, report.retrying, report.failed) == ([], [], [])
    with app.app_context():
        rows = db.session.scalars(select(Outbox).order_by(Outbox.kind)).all()
        assert [(r.kind, r.status, r.attempts) for r in rows] == [
            ("application_code", "pending", 0),
            ("card_ready", "pending", 0),
            ("receipt", "pending", 0),
        ]


def test_notices_of_the_diagram_go_out_receipt_as_pdf_and_card_ready_as_template(
    client: FlaskClient, app: Flask, fake: FakeGraph, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Applied through the API with consent to WhatsApp notices, never wrote: outside any 24-hour
    window, so the receipt goes as its template with the PDF as header, the card's readiness likewise."""
    configure(app, fake, monkeypatch)
    code = _to_step_five(client, consent=True)
    report = outbox.deliver(app)
    assert len(report.sent) == 3 and report.failed == report.retrying == []

    receipt, ready = fake.messages_to(PHONE)
    assert receipt["type"] == "template" and receipt["template"]["name"] == "kia_resi_permohonan"
    header, body = receipt["template"]["components"]
    document = header["parameters"][0]["document"]
    assert header["type"] == "header" and document["filename"] == f"resi-{code}.pdf"
    assert [p["text"] for p in body["parameters"]] == [f"{code[:4]}-{code[4:8]}-{code[8:]}"]
    content, media_type = fake.media[document["id"]]  # uploaded through the media API
    assert media_type == "application/pdf" and code in "".join(
        page.extract_text() for page in PdfReader(io.BytesIO(content)).pages
    ).replace("-", "")
    template = ready["template"]
    assert ready["type"] == "template" and template["name"] == "kia_siap_diambil"
    assert template["language"] == {"code": "id"}
    where = (
        "UPTD Disdukcapil Kecamatan Binawidya, Kantor Camat Binawidya, Kota Pekanbaru "
        "(jam layanan: Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.30 WIB)"
    )
    assert [p["text"] for p in template["components"][0]["parameters"]] == [f"{code[:4]}-{code[4:8]}-{code[8:]}", where]

    ((mail_from, rcpt, content),) = smtp.messages
    message = message_from_bytes(content)
    assert mail_from == "kia@disdukcapil.example" and rcpt == ["siti@example.com"]
    assert message["Subject"] == "Kode permohonan KIA Anda"
    assert f"{code[:4]}-{code[4:8]}-{code[8:]}" in message.get_payload(decode=True).decode()


def test_a_notice_with_a_document_uploads_it_through_the_media_api(
    app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    monkeypatch.setitem(delivery.DOCUMENTS, "test.pdf", lambda session, row, url: (PDF_BYTES, "resi-kia.pdf"))
    Phone(app.test_client(), app, fake).say("halo")  # within the window: free-form, the PDF with a caption
    notice = add_notice(app, kind="receipt", payload={"text": "Resi permohonan KIA", "document": "test.pdf"})
    assert outbox.deliver(app).sent == [notice]
    sent = fake.messages_to(PHONE)[-1]
    assert sent["type"] == "document" and sent["document"]["filename"] == "resi-kia.pdf"
    assert sent["document"]["caption"] == "Resi permohonan KIA"
    assert fake.media[sent["document"]["id"]] == (PDF_BYTES, "application/pdf")


def test_smtp_refusing_the_login_is_retried(app: Flask, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SMTP_PASSWORD", "salah")
    monkeypatch.setitem(app.config, "SMTP_TIMEOUT", 2.0)  # smtplib tries the next mechanism and waits
    notice = add_notice(
        app,
        channel="email",
        kind="application_code",
        recipient="siti@example.com",
        payload={"subject": "Kode", "text": "Kode permohonan"},
    )
    assert outbox.deliver(app).retrying == [notice]
    row = row_of(app, notice)
    assert row.status == "pending" and row.last_error.startswith("smtp: ") and smtp.messages == []
    assert "siti@example.com" not in row.last_error


def test_an_unexpected_error_is_logged_without_its_message(
    app: Flask, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A library's exception can quote the recipient; the log names where it was raised, not what it said."""
    address = "siti.rahmawati@example.com"

    def broken_library(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"cannot encode header for {address}")

    monkeypatch.setattr(delivery, "send_mail", broken_library)
    notice = add_notice(
        app,
        channel="email",
        kind="code",
        recipient=address,
        payload={"subject": "Kode permohonan KIA", "text": "Kode Anda: ABCD-EFGH-JKMN"},
    )
    with caplog.at_level("DEBUG"):
        assert outbox.deliver(app).retrying == [notice]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "RuntimeError at" in logged and "broken_library" in logged
    assert address not in logged and "siti" not in logged
    assert attempts_of(app, notice)[0].error == "unexpected: RuntimeError"

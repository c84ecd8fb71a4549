"""The WhatsApp channel end to end: real webhook, real local Graph API server, real database."""

from __future__ import annotations

import json
import re
import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.extensions import db
from api.scheduler import start_scheduler
from engine.models import Application, Conversation, DeliveryAttempt, InboundMessage, MessageStatus, Outbox
from handlers.whatsapp.fake_graph import FakeGraph

from .helpers import JPEG_BYTES, PDF_BYTES, PNG_BYTES, application_data, inbox, submit, token
from .whatsapp_helpers import (
    ANSWERS,
    PHONE,
    USER_ID,
    VERIFY_TOKEN,
    Phone,
    configure,
    media_part,
    message_payload,
    post,
    status_payload,
    text_part,
)

CODE_RE = re.compile(r"Kode permohonan: \*([A-Z0-9-]{14})\*")


@pytest.fixture
def phone(client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> Phone:
    configure(app, fake, monkeypatch)
    return Phone(client, app, fake)


def counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model))
            for model in (Conversation, InboundMessage, Outbox, Application, MessageStatus)
        }


def stored_application(app: Flask, code: str) -> dict:
    with app.app_context():
        row = db.session.scalar(select(Application).where(Application.code == code))
        return {
            "applicant": row.applicant,
            "child": row.child,
            "kia_kind": row.kia_kind,
            "warnings": row.warnings,
            "kecamatan": row.instance.kecamatan,
            "status": row.instance.status,
            "documents": sorted((d.kind, d.media_type, d.sha256, d.size) for d in row.documents),
        }


def test_handshake(client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    query = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    assert client.get("/webhooks/whatsapp", query_string=query).status_code == 403  # not configured yet
    configure(app, fake, monkeypatch)
    response = client.get("/webhooks/whatsapp", query_string=query)
    assert response.status_code == 200 and response.get_data(as_text=True) == "1158201444"
    wrong = client.get("/webhooks/whatsapp", query_string={**query, "hub.verify_token": "tebakan"})
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "forbidden"


def test_conversation_from_halo_to_code_creates_the_same_application_as_the_api(
    phone: Phone, client: FlaskClient, app: Flask, fake: FakeGraph
) -> None:
    greeting = phone.say("Halo")
    assert len(greeting) == 1 and "1. Ajukan KIA" in greeting[0] and "2. Cek status" in greeting[0]
    assert "Nama pemohon" in phone.say("1")[-1]
    replies = []
    for answer in ANSWERS[:5]:
        replies = phone.say(answer)
    assert "NIK anak" in replies[-1]
    invalid = phone.say("1234")  # a NIK that is too short: asked again with the schema's message
    assert len(invalid) == 1 and "16 digit" in invalid[0] and "NIK anak" in invalid[0]
    for answer in ANSWERS[5:]:
        replies = phone.say(answer)
    assert "Kartu Keluarga (KK)" in replies[-1] and "foto atau PDF" in replies[-1]
    assert "Mohon kirim dokumen" in phone.say("ini KK saya")[0]  # text where a document is expected
    replies = phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True))
    assert "diterima" in replies[0] and "Akta kelahiran" in replies[-1]
    summary = phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))[-1]
    assert "Ringkasan" in summary and "1471085005230001" in summary and "Binawidya" in summary
    assert "Perempuan" in summary and "10-05-2023" in summary
    done = phone.say("ya")
    assert len(done) == 1 and "PIN: *" in done[0]
    code = CODE_RE.search(done[0]).group(1).replace("-", "")

    # the same child again by the API: refused while the chat's application is open, no code named
    again = submit(client, application_data(), {"kk": PDF_BYTES, "akta": PNG_BYTES})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "duplicate_application"
    assert code not in again.get_data(as_text=True) and "Ikuti permohonan tersebut" in again.get_data(as_text=True)
    twin = application_data(nik="1471085005230002")  # so a twin sister, then: stored the same way
    response = submit(client, twin, {"kk": PDF_BYTES, "akta": PNG_BYTES})
    assert response.status_code == 201, response.get_json()
    by_api = stored_application(app, response.get_json()["code"])
    by_chat = stored_application(app, code)
    assert by_chat == {**by_api, "child": {**by_api["child"], "nik": "1471085005230001"}}
    assert by_chat["status"] == "diajukan" and by_chat["applicant"]["phone"] == PHONE
    with app.app_context():
        assert db.session.scalar(select(Application.channel).where(Application.code == code)) == "whatsapp"
        reply = db.session.scalars(select(Outbox).where(Outbox.kind == "chat_reply").order_by(Outbox.id.desc())).first()
        assert reply.status == "sent" and "PIN" not in reply.payload["text"]  # blanked once delivered
    assert phone.say("status " + code)[0].startswith(f"Permohonan {code[:4]}-")


def test_forged_signature_gets_403_and_changes_nothing(phone: Phone, client: FlaskClient, app: Flask) -> None:
    phone.say("Halo")
    before = counts(app)
    payload = message_payload(text_part("1"))
    forged = post(client, payload, secret="bukan-rahasia-kami")
    assert forged.status_code == 403 and forged.get_json()["error"]["code"] == "invalid_signature"
    unsigned = client.post("/webhooks/whatsapp", data=json.dumps(payload), content_type="application/json")
    assert unsigned.status_code == 403
    garbage = client.post(
        "/webhooks/whatsapp",
        data=b"{not json",
        content_type="application/json",
        headers={"X-Hub-Signature-256": "sha256=" + "0" * 64},
    )
    assert garbage.status_code == 403  # refused before parsing: not a 400
    assert counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(Conversation.state)) == "menu"


def test_the_same_message_delivered_twice_is_processed_once(phone: Phone, app: Flask) -> None:
    phone.say("Halo")
    first = phone.send(text_part("1"), message_id="wamid.SAME")
    assert "Nama pemohon" in first[-1]
    before = counts(app)
    again = phone.send(text_part("1"), message_id="wamid.SAME")
    assert again == [] and counts(app) == before
    with app.app_context():
        assert db.session.scalar(select(Conversation.data))["step"] == "applicant.name"


def test_restart_mid_conversation_continues_where_it_stopped(
    phone: Phone, app: Flask, app_factory, database_url: str, fake: FakeGraph
) -> None:
    phone.say("Halo")
    phone.say("1")
    for answer in ANSWERS[:6]:
        replies = phone.say(answer)
    assert "Jenis kelamin" in replies[-1]
    restarted = app_factory(
        database_url,
        DOCUMENT_DIR=app.config["DOCUMENT_DIR"],
        **{k: v for k, v in app.config.items() if k.startswith("WHATSAPP_")},
    )
    try:
        again = Phone(restarted.test_client(), restarted, fake)
        again.seen = phone.seen
        replies = again.say("2")  # the answer to the question asked before the restart
        assert "Tanggal lahir" in replies[-1]
        with restarted.app_context():
            conversation = db.session.scalar(select(Conversation))
            assert conversation.state == "intake" and conversation.data["draft"]["child"]["sex"] == "P"
            assert conversation.data["draft"]["child"]["nik"] == "1471085005230001"
    finally:
        with restarted.app_context():
            db.engine.dispose()


def test_batal_cancels_and_status_answers_from_the_status_view(phone: Phone, client: FlaskClient, app: Flask) -> None:
    phone.say("1")
    phone.say("Siti Rahmawati")
    assert "dibatalkan" in phone.say("batal")[0]
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert conversation.state == "menu" and "draft" not in conversation.data
    code = submit(client).get_json()["code"]
    answer = phone.say(f"status {code[:4]}-{code[4:8]}-{code[8:]}")[0]
    assert "Diajukan" in answer and "A***** P**** R********" in answer and "Aisyah" not in answer
    assert "tidak ditemukan" in phone.say("status ZZZZ-ZZZZ-ZZZZ")[0]


def test_a_user_without_phone_number_is_answered_by_user_id(
    client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    username_only = Phone(client, app, fake, phone=None, user_id="ID.99887766554433")
    assert "Ajukan KIA" in username_only.say("Halo")[0]
    sent = fake.messages_to("ID.99887766554433")
    assert sent and "to" not in sent[0] and sent[0]["recipient"] == "ID.99887766554433"
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert (conversation.user_id, conversation.phone) == ("ID.99887766554433", None)


def test_delivery_statuses_are_recorded_once(phone: Phone, client: FlaskClient, app: Flask, fake: FakeGraph) -> None:
    phone.say("Halo")
    wamid = fake.messages_to(PHONE)[0]["id"]
    for status in ("sent", "delivered", "delivered", "read"):
        assert post(client, status_payload(wamid, status)).status_code == 200
    with app.app_context():
        rows = db.session.scalars(select(MessageStatus).order_by(MessageStatus.id)).all()
        assert [(r.message_id, r.status) for r in rows] == [(wamid, "sent"), (wamid, "delivered"), (wamid, "read")]
        attempt = db.session.scalar(select(DeliveryAttempt).where(DeliveryAttempt.provider_message_id == wamid))
        assert attempt is not None and attempt.ok


def test_user_id_links_conversation_when_phone_appears_later(
    client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    Phone(client, app, fake, phone=None, user_id=USER_ID).say("1")
    Phone(client, app, fake).say("Siti Rahmawati")
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert db.session.scalar(select(func.count()).select_from(Conversation)) == 1
        assert (conversation.user_id, conversation.phone) == (USER_ID, PHONE)
        assert conversation.data["draft"]["applicant"]["name"] == "Siti Rahmawati"


def test_simulator_plays_the_phone_against_the_real_webhook(app: Flask, tmp_path) -> None:
    pdf = tmp_path / "kk.pdf"
    pdf.write_bytes(PDF_BYTES)
    lines = ["Halo", "1", *ANSWERS, f"/kirim {pdf}", "/keluar"]
    result = app.test_cli_runner().invoke(args=["whatsapp", "simulate", "--port", "0"], input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.output
    assert "KIA > Halo! Selamat datang" in result.output and "1. Ajukan KIA" in result.output
    assert "Kartu Keluarga (KK) diterima" in result.output and "*Akta kelahiran*" in result.output
    assert app.config["WHATSAPP_TOKEN"] == "" and "kia_whatsapp_gateway" not in app.extensions
    with app.app_context():
        conversation = db.session.scalar(select(Conversation))
        assert conversation.state == "intake" and conversation.data["step"] == "doc:akta"


def test_correction_asked_by_the_admin_is_sent_in_the_chat(
    phone: Phone, client: FlaskClient, app: Flask, fake: FakeGraph
) -> None:
    code = submit(client).get_json()["code"]  # the applicant's phone is this WhatsApp number
    assert "Tidak ada permohonan" in phone.say("perbaikan")[0]
    admin = token(client, "admin1")
    task = next(t for t in inbox(client, admin) if t["application_code"] == code)
    response = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=admin,
        json={"decision": "incomplete", "note": "Foto KK buram, mohon kirim ulang."},
    )
    assert response.status_code == 200, response.get_json()
    notice = phone.replies()
    assert len(notice) == 1 and "*perbaikan*" in notice[0] and "Foto KK buram" in notice[0]

    stranger = Phone(client, app, fake, phone="6289900011122", user_id="ID.5550001")
    assert "Tidak ada permohonan" in stranger.say("perbaikan")[0]
    asked = phone.say("perbaikan")[0]
    assert "Foto KK buram" in asked and "Tulis perbaikan" in asked
    assert "terkirim" in phone.say("Foto KK sudah saya perjelas, alamat tetap.")[0]
    view = client.get(f"/api/v1/status/{code}").get_json()
    assert view["status"] == "diajukan" and [c["step"] for c in view["current"]] == ["verify_application"]
    with app.app_context():
        assert db.session.scalar(select(Conversation.state).where(Conversation.phone == PHONE)) == "menu"


def test_no_message_text_reaches_the_log(phone: Phone, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    for text in ["Halo", "1", *ANSWERS[:6]]:
        phone.say(text)
    logged = caplog.text
    assert "whatsapp webhook: 1 message(s) processed" in logged
    for secret in ("1471085005230001", "siti@example.com", "Siti Rahmawati", PHONE):
        assert secret not in logged


def test_a_child_of_five_or_more_needs_the_photo_and_bad_files_are_asked_again(
    phone: Phone, app: Flask, fake: FakeGraph
) -> None:
    answers = [*ANSWERS]
    answers[5], answers[7] = "1471085005190001", "10-05-2019"  # born 2019: seven years old
    for text in ["Halo", "1", *answers]:
        replies = phone.say(text)
    assert "Kartu Keluarga (KK)" in replies[-1]
    refused = phone.send(media_part(fake, b"GIF89a" + b"\x00" * 32, "image/gif", as_document=False))
    assert "PDF, JPEG atau PNG" in refused[0] and "Kartu Keluarga (KK)" in refused[0]
    phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True))
    asked = phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))[-1]
    assert "Pas foto anak 2x3" in asked
    summary = phone.send(media_part(fake, JPEG_BYTES, "image/jpeg", as_document=False))[-1]
    assert "Pas foto anak 2x3: terlampir" in summary
    code = CODE_RE.search(phone.say("ya")[0]).group(1).replace("-", "")
    stored = stored_application(app, code)
    assert stored["kia_kind"] == "5_to_17"
    assert [(kind, media_type) for kind, media_type, *_ in stored["documents"]] == [
        ("akta", "image/png"),
        ("kk", "application/pdf"),
        ("photo", "image/jpeg"),
    ]


def test_the_same_message_delivered_concurrently_is_processed_once(phone: Phone, app: Flask) -> None:
    phone.say("Halo")
    body = message_payload(text_part("1"), message_id="wamid.RACE")
    results: list[int] = []

    def deliver() -> None:
        results.append(post(app.test_client(), body).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [200, 200, 200]
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count()).select_from(InboundMessage).where(InboundMessage.message_id == "wamid.RACE")
            )
            == 1
        )
        assert db.session.scalar(select(Conversation.data))["step"] == "applicant.name"
    assert len(phone.replies()) == 2  # "kita mulai" and the first question, once


def test_the_scheduler_delivers_replies_in_the_background(
    client: FlaskClient, app: Flask, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    monkeypatch.setitem(app.config, "OUTBOX_INTERVAL_SECONDS", 0.5)
    for key in ("kia_scheduler", "kia_outbox_scheduler"):
        monkeypatch.setitem(app.extensions, key, None)  # removed again after the test
    sweeper = start_scheduler(app)
    try:
        fake.inbound(PHONE, USER_ID)  # the person wrote: free-form replies may go for 24 hours
        assert post(client, message_payload(text_part("Halo"))).status_code == 200
        received = fake.wait_for_messages(PHONE, 1, timeout=15)
    finally:
        sweeper.stop()
    assert len(received) == 1 and "Ajukan KIA" in received[0]["text"]["body"]

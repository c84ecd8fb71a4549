"""Nothing kept that was said to be deleted (issue 14 point 6), through a real HTTP server on SQLite and
PostgreSQL: ``batal`` in the chat deletes the uploaded files and the answers; sent messages that held
personal data are blanked after delivery; the daily clean-up removes files no row refers to and the
documents of applications handed over longer ago than the retention period, keeping the control card
and the history.
"""

from __future__ import annotations

import os
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from api import outbox
from api.extensions import db
from api.scheduler import Sweeper
from engine.kia import applications, documents
from engine.models import Conversation, Event, Outbox
from engine.ops import retention
from engine.workflow.clock import clock
from handlers.whatsapp.fake_graph import FakeGraph

from . import test_log_privacy
from .helpers import PDF_BYTES, PNG_BYTES, application_data, submit, token
from .scripted import WALK, finish
from .test_log_privacy import HttpClient
from .whatsapp_helpers import ANSWERS, PHONE, Phone, configure, media_part, post, status_payload

server = test_log_privacy.server  # the app served by werkzeug in a thread

OTHER_PDF = b"%PDF-1.4\n% a scan only this chat sent\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def files_in(app: Flask) -> set[str]:
    return {p.name for p in Path(app.config["DOCUMENT_DIR"]).rglob("*") if p.is_file()}


def conversation(app: Flask) -> Conversation:
    with app.app_context():
        return db.session.scalar(select(Conversation).where(Conversation.phone == PHONE))


def test_batal_deletes_the_chats_files_and_answers_but_not_a_file_an_application_needs(
    app: Flask, server: str, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    http = HttpClient(server)
    assert submit(http, application_data(), {"kk": PDF_BYTES, "akta": PNG_BYTES}).status_code == 201
    kept = files_in(app)
    phone = Phone(http, app, fake)  # type: ignore[arg-type]
    for answer in ["Halo", "1", *ANSWERS]:
        phone.say(answer)
    phone.send(media_part(fake, OTHER_PDF, "application/pdf", as_document=True))  # only this chat's
    phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))  # also an application's
    draft = conversation(app).data
    assert draft["draft"]["child"]["nik"] and set(draft["documents"]) == {"kk", "akta"}
    only_here = retention.draft_digests(draft) - kept
    assert len(only_here) == 1 and only_here <= files_in(app)

    replies = phone.say("batal")
    assert any("dihapus" in r for r in replies), replies
    chat = conversation(app)
    assert chat.state == "menu" and not {"draft", "documents", "step"} & set(chat.data)
    assert files_in(app) == kept  # the chat's own file is gone, the application's stays
    with app.app_context():
        sent = list(db.session.scalars(select(Outbox).where(Outbox.kind == "chat_reply", Outbox.status == "sent")))
        assert sent and {row.payload["text"] for row in sent} == {retention.BLANKED_TEXT}


def hand_over(http: HttpClient) -> str:
    created = submit(http, application_data(), {"kk": PDF_BYTES, "akta": PNG_BYTES})
    assert created.status_code == 201, created.get_json()
    code = created.get_json()["code"]
    for user, data in WALK:
        finish(http, user, code, data)  # type: ignore[arg-type]
    return code


def handed_over_days_ago(app: Flask, code: str, days: int) -> None:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        assert instance.completed_at is not None
        instance.completed_at = clock.now() - timedelta(days=days)
        db.session.commit()


def test_the_clean_up_deletes_old_documents_keeping_the_control_card_and_orphan_files(app: Flask, server: str) -> None:
    http = HttpClient(server)
    admin = token(http, "admin1")
    old, recent = hand_over(http), hand_over(http)
    handed_over_days_ago(app, old, 400)
    handed_over_days_ago(app, recent, 100)
    card_before = http.get(f"/api/v1/applications/{old}/control-card", headers=admin).get_json()
    old_docs = http.get(f"/api/v1/applications/{old}", headers=admin).get_json()["documents"]
    assert old_docs

    directory = app.config["DOCUMENT_DIR"]
    orphan = documents.store(directory, b"%PDF-1.4\n% nobody's\n%%EOF\n", "application/pdf")
    fresh_orphan = documents.store(directory, b"%PDF-1.4\n% just stored\n%%EOF\n", "application/pdf")
    a_day_ago = time.time() - 86400
    os.utime(documents.path_of(directory, orphan.sha256), (a_day_ago, a_day_ago))
    leftover = documents.path_of(directory, orphan.sha256).parent / f".{orphan.sha256[:12]}.x.tmp"
    leftover.write_bytes(b"half")
    os.utime(leftover, (a_day_ago, a_day_ago))

    result = app.test_cli_runner().invoke(args=["cleanup"])
    assert result.exit_code == 0, result.output
    assert "1 application" in result.output, result.output

    detail = http.get(f"/api/v1/applications/{old}", headers=admin).get_json()
    assert detail["documents"] == []
    [deleted] = [e for e in detail["history"] if e["kind"] == "documents_deleted"]
    assert deleted["detail"]["count"] == len(old_docs) and deleted["detail"]["retention_days"] == 365
    assert http.get(old_docs[0]["url"], headers=admin).status_code == 404
    card_after = http.get(f"/api/v1/applications/{old}/control-card", headers=admin).get_json()
    assert card_after == card_before  # the control card and the history stay
    assert http.get(f"/api/v1/applications/{old}/control-card.pdf", headers=admin).status_code == 200
    assert http.get(f"/api/v1/applications/{recent}", headers=admin).get_json()["documents"]  # within 365 days

    names = files_in(app)
    assert orphan.sha256 not in names and leftover.name not in names
    assert fresh_orphan.sha256 in names  # younger than the grace period: maybe a row is about to name it
    with app.app_context():
        recent_app = applications.by_code(db.session, recent)
        assert {d.sha256 for d in recent_app.documents} <= names  # shared files the recent one needs stay

    again = app.test_cli_runner().invoke(args=["cleanup", "--retention-days", "50"])
    assert again.exit_code == 0, again.output
    assert http.get(f"/api/v1/applications/{recent}", headers=admin).get_json()["documents"] == []
    with app.app_context():
        assert db.session.query(Event).filter(Event.kind == "documents_deleted").count() == 2


def test_sent_messages_with_personal_data_are_blanked_once_nothing_can_send_them_again(
    app: Flask, server: str, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The officer's note goes as a template (the applicant never wrote: outside the 24-hour window). It
    keeps its text while a ``failed`` status could still send it again (as a template or by e-mail);
    the ``delivered`` status blanks its text and template parameters. A chat reply is blanked once sent,
    and the clean-up blanks what was sent before this was done at delivery."""
    configure(app, fake, monkeypatch)
    http = HttpClient(server)
    data = {**application_data(), "whatsapp_consent": True}  # WhatsApp notices need consent (issue 18)
    code = submit(http, data, {"kk": PDF_BYTES, "akta": PNG_BYTES}).get_json()["code"]
    note = "Nama ibu Siti Rahmawati pada KK tidak terbaca."
    finish(http, "admin1", code, {"decision": "incomplete", "note": note})  # type: ignore[arg-type]
    with app.app_context():  # a message sent before the worker blanked: the clean-up blanks it
        db.session.add(
            Outbox(
                channel="whatsapp",
                kind="chat_reply",
                recipient=PHONE,
                payload={"text": "Ringkasan: NIK 1471085005230001"},
                status="sent",
                sent_at=clock.now(),
                next_attempt_at=clock.now(),
                created_at=clock.now(),
            )
        )
        db.session.commit()
    report = outbox.deliver(app)
    assert report.sent and not report.failed
    (template,) = [m for m in fake.messages_to(PHONE) if m.get("type") == "template"]
    body = [c for c in template["template"]["components"] if c["type"] == "body"][0]
    assert note in [p["text"] for p in body["parameters"]]

    def correction_note() -> dict:
        with app.app_context():
            row = db.session.scalars(select(Outbox).where(Outbox.kind == "correction_note")).one()
            return {"status": row.status, **row.payload}

    assert correction_note()["text"] != retention.BLANKED_TEXT  # a failed status may still need it
    assert post(http, status_payload(template["id"], "delivered")).status_code == 200  # type: ignore[arg-type]
    sent = correction_note()
    assert sent["status"] == "delivered" and sent["text"] == retention.BLANKED_TEXT
    assert note not in str(sent) and sent["code"] == code  # what is not personal stays
    assert app.test_cli_runner().invoke(args=["cleanup"]).exit_code == 0
    with app.app_context():
        replies = db.session.scalars(select(Outbox).where(Outbox.kind == "chat_reply"))
        assert [row.payload.get("text") for row in replies] == [retention.BLANKED_TEXT]


def test_a_whatsapp_notice_without_any_status_is_blanked_by_the_clean_up_after_the_wait(
    app: Flask, server: str, fake: FakeGraph, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    http = HttpClient(server)
    code = submit(http, {**application_data(), "whatsapp_consent": True}, {"kk": PDF_BYTES, "akta": PNG_BYTES})
    note = "Akta kelahiran atas nama Budi tidak terbaca."
    finish(http, "admin1", code.get_json()["code"], {"decision": "incomplete", "note": note})  # type: ignore[arg-type]
    assert outbox.deliver(app).sent

    def note_payload() -> dict:
        with app.app_context():
            return db.session.scalars(select(Outbox).where(Outbox.kind == "correction_note")).one().payload

    def clean_up(now: datetime) -> int:
        with app.app_context():
            sessions = sessionmaker(bind=db.engine, expire_on_commit=False)
            return retention.run(sessions, app.config["DOCUMENT_DIR"], now=now).blanked_messages

    assert clean_up(clock.now()) == 0
    assert note in note_payload()["parameters"]  # within the wait: a failed status may still need it
    assert clean_up(clock.now() + retention.STATUS_WAIT + timedelta(minutes=1)) == 1
    assert note not in str(note_payload())


def test_the_scheduler_runs_the_clean_up_daily(app: Flask) -> None:
    sweeper = Sweeper(app)
    sweeper.start()
    try:
        job = sweeper.scheduler.get_job("cleanup")
        assert job is not None and job.trigger.interval == timedelta(days=1)
    finally:
        sweeper.stop()

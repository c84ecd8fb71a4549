"""Issue 14 point 2: anonymous submissions are limited per client, and a child has one open application.

Against a real HTTP server (werkzeug in a thread) on SQLite and PostgreSQL, each client bound to its own
127.0.0.x address: past the hourly limit a client gets 429 with Retry-After while another address goes
on; the WhatsApp intake is limited per WhatsApp user with a polite reply (the webhook still answers Meta
200); a second open application for the same child NIK is refused (409 ``duplicate_application`` by the
API, a reply in the chat) with an Indonesian message that names no code.
"""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any

import httpx
import pytest
from flask import Flask

from api.extensions import db
from engine.kia import applications
from engine.models import Application

from . import test_log_privacy
from .helpers import PDF_BYTES, PNG_BYTES, application_data
from .whatsapp_helpers import ANSWERS, Phone, configure, media_part

server = test_log_privacy.server  # the app served by werkzeug in a thread (a fixture)


def nik(n: int) -> str:
    return f"147108500523{n:04d}"  # girls born 2023-05-10 in Binawidya


def post_application(client: httpx.Client, data: dict[str, Any]) -> httpx.Response:
    files = {"kk": ("kk.pdf", io.BytesIO(PDF_BYTES)), "akta": ("akta.png", io.BytesIO(PNG_BYTES))}
    return client.post("/api/v1/applications", data={"data": json.dumps(data)}, files=files)


def from_address(base: str, n: int) -> httpx.Client:
    return httpx.Client(base_url=base, timeout=60, transport=httpx.HTTPTransport(local_address=f"127.0.0.{n}"))


def test_submissions_are_limited_per_client_and_per_child(
    app: Flask, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", 3)
    with from_address(server, 2) as first:
        created = [post_application(first, application_data(nik=nik(n))) for n in (1, 2, 3)]
        assert [r.status_code for r in created] == [201] * 3, [r.text for r in created]
        refused = post_application(first, application_data(nik=nik(4)))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "rate_limited"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert "Terlalu banyak permohonan" in refused.json()["error"]["message"]
        # a forwarded-for header does not make another client of it
        forged = first.post("/api/v1/applications", headers={"X-Forwarded-For": "198.51.100.7"})
        assert forged.status_code == 429
    with from_address(server, 3) as second:
        assert post_application(second, application_data(nik=nik(4))).status_code == 201
        # the same child again, from anywhere: refused, told to follow the open one, no code given away
        duplicate = post_application(second, application_data(nik=nik(1)))
        assert duplicate.status_code == 409, duplicate.text
        error = duplicate.json()["error"]
        assert error["code"] == "duplicate_application" and "Ikuti permohonan tersebut" in error["message"]
        assert all(r.json()["code"] not in duplicate.text for r in created)
        assert all(r.json()["display_code"] not in duplicate.text for r in created)


def test_two_submissions_of_one_child_at_once_give_one_application(
    app: Flask, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The duplicate check is a read before the insert: the first submission is held for a second after
    its check (before it stores anything), while the second comes in. Both passed before; now the second
    waits for the first to commit and is refused (PostgreSQL: a lock on the NIK; SQLite: one writer)."""
    submit = applications.submit
    arrived = threading.Event()

    def slow_submit(*args: Any, **kwargs: Any) -> Any:
        if not arrived.is_set():  # the first one: let the second start its check meanwhile
            arrived.set()
            time.sleep(1.0)
        return submit(*args, **kwargs)

    monkeypatch.setattr(applications, "submit", slow_submit)
    answers: list[httpx.Response] = []

    def post(n: int) -> None:
        with from_address(server, n) as client:
            answers.append(post_application(client, application_data(nik=nik(7))))

    first = threading.Thread(target=post, args=(4,))
    first.start()
    assert arrived.wait(30)
    post(5)
    first.join(60)
    assert sorted(r.status_code for r in answers) == [201, 409], [r.text for r in answers]
    with app.app_context():
        assert db.session.query(Application).filter_by(child_nik=nik(7)).count() == 1


def chat_application(phone: Phone, fake: Any, child_nik: str) -> list[str]:
    answers = list(ANSWERS)
    answers[5] = child_nik
    for answer in ["Halo", "1", *answers]:
        phone.say(answer)
    phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True))
    phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))
    return phone.say("ya")


def test_whatsapp_intake_is_limited_per_whatsapp_user_with_a_polite_reply(
    app: Flask, server: str, fake: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    monkeypatch.setitem(app.config, "SUBMIT_RATE_LIMIT", 1)
    http = test_log_privacy.HttpClient(server)
    busy = Phone(http, app, fake, phone="6285200000001", user_id="ID.busy")  # type: ignore[arg-type]
    assert any("PIN: *" in r for r in chat_application(busy, fake, nik(11)))
    second = chat_application(busy, fake, nik(12))  # the webhook itself answered Meta 200 (Phone checks)
    assert len(second) == 1 and "Mohon maaf" in second[0] and "coba lagi dalam" in second[0], second
    assert "PIN" not in second[0]

    other = Phone(http, app, fake, phone="6285200000002", user_id="ID.other")  # type: ignore[arg-type]
    duplicate = chat_application(other, fake, nik(11))  # another user, the same child
    assert len(duplicate) == 1 and "sedang diproses" in duplicate[0] and "PIN" not in duplicate[0], duplicate
    third = Phone(http, app, fake, phone="6285200000003", user_id="ID.third")  # type: ignore[arg-type]
    assert any("PIN: *" in r for r in chat_application(third, fake, nik(13)))  # another child: accepted

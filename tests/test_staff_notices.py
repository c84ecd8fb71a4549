"""Escalations reach officers: in the app (API and the bell on every page), by e-mail through a real SMTP
server on loopback for those who asked for it; who is told depends on the level."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as email_policy

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import outbox
from api.extensions import db
from engine.kia import notifications
from engine.models import Outbox, User
from handlers.delivery import CHANNELS

from . import test_log_privacy
from .helpers import Mailbox, token
from .scripted import at, new_application, sweep
from .test_log_privacy import HttpClient
from .test_web_pages import csrf_of, sign_in

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does


@pytest.fixture
def client(server: str) -> HttpClient:
    """Every request of this module goes to the real HTTP server (the test client's calls, over a socket)."""
    return HttpClient(server)


def notices_of(client: FlaskClient, username: str) -> dict:
    response = client.get("/api/v1/notifications", headers=token(client, username))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_overrunning_verification_tells_the_admin_lane_then_the_supervisor(
    client: FlaskClient, app: Flask, smtp: Mailbox, working_time: None
) -> None:
    admin = token(client, "admin1")
    response = client.put("/api/v1/users/me", json={"email": "admin1@kia.example", "notify_email": True}, headers=admin)
    assert response.status_code == 200 and response.get_json()["notify_email"] is True
    at("2027-09-02 10:00")  # a Thursday, a working day: verification's standard is one working hour
    code = new_application(client)
    shown = f"{code[:4]}-{code[4:8]}-{code[8:]}"
    at("2027-09-02 11:00")
    assert sweep(app) == 1

    listed = notices_of(client, "admin1")
    assert listed["unread"] == 1
    (notice,) = listed["items"]
    assert notice["level"] == 1 and notice["application_code"] == code and notice["read_at"] is None
    assert notice["title"].startswith("Eskalasi tingkat 1: Verifikasi")
    assert shown in notice["body"] and "Admin KIA WhatsApp" in notice["body"] and "terlambat" in notice["body"]
    assert notice["task_url"] == f"/petugas/tugas/{notice['task_id']}"
    assert notices_of(client, "admin2")["unread"] == 1  # the whole lane
    for other in ("supervisor1", "operator1", "uptd_binawidya"):  # level 1: the lane only
        assert notices_of(client, other) == {"unread": 0, "items": []}

    # the admin asked for e-mail: it goes through the outbox to the SMTP server
    outbox.deliver(app)
    ((_, rcpt, content),) = smtp.messages
    mail = message_from_bytes(content, policy=email_policy)
    assert rcpt == ["admin1@kia.example"] and mail["Subject"].strip() == notice["title"]
    assert f"http://kia.test/petugas/tugas/{notice['task_id']}" in mail.get_content()

    # level 2, one working hour later: the supervisor too, and how late it is in working time
    at("2027-09-02 12:00")
    assert sweep(app) == 1
    (supervised,) = notices_of(client, "supervisor1")["items"]
    assert supervised["level"] == 2 and "terlambat 1 jam kerja" in supervised["body"]
    assert [n["level"] for n in notices_of(client, "admin1")["items"]] == [2, 1]  # newest first

    # the bell on the page; reading a notice opens its task and lowers the count
    sign_in(client, "admin1")
    page = client.get("/petugas/tugas")
    assert 'id="bell-unread">2<' in page.text and "Eskalasi tingkat 2: Verifikasi" in page.text
    opened = client.post(
        f"/petugas/pemberitahuan/{notice['id']}/baca", data={"csrf_token": csrf_of(page.text), "open": "1"}
    )
    assert opened.status_code == 302 and opened.headers["Location"].endswith(notice["task_url"])
    assert client.get(notice["task_url"]).status_code == 200
    assert notices_of(client, "admin1")["unread"] == 1
    listing = client.get("/petugas/pemberitahuan")
    assert listing.status_code == 200 and "Eskalasi tingkat 1: Verifikasi" in listing.text

    with app.app_context():
        channels = set(db.session.scalars(select(Outbox.channel)))
    assert channels <= set(CHANNELS)  # no row waits on a channel no sender handles


def test_marking_read_over_the_api_only_ones_own(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    new_application(client)
    at("2027-09-02 11:00")
    sweep(app)
    (mine,) = notices_of(client, "admin1")["items"]
    refused = client.post(f"/api/v1/notifications/{mine['id']}/read", headers=token(client, "admin2"))
    assert refused.status_code == 404
    done = client.post(f"/api/v1/notifications/{mine['id']}/read", headers=token(client, "admin1"))
    assert done.status_code == 200 and done.get_json()["read_at"] is not None
    assert notices_of(client, "admin1")["unread"] == 0
    assert client.get("/api/v1/notifications").status_code == 401


def test_contact_details_are_set_by_a_supervisor_or_the_user_with_field_messages(
    client: FlaskClient, app: Flask
) -> None:
    supervisor, admin = token(client, "supervisor1"), token(client, "admin1")
    changed = client.put(
        "/api/v1/users/admin2", json={"phone": "0812-3456-7899", "notify_whatsapp": True}, headers=supervisor
    )
    assert changed.status_code == 200, changed.get_json()
    assert (changed.get_json()["phone"], changed.get_json()["notify_whatsapp"]) == ("6281234567899", True)
    assert client.put("/api/v1/users/admin2", json={"phone": None}, headers=admin).status_code == 403
    assert client.get("/api/v1/users/admin2", headers=admin).status_code == 403
    assert client.get("/api/v1/users/me", headers=token(client, "admin2")).get_json()["phone"] == "6281234567899"
    refused = client.put("/api/v1/users/me", json={"notify_email": True, "phone": "12"}, headers=admin)
    assert refused.status_code == 422
    assert "phone" in refused.get_json()["error"]["fields"]
    no_address = client.put("/api/v1/users/me", json={"notify_email": True}, headers=admin)
    assert no_address.status_code == 422
    assert "e-mail" in no_address.get_json()["error"]["fields"]["notify_email"][0]
    assert client.get("/api/v1/users/nobody", headers=supervisor).status_code == 404


def test_whatsapp_notices_to_officers_go_through_the_outbox(client: FlaskClient, app: Flask) -> None:
    client.put(
        "/api/v1/users/me", json={"phone": "081299990001", "notify_whatsapp": True}, headers=token(client, "admin2")
    )
    at("2027-09-02 10:00")
    new_application(client)
    at("2027-09-02 11:00")
    sweep(app)
    with app.app_context():
        rows = list(db.session.scalars(select(Outbox).where(Outbox.kind == notifications.STAFF_NOTICE)))
    assert [(r.channel, r.recipient) for r in rows] == [("whatsapp", "6281299990001")]
    assert rows[0].payload["parameters"][0].startswith("Eskalasi tingkat 1")


def _user(username: str, roles: str, kecamatan: str | None = None) -> User:
    return User(id=hash(username) % 1000, username=username, roles=roles, kecamatan=kecamatan, active=True)


def test_who_is_told_per_level_and_the_uptd_lane_by_kecamatan() -> None:
    staff = [
        _user("a", "admin"),
        _user("u1", "uptd", "14.71.08"),
        _user("u2", "uptd", "14.71.01"),
        _user("s", "supervisor"),
        _user("o", "operator"),
    ]
    names = lambda users: sorted(u.username for u in users)  # noqa: E731
    assert names(notifications.recipients(staff, {"lane"}, "uptd", "14.71.08")) == ["u1"]
    assert names(notifications.recipients(staff, {"lane", "supervisor"}, "admin")) == ["a", "s"]
    notifications.configure("1=lane;3=lane,supervisor,operator", "http://kia.test")
    try:
        assert notifications.audiences_for(1) == notifications.audiences_for(2) == {"lane"}
        assert notifications.audiences_for(5) == {"lane", "supervisor", "operator"}
    finally:
        notifications.configure(notifications.DEFAULT_RECIPIENTS, "http://kia.test")
    for bad in ("", "x=lane", "1=", "1=lane;2=Kepala Dinas"):
        with pytest.raises(ValueError):
            notifications.parse_recipients(bad)


def test_the_cli_sets_contact_details(app: Flask) -> None:
    runner = app.test_cli_runner()
    done = runner.invoke(args=["users", "contact", "admin1", "--email", "admin1@kia.example", "--notify-email"])
    assert done.exit_code == 0, done.output
    assert "e-mail" in done.output
    refused = runner.invoke(args=["users", "contact", "admin1", "--notify-whatsapp"])
    assert refused.exit_code != 0 and "WhatsApp" in refused.output
    assert runner.invoke(args=["users", "contact", "nobody", "--email", "x@y.example"]).exit_code != 0
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "admin1"))
        assert (user.email, user.notify_email, user.notify_whatsapp) == ("admin1@kia.example", True, False)
        db.session.rollback()

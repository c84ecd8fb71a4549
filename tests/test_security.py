"""Authentication, sessions, security headers, the status endpoint's privacy, and the audit log."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from api.extensions import db
from engine.kia.security import new_code
from engine.models import ApiToken, AuditEntry, User
from engine.workflow.clock import clock

from .helpers import PASSWORD, application_data, inbox, submit, token

PERSONAL = application_data()


def personal_values(data: dict = PERSONAL) -> list[str]:
    """NIK, KK number, phone, e-mail, address and the full names of one application."""
    child, applicant = data["child"], data["applicant"]
    return [
        child["nik"],
        child["kk_number"],
        applicant["phone"],
        applicant["email"],
        child["address"],
        child["name"],
        applicant["name"],
        child["akta_number"],
    ]


def assert_no_personal_data(body: object, data: dict = PERSONAL) -> None:
    dumped = json.dumps(body, ensure_ascii=False, default=str)
    for value in personal_values(data):
        assert value not in dumped, f"personal data {value[:3]}... in {dumped[:200]}"


def submitted(client: FlaskClient) -> dict:
    response = submit(client)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# --- passwords and tokens -------------------------------------------------------------------------


def test_passwords_are_stored_as_argon2_hashes(app: Flask) -> None:
    with app.app_context():
        user = db.session.query(User).filter_by(username="admin1").one()
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash


def test_tokens_are_stored_hashed_and_expire(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 24 * 3600)  # the lifetime, not the idle time
    headers = token(client, "admin1")
    raw = headers["Authorization"].split()[1]
    with app.app_context():
        stored = [t.token_hash for t in db.session.query(ApiToken)]
    assert raw not in stored and len(stored) == 1
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=app.config["TOKEN_TTL_SECONDS"] - 5))
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=10))
    response = client.get("/api/v1/tasks", headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.get_json()["error"]["code"] == "unauthorized"


def test_revoked_token_is_refused_and_others_keep_working(client: FlaskClient) -> None:
    first, second = token(client, "admin1"), token(client, "admin1")
    assert client.post("/api/v1/auth/revoke", headers=first).status_code == 204
    assert client.get("/api/v1/tasks", headers=first).status_code == 401
    assert client.post("/api/v1/auth/revoke", headers=first).status_code == 204  # harmless twice
    assert client.get("/api/v1/tasks", headers=second).status_code == 200
    assert client.post("/api/v1/auth/revoke").status_code == 401


def test_bad_bearer_values_are_401(client: FlaskClient) -> None:
    for value in ("Bearer ", "Bearer " + "x" * 500, "Basic YWRtaW46eA==", "Bearer \u00e9\u00e9", "bearer abc"):
        response = client.get("/api/v1/tasks", headers={"Authorization": value})
        assert response.status_code == 401, value


def freeze_mid_minute() -> None:
    """Freeze the clock at second 0 of the next minute, so a whole fixed window lies ahead."""
    now = clock.now()
    clock.freeze(now.replace(second=0, microsecond=0) + timedelta(minutes=1))


def test_repeated_failed_sign_ins_get_429(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", 5)
    freeze_mid_minute()  # the limit counts per minute: a real clock could roll over mid-test
    codes = [
        client.post("/api/v1/auth/token", json={"username": "admin1", "password": f"salah-{i}"}).status_code
        for i in range(8)
    ]
    assert codes[:5] == [401] * 5 and codes[5:] == [429] * 3
    blocked = client.post("/api/v1/auth/token", json={"username": "admin1", "password": PASSWORD})
    assert blocked.status_code == 429 and int(blocked.headers["Retry-After"]) > 0
    # another account is not locked by someone guessing admin1's password
    assert client.post("/api/v1/auth/token", json={"username": "admin2", "password": PASSWORD}).status_code == 200
    # the applicant PIN is limited per client the same way
    code = submitted(client)["code"]
    pins = [client.post("/api/v1/auth/token", json={"code": code, "pin": "000000"}).status_code for _ in range(7)]
    assert 429 in pins and pins[0] == 401
    clock.advance(timedelta(minutes=2))
    assert client.post("/api/v1/auth/token", json={"username": "admin1", "password": PASSWORD}).status_code == 200


# --- headers --------------------------------------------------------------------------------------


def test_security_headers_on_api_answers(client: FlaskClient) -> None:
    for response in (
        client.get("/api/v1/openapi.json"),
        client.get("/api/v1/status/XXXX"),
        client.post("/api/v1/auth/token", json={}),
    ):
        h = response.headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert h["Referrer-Policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in h["Content-Security-Policy"]
        assert h["Cache-Control"] == "no-store"
        assert "Strict-Transport-Security" not in h  # off unless configured (HTTPS deployments)


def test_pages_get_a_content_security_policy_and_hsts_when_configured(database_url: str, app_factory) -> None:
    app = app_factory(database_url, HSTS_SECONDS=31536000)
    app.add_url_rule("/_page", "page", lambda: "<!doctype html><title>x</title>")
    response = app.test_client().get("/_page")
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.headers["X-Frame-Options"] == "DENY"


# --- the public status endpoint --------------------------------------------------------------------


def test_status_resists_enumeration(client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    real = submitted(client)["code"]
    monkeypatch.setitem(app.config, "STATUS_RATE_LIMIT", 60)
    freeze_mid_minute()
    guesses = [new_code() for _ in range(55)]
    assert real not in guesses
    answers = [client.get(f"/api/v1/status/{code}") for code in guesses]
    assert {r.status_code for r in answers} == {404}
    assert len({r.data for r in answers}) == 1  # a miss says nothing about the code
    for odd in ("", "%00", "A" * 500, "../../etc/passwd"):
        assert client.get(f"/api/v1/status/{odd}").status_code in {400, 404}
    limited = [client.get(f"/api/v1/status/{new_code()}").status_code for _ in range(5)]
    assert limited[-1] == 429
    assert client.get(f"/api/v1/status/{real}").status_code == 429  # limited per client, hit or miss
    clock.advance(timedelta(minutes=1))
    assert client.get(f"/api/v1/status/{real}").status_code == 200


def test_status_and_submission_answers_hold_no_personal_data(client: FlaskClient) -> None:
    created = submitted(client)
    assert_no_personal_data(created)
    code = created["code"]
    anonymous = client.get(f"/api/v1/status/{code}").get_json()
    assert anonymous["name"] == "A***** P**** R********"
    assert_no_personal_data(anonymous)
    admin = token(client, "admin1")
    [task] = [t for t in inbox(client, admin) if t["application_code"] == code]
    client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "incomplete", "note": "Foto KK buram."}
    )
    pin_token = client.post("/api/v1/auth/token", json={"code": code, "pin": created["pin"]}).get_json()
    signed_in = client.get(
        f"/api/v1/status/{code}", headers={"Authorization": f"Bearer {pin_token['access_token']}"}
    ).get_json()
    assert signed_in["notes"] and signed_in["tasks"]
    assert_no_personal_data(signed_in)


# --- audit log -------------------------------------------------------------------------------------


def _audit(client: FlaskClient, headers: dict, **params: str):  # noqa: ANN202
    return client.get("/api/v1/audit", headers=headers, query_string=params)


def test_every_staff_action_is_audited_and_readable_by_supervisors(client: FlaskClient) -> None:
    since = (clock.now() - timedelta(seconds=1)).isoformat()
    code = submitted(client)["code"]
    admin = token(client, "admin1")
    [task] = [t for t in inbox(client, admin) if t["application_code"] == code]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=admin).status_code == 200
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "complete"}).status_code
        == 200
    )
    assert client.get(f"/api/v1/applications/{code}", headers=admin).status_code == 200
    client.post("/api/v1/auth/token", json={"username": "admin1", "password": "salah-sekali"})
    client.post("/api/v1/auth/token", json={"username": "1471085005230001", "password": "x"})

    supervisor = token(client, "supervisor1")
    # the window ends now: the audit log is kept between tests, and a test that froze the clock days ahead
    # left entries dated then (from another address, too)
    window = {"from": since, "to": (clock.now() + timedelta(seconds=1)).isoformat()}
    response = _audit(client, supervisor, **window, actor="admin1")
    assert response.status_code == 200, response.get_json()
    items = response.get_json()["items"]
    actions = [(e["action"], e["method"], e["target"], e["status"]) for e in items]
    assert ("sign_in", "POST", None, 200) in actions and ("sign_in_failed", "POST", None, 401) in actions
    assert ("tasks.Claim", "POST", task["id"], 200) in actions
    assert ("tasks.Complete", "POST", task["id"], 200) in actions
    assert ("applications.ApplicationItem", "GET", code, 200) in actions
    assert all(e["actor"] == "admin1" and e["client_ip"] == "127.0.0.1" for e in items)
    assert all(datetime.fromisoformat(e["at"]) >= datetime.fromisoformat(since) for e in items)
    # a sign-in with an unknown name (here: someone's NIK typed by mistake) is kept without that name
    everyone = _audit(client, supervisor, **window, limit="1000").get_json()["items"]
    assert "1471085005230001" not in json.dumps(everyone)
    assert any(e["actor"] == "unknown" and e["action"] == "sign_in_failed" for e in everyone)
    # applicants are not staff: their submission is not in the staff audit log
    # (only their PIN sign-in failures are, under "pemohon": another test's may fall in the window)
    assert all(e["actor"] != "pemohon" or e["action"].startswith("pin_") for e in everyone)
    until = _audit(client, supervisor, **{"from": since, "to": since}).get_json()
    assert until == {"items": [], "total": 0}

    assert _audit(client, admin).status_code == 403
    assert _audit(client, {}).status_code == 401
    assert _audit(client, supervisor, **{"from": "kemarin"}).status_code == 422


def test_audit_log_is_append_only(client: FlaskClient, app: Flask) -> None:
    token(client, "admin1")
    with app.app_context():
        count = db.session.query(AuditEntry).count()
        assert count > 0
        for statement in ("UPDATE audit_log SET actor = 'someone'", "DELETE FROM audit_log"):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        if db.engine.dialect.name == "postgresql":
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text("TRUNCATE audit_log"))
            db.session.rollback()
        assert db.session.query(AuditEntry).count() == count
        assert db.session.query(AuditEntry).filter_by(actor="someone").count() == 0

"""Application codes, PINs, applicant tokens and rate limits (issue 2, point 7 and 8)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from flask import Flask
from flask.testing import FlaskClient

from engine.kia.security import CODE_ALPHABET, CODE_LENGTH, new_code, normalize_code
from engine.workflow.clock import clock

from .helpers import inbox, submit, token


def test_codes_have_enough_randomness_in_an_unambiguous_alphabet() -> None:
    import math

    assert CODE_LENGTH * math.log2(len(CODE_ALPHABET)) >= 50
    assert not set("0O1IL") & set(CODE_ALPHABET)
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == CODE_LENGTH and set(c) <= set(CODE_ALPHABET) for c in codes)


def test_codes_are_case_insensitive_and_separators_are_ignored(client: FlaskClient) -> None:
    code = submit(client).get_json()["code"]
    spaced = "-".join(code[i : i + 4] for i in range(0, len(code), 4)).lower()
    response = client.get(f"/api/v1/status/{spaced}")
    assert response.status_code == 200 and response.get_json()["code"] == code
    assert normalize_code("0OIL" * 3) is None  # letters outside the alphabet never reach the database


def test_status_is_rate_limited_per_client(app_factory, database_url: str, app: Flask) -> None:  # noqa: ANN001
    limited = app_factory(database_url, STATUS_RATE_LIMIT=5)
    client = limited.test_client()
    clock.freeze(datetime(2026, 11, 30, 3, 0, 10, tzinfo=UTC))  # one window: a minute boundary would reset it
    statuses = [client.get("/api/v1/status/ABCDEFGHJKMN").status_code for _ in range(7)]
    assert statuses[:5] == [404] * 5
    assert statuses[5:] == [429, 429]
    response = client.get("/api/v1/status/ABCDEFGHJKMN")
    assert response.get_json()["error"]["code"] == "rate_limited" and "Retry-After" in response.headers


def test_status_shows_no_personal_data(client: FlaskClient) -> None:
    code = submit(client).get_json()["code"]
    body = client.get(f"/api/v1/status/{code}").get_data(as_text=True)
    for secret in (
        "1471085005230001",
        "1471081506230002",
        "081234567890",
        "6281234567890",
        "siti@example.com",
        "Garuda",
        "Aisyah Putri",
        "Siti Rahmawati",
    ):
        assert secret not in body


def test_pin_is_stored_hashed_and_unknown_codes_cost_the_same(client: FlaskClient, app: Flask) -> None:
    from api.extensions import db
    from engine.models import Application

    created = submit(client).get_json()
    with app.app_context():
        stored = db.session.query(Application).one().pin_hash
    assert created["pin"] not in stored and stored.startswith("$argon2")

    def timed(code: str) -> float:
        start = time.perf_counter()
        response = client.post("/api/v1/auth/token", json={"code": code, "pin": "000000"})
        assert response.status_code == 401
        return time.perf_counter() - start

    # The fastest of several tries is robust to a busy machine; without the dummy hash an unknown code
    # would answer in well under a tenth of the time of a PIN check.
    # (five: the fifth wrong PIN locks the code, and a locked code answers without checking)
    known = min(timed(created["code"]) for _ in range(5))
    unknown = min(timed("ABCDEFGHJKMN") for _ in range(9))
    assert 1 / 3 < known / unknown < 3


def test_applicant_token_reaches_only_its_own_application(client: FlaskClient) -> None:
    mine, other = submit(client).get_json(), submit(client).get_json()
    response = client.post("/api/v1/auth/token", json={"code": mine["code"].lower(), "pin": mine["pin"]})
    applicant = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    assert inbox(client, applicant) == []  # no applicant-lane task is open yet
    assert client.get(f"/api/v1/applications/{other['code']}", headers=applicant).status_code == 403
    full = client.get(f"/api/v1/status/{mine['code']}", headers=applicant).get_json()
    assert "notes" in full
    assert "notes" not in client.get(f"/api/v1/status/{other['code']}", headers=applicant).get_json()
    admin = token(client, "admin1")
    [task] = [t for t in inbox(client, admin) if t["application_code"] == mine["code"]]
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=applicant).status_code == 403
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=applicant).status_code == 403
    assert client.get("/api/v1/processes", headers=applicant).status_code in (401, 403)


def test_staff_only_endpoints_need_a_token(client: FlaskClient) -> None:
    for path in ("/api/v1/tasks", "/api/v1/processes", "/api/v1/applications/ABCDEFGHJKMN"):
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.get_json()["error"]["code"] == "unauthorized"
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.get("/api/v1/tasks", headers=bad).status_code == 401


def test_revoked_token_stops_working(client: FlaskClient) -> None:
    headers = token(client, "admin1")
    assert client.get("/api/v1/tasks", headers=headers).status_code == 200
    assert client.post("/api/v1/auth/revoke", headers=headers).status_code == 204
    assert client.get("/api/v1/tasks", headers=headers).status_code == 401


def test_wrong_password_is_401_in_indonesian(client: FlaskClient) -> None:
    response = client.post("/api/v1/auth/token", json={"username": "admin1", "password": "salah"})
    assert response.status_code == 401
    assert response.get_json()["error"]["message"] == "Nama pengguna atau kata sandi salah."

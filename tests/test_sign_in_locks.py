"""Issue 14 point 3: sign-in failures are counted where more client addresses do not help.

Against a real HTTP server (werkzeug in a thread) on SQLite and PostgreSQL, with each client socket bound
to its own 127.0.0.x source address: the PIN of an application is locked after 5 failures whatever the
address or X-Forwarded-For header, with growing back-off, even for the right PIN; every failure and lock
is in the audit log; a new PIN goes to the application's own e-mail (never shown) and works at once.
Staff sign-in is locked per (account, client), so one address guessing cannot lock the officer out.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from flask import Flask

from api import outbox
from engine.workflow.clock import clock

from . import test_log_privacy
from .helpers import PASSWORD, Mailbox, application_data, submit, token

server = test_log_privacy.server  # the app served by werkzeug in a thread (a fixture)


@pytest.fixture
def frozen() -> Iterator[None]:
    # a day back: the audit log (append-only, shared by the tests) gets no entry from the future
    clock.freeze(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    yield
    clock.reset()


def from_address(base: str, n: int) -> httpx.Client:
    """A client whose requests come from 127.0.0.``n``."""
    return httpx.Client(base_url=base, timeout=60, transport=httpx.HTTPTransport(local_address=f"127.0.0.{n}"))


def pin_sign_in(client: httpx.Client, code: str, pin: str, **headers: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"code": code, "pin": pin}, headers=headers)


def audit_actions(base: str, since: datetime, actor: str | None = None) -> list[dict]:
    supervisor = token(test_log_privacy.HttpClient(base), "supervisor1")
    params = {"from": since.isoformat(), "limit": "1000", **({"actor": actor} if actor else {})}
    answer = httpx.get(f"{base}/api/v1/audit", headers=supervisor, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


def wrong(pin: str) -> str:
    return f"{(int(pin) + 1) % 1_000_000:06d}"


def test_thirty_wrong_pins_from_thirty_addresses_lock_the_code_even_for_the_right_pin(
    app: Flask, server: str, frozen: None
) -> None:
    since = clock.now() - timedelta(seconds=1)
    created = submit(test_log_privacy.HttpClient(server)).get_json()
    code, pin = created["code"], created["pin"]
    answers = []
    for n in range(2, 32):
        with from_address(server, n) as client:
            answers.append(pin_sign_in(client, code, wrong(pin), **{"X-Forwarded-For": f"203.0.113.{n}"}))
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 25
    assert {a.json()["error"]["code"] for a in answers[5:]} == {"sign_in_locked"}

    with from_address(server, 40) as client:
        refused = pin_sign_in(client, code, pin)
        assert refused.status_code == 429, refused.text
        assert 0 < int(refused.headers["Retry-After"]) <= 60
        assert "PIN salah terlalu sering" in refused.json()["error"]["message"]
        # the status page's PIN form is the same lock
        page = client.get(f"/status/{code}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        form = client.post(f"/status/{code}/pin", data={"pin": pin, "csrf_token": csrf})
        assert form.status_code == 429 and "PIN salah terlalu sering" in form.text

    # every failure and the lock are audited under "pemohon" with the code, from their addresses
    entries = [e for e in audit_actions(server, since, "pemohon") if e["target"] == code]
    counts = Counter(e["action"] for e in entries)
    assert counts["pin_failed"] == 5 and counts["pin_locked"] == 1 and counts["pin_refused_locked"] == 27
    assert {e["client_ip"] for e in entries if e["action"] == "pin_failed"} == {f"127.0.0.{n}" for n in range(2, 7)}
    assert pin not in json.dumps(entries) and created["code"] not in {e["actor"] for e in entries}

    # growing back-off: after the minute one more wrong PIN locks for two, then four
    clock.advance(timedelta(seconds=61))
    with from_address(server, 41) as client:
        again = pin_sign_in(client, code, wrong(pin))
        assert again.status_code == 401
        assert pin_sign_in(client, code, pin).status_code == 429
        clock.advance(timedelta(seconds=121))
        assert pin_sign_in(client, code, wrong(pin)).status_code == 401
        locked = pin_sign_in(client, code, pin)
        assert locked.status_code == 429 and 180 < int(locked.headers["Retry-After"]) <= 240
        clock.advance(timedelta(seconds=241))
        assert pin_sign_in(client, code, pin).status_code == 200  # the right PIN once the lock is over
        assert pin_sign_in(client, code, wrong(pin)).status_code == 401  # and the count started again


def test_a_new_pin_goes_to_the_applications_own_email_and_lifts_the_lock(
    app: Flask, server: str, frozen: None, smtp: Mailbox
) -> None:
    data = application_data()
    created = submit(test_log_privacy.HttpClient(server), data).get_json()
    code, old_pin = created["code"], created["pin"]
    with from_address(server, 7) as client:
        for _ in range(6):
            pin_sign_in(client, code, wrong(old_pin))
        assert pin_sign_in(client, code, old_pin).status_code == 429

        sent = client.post("/api/v1/auth/new-pin", json={"code": code})
        assert sent.status_code == 202, sent.text
        assert sent.json()["sent"] is True and sent.json()["channels"] == ["email"]
        assert data["applicant"]["email"] not in sent.text and data["applicant"]["phone"] not in sent.text
        report = outbox.deliver(app)
        assert report.sent and not report.failed
        [(_, recipients, message)] = [m for m in smtp.messages if b"PIN baru" in m[2]]
        assert recipients == [data["applicant"]["email"]]
        new_pin = re.search(rb"KIA [0-9A-Z-]+: (\d{6})", message).group(1).decode()
        assert new_pin not in sent.text

        assert pin_sign_in(client, code, old_pin).status_code == 401  # the old PIN is gone
        assert pin_sign_in(client, code, new_pin).status_code == 200  # the lock was lifted

        # the page's button says only that it was sent; three in a day at most
        page = client.get(f"/status/{code}")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        by_page = client.post(f"/status/{code}/pin-baru", data={"csrf_token": csrf}, follow_redirects=True)
        assert by_page.status_code == 200 and "PIN baru telah dikirim" in by_page.text
        assert data["applicant"]["email"] not in by_page.text
        assert client.post("/api/v1/auth/new-pin", json={"code": code}).status_code == 202
        too_many = client.post("/api/v1/auth/new-pin", json={"code": code})
        assert too_many.status_code == 429 and int(too_many.headers["Retry-After"]) > 0
        assert "24 jam" in too_many.json()["error"]["message"]
    with from_address(server, 8) as other:
        assert other.post("/api/v1/auth/new-pin", json={"code": "ABCDEFGHJKMN"}).status_code == 404


def staff_sign_in(client: httpx.Client, password: str) -> httpx.Response:
    return client.post("/api/v1/auth/token", json={"username": "admin1", "password": password})


def test_one_address_guessing_cannot_lock_an_officer_out(app: Flask, server: str, frozen: None) -> None:
    since = clock.now() - timedelta(seconds=1)
    with from_address(server, 9) as guesser:
        codes = [staff_sign_in(guesser, f"tebakan-{i}").status_code for i in range(12)]
        assert codes == [401] * 5 + [429] * 7
        assert staff_sign_in(guesser, PASSWORD).status_code == 429  # this address is locked, even when right
    with from_address(server, 10) as officer:
        assert staff_sign_in(officer, PASSWORD).status_code == 200  # the officer's own address is not

    # the page counts the same way, per client
    with from_address(server, 11) as browser:
        statuses = []
        for i in range(6):
            page = browser.get("/masuk")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            form = {"username": "admin1", "password": f"salah-{i}", "csrf_token": csrf}
            statuses.append(browser.post("/masuk", data=form).status_code)
        assert statuses == [401] * 5 + [429]
        assert "Terlalu banyak percobaan masuk" in browser.post("/masuk", data=form).text

    entries = audit_actions(server, since, "admin1")
    counts = Counter((e["action"], e["client_ip"]) for e in entries)
    assert counts[("sign_in_failed", "127.0.0.9")] == 5 and counts[("sign_in_locked", "127.0.0.9")] == 1
    assert counts[("sign_in_refused_locked", "127.0.0.9")] == 8
    assert counts[("sign_in", "127.0.0.10")] == 1
    assert counts[("sign_in_failed", "127.0.0.11")] == 5 and counts[("sign_in_locked", "127.0.0.11")] == 1


def test_the_per_minute_sign_in_limit_counts_per_name_and_client(
    app: Flask, server: str, frozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "LOGIN_RATE_LIMIT", 3)
    with from_address(server, 12) as guesser:
        codes = [staff_sign_in(guesser, f"tebakan-{i}").status_code for i in range(4)]
        assert codes == [401, 401, 401, 429]
    with from_address(server, 13) as officer:
        assert staff_sign_in(officer, PASSWORD).status_code == 200

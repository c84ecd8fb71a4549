"""Issue 14 point 4: staff sessions are stored on the server.

Against a real HTTP server (werkzeug in a thread) on SQLite and PostgreSQL: a page's session cookie
replayed after signing out is refused, and so is every bearer token of the user; a password reset and
deactivating the user (``kia users deactivate``) end every session at once; an idle session ends after
``SESSION_IDLE_SECONDS`` (``KIA_SESSION_IDLE_MINUTES``, default 30) with the engine clock moved, not slept.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from flask import Flask

from api.cli import users
from api.extensions import db
from api.provisioning import add_user
from engine.models import ApiToken
from engine.workflow.clock import clock

from . import test_log_privacy
from .helpers import PASSWORD

server = test_log_privacy.server  # the app served by werkzeug in a thread (a fixture)
SPARE = "petugas_cadangan"  # an account of this module's own (users outlive a test)


@pytest.fixture
def spare(app: Flask) -> Iterator[str]:
    with app.app_context():
        add_user(SPARE, PASSWORD, ["admin"], "Petugas Cadangan")
    yield SPARE
    with app.app_context():
        add_user(SPARE, PASSWORD, ["admin"], "Petugas Cadangan")  # active again for the next test


@pytest.fixture
def frozen() -> Iterator[None]:
    # a day back: the audit log (append-only, shared by the tests) gets no entry from the future
    clock.freeze(datetime.now(UTC).replace(microsecond=0) - timedelta(days=1))
    yield
    clock.reset()


def csrf_of(page: httpx.Response) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)


def signed_in_browser(base: str, username: str) -> httpx.Client:
    browser = httpx.Client(base_url=base, timeout=60)
    page = browser.get("/masuk")
    answer = browser.post("/masuk", data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(page)})
    assert answer.status_code == 302, answer.text
    assert browser.get("/petugas/tugas").status_code == 200
    return browser


def bearer(base: str, username: str) -> dict[str, str]:
    answer = httpx.post(f"{base}/api/v1/auth/token", json={"username": username, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def replay(base: str, cookies: httpx.Cookies) -> tuple[int, int]:
    """(the inbox page, the inbox API) for a fresh client carrying only ``cookies``."""
    with httpx.Client(base_url=base, timeout=60, cookies=cookies) as stranger:
        page = stranger.get("/petugas/tugas")
        api = stranger.get("/api/v1/tasks")
    assert page.status_code != 302 or page.headers["Location"].startswith("/masuk")
    return page.status_code, api.status_code


def api_status(base: str, headers: dict[str, str]) -> int:
    return httpx.get(f"{base}/api/v1/tasks", headers=headers).status_code


def test_a_cookie_replayed_after_sign_out_is_refused_and_so_are_the_users_tokens(
    app: Flask, server: str, spare: str
) -> None:
    browser, other_device = signed_in_browser(server, spare), signed_in_browser(server, spare)
    token, colleague = bearer(server, spare), bearer(server, "operator1")
    kept = httpx.Cookies(browser.cookies)
    assert replay(server, kept) == (200, 200)  # the copy works while the session lives

    page = browser.get("/petugas/tugas")
    assert browser.post("/keluar", data={"csrf_token": csrf_of(page)}).status_code == 302
    assert replay(server, kept) == (302, 401)  # the replayed cookie: back to the sign-in page, 401
    assert other_device.get("/petugas/tugas").status_code == 302  # every session of the user ended
    assert api_status(server, token) == 401  # bearer tokens too
    assert api_status(server, colleague) == 200  # another user's do not
    with app.app_context():
        rows = db.session.query(ApiToken).filter(ApiToken.user_id.isnot(None)).all()
        assert {r.kind for r in rows} == {"web", "bearer"}
        assert all(r.revoked_at is not None for r in rows if r.user.username == spare)

    # the API's sign-out does the same for the pages
    browser = signed_in_browser(server, spare)
    token = bearer(server, spare)
    assert httpx.post(f"{server}/api/v1/auth/sign-out", headers=token).status_code == 204
    assert browser.get("/petugas/tugas").status_code == 302 and api_status(server, token) == 401


def test_deactivation_and_password_reset_end_every_session(app: Flask, server: str, spare: str) -> None:
    browser, token = signed_in_browser(server, spare), bearer(server, spare)
    result = app.test_cli_runner().invoke(users, ["deactivate", spare])
    assert result.exit_code == 0, result.output
    assert "dinonaktifkan" in result.output
    assert api_status(server, token) == 401  # the bearer token after the deactivation
    assert browser.get("/petugas/tugas").status_code == 302
    assert httpx.post(f"{server}/api/v1/auth/token", json={"username": spare, "password": PASSWORD}).status_code == 401
    assert app.test_cli_runner().invoke(users, ["deactivate", "tidak_ada"]).exit_code != 0

    with app.app_context():
        add_user(spare, PASSWORD, ["admin"], "Petugas Cadangan")  # active again
    browser, token = signed_in_browser(server, spare), bearer(server, spare)
    with app.app_context():
        add_user(spare, "kata-sandi-baru-123", ["admin"], "Petugas Cadangan")  # a password reset
    assert api_status(server, token) == 401 and browser.get("/petugas/tugas").status_code == 302


def test_an_idle_session_ends_after_the_configured_time(
    app: Flask, server: str, frozen: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.config["SESSION_IDLE_SECONDS"] == 30 * 60  # the default
    browser, token = signed_in_browser(server, "admin1"), bearer(server, "admin1")
    for _ in range(3):  # in use every 29 minutes: still signed in after 87
        clock.advance(timedelta(minutes=29))
        assert browser.get("/petugas/tugas").status_code == 200 and api_status(server, token) == 200
    clock.advance(timedelta(minutes=31))
    assert browser.get("/petugas/tugas").status_code == 302 and api_status(server, token) == 401

    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 5 * 60)
    browser, token = signed_in_browser(server, "admin1"), bearer(server, "admin1")
    clock.advance(timedelta(minutes=4))
    assert api_status(server, token) == 200
    clock.advance(timedelta(minutes=6))
    assert browser.get("/petugas/tugas").status_code == 302 and api_status(server, token) == 401

"""Personal data never reaches the logs, and the public status answers (JSON and page) never show it.

One end-to-end run through a real HTTP server (werkzeug, as ``kia serve``, with its access log): an
application submitted with identifiable NIK, KK number, phone, e-mail and names, sent back for
correction (new phone and e-mail), verified, printed, grouped in a batch, handed over; the notices
delivered over the fake Graph API and the real loopback SMTP server; a second application through the
WhatsApp intake on the signed webhook. Everything logged meanwhile is captured: the root logger at
DEBUG, SQL statements (``sqlalchemy.engine`` at INFO) and werkzeug's request lines (only the test's own
SMTP server's lines are left out). Then every personal
value is searched for, phone numbers also as 62…, +62… and without the leading 0.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask
from werkzeug.serving import make_server

from api import outbox

from .helpers import HANDOVER, PDF_BYTES, PNG_BYTES, Mailbox, application_data, inbox, submit, token
from .whatsapp_helpers import ANSWERS, Phone, configure, media_part

WA_PHONE = "6285211112222"
CORRECTED = {"phone": "081298765432", "email": "ganti.alamat@example.org"}


class Answer:
    """The part of a Flask test response the helpers read, from an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.response, self.status_code, self.data = response, response.status_code, response.content

    def get_json(self, silent: bool = False) -> Any:
        try:
            return self.response.json()
        except ValueError:
            if silent:
                return None
            raise

    def get_data(self, as_text: bool = False) -> bytes | str:
        return self.response.text if as_text else self.data

    @property
    def text(self) -> str:
        return self.response.text

    @property
    def headers(self) -> httpx.Headers:
        return self.response.headers


class HttpClient:
    """The Flask test client's ``get``/``post`` over real HTTP, so that the test helpers and the
    WhatsApp phone drive the real server."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=60, follow_redirects=False)

    def get(self, url: str, headers: dict | None = None, query_string: dict | None = None) -> Answer:
        return Answer(self.http.get(url, headers=headers, params=query_string))

    def post(self, url: str, **kwargs: Any) -> Answer:
        return self.request("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Answer:
        return self.request("PUT", url, **kwargs)

    def patch(self, url: str, **kwargs: Any) -> Answer:
        return self.request("PATCH", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> Answer:
        return self.request("DELETE", url, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        data: Any = None,
        json: Any = None,
        headers: dict | None = None,
        content_type: str | None = None,
        query_string: dict | None = None,
    ) -> Answer:
        options: dict[str, Any] = {"headers": headers, "params": query_string}
        if json is not None:
            return Answer(self.http.request(method, url, json=json, **options))
        if content_type == "multipart/form-data":
            fields = {k: v for k, v in data.items() if not isinstance(v, tuple)}
            files = {k: (v[1], v[0].read()) for k, v in data.items() if isinstance(v, tuple)}
            return Answer(self.http.request(method, url, data=fields, files=files, **options))
        if isinstance(data, dict):
            return Answer(self.http.request(method, url, data=data, **options))
        if content_type is not None:
            options["headers"] = {**(headers or {}), "Content-Type": content_type}
        return Answer(self.http.request(method, url, content=data, **options))


class Capture(logging.Handler):
    """Every record of the process, except those of the test's own SMTP server (aiosmtpd's ``mail.log``:
    the mail provider's side of the wire, which naturally logs the addressee)."""

    OTHER_END = ("mail.log",)

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []
        self.lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(self.OTHER_END):
            return
        text = self.format(record)  # with the traceback when there is one
        with self.lock_:
            self.lines.append(text)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler, root = Capture(), logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in ("", "sqlalchemy.engine", "werkzeug")}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)  # every statement (parameters hidden)
    logging.getLogger("werkzeug").setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The app served by werkzeug in a thread, as ``kia serve`` does (with its request log)."""
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()
    thread.join(timeout=10)


def phone_forms(number: str) -> set[str]:
    """0812…, 62812…, +62812… and 812… of one Indonesian mobile number."""
    bare = re.sub(r"^(\+?62|0)", "", number)
    return {number, bare, "0" + bare, "62" + bare, "+62" + bare}


def personal_values(data: dict[str, Any]) -> set[str]:
    child, applicant = data["child"], data["applicant"]
    values = {
        child["nik"],
        child["kk_number"],
        child["name"],
        applicant["name"],
        applicant["email"],
        child["address"],
        child["akta_number"],
        CORRECTED["email"],
    }
    for number in (applicant["phone"], CORRECTED["phone"], WA_PHONE):
        values |= phone_forms(number)
    return values


def leaks(text: str, values: set[str]) -> list[str]:
    return sorted(v for v in values if v in text)


def complete(client: HttpClient, headers: dict[str, str], code: str, body: dict[str, Any]) -> None:
    [task] = [t for t in inbox(client, headers) if t["application_code"] == code]
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json=body)
    assert response.status_code == 200, response.get_json()


def status_page(app: Flask, code: str, pin: str | None) -> str:
    """The public status page (HTML), anonymous or signed in with the PIN (the form with its CSRF token)."""
    pages = app.test_client()
    page = pages.get(f"/status/{code}")
    assert page.status_code == 200
    if pin is None:
        return page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    signed_in = pages.post(f"/status/{code}/pin", data={"pin": pin, "csrf_token": csrf}, follow_redirects=True)
    assert signed_in.status_code == 200
    return signed_in.get_data(as_text=True)


def test_no_personal_data_in_the_logs_of_an_end_to_end_run(
    app: Flask, server: str, captured: Capture, fake: Any, smtp: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(app, fake, monkeypatch)
    data = application_data()
    secrets = personal_values(data) | {HANDOVER["recipient_nik"]}  # the mother's NIK, given at the hand-over
    http = HttpClient(server)

    created = submit(http, data, {"kk": PDF_BYTES, "akta": PNG_BYTES})
    assert created.status_code == 201, created.get_json()
    code, pin = created.get_json()["code"], created.get_json()["pin"]
    secrets.add(pin)
    admin, operator = token(http, "admin1"), token(http, "operator1")
    dafdud, uptd = token(http, "dafdud1"), token(http, "uptd_binawidya")
    assert http.post("/api/v1/auth/token", json={"username": data["child"]["nik"], "password": "x"}).status_code == 401

    complete(http, admin, code, {"decision": "incomplete", "note": "Foto KK buram, mohon kirim ulang."})
    applicant = {
        "Authorization": "Bearer "
        + http.post("/api/v1/auth/token", json={"code": code, "pin": pin}).get_json()["access_token"]
    }
    complete(http, applicant, code, {"response": "Sudah saya perbaiki.", "applicant": CORRECTED})
    complete(http, admin, code, {"decision": "complete"})
    complete(http, operator, code, {"decision": "issued"})
    ids = [t["id"] for t in inbox(http, dafdud, lane="dafdud")]
    assert (
        http.post(
            "/api/v1/tasks/bulk-complete", headers=dafdud, json={"task_ids": ids, "batch": "Senin pagi"}
        ).status_code
        == 200
    )
    complete(http, uptd, code, {"decision": "arrived"})
    complete(http, uptd, code, {**HANDOVER, "recipient_name": data["applicant"]["name"]})
    for path in (
        f"/api/v1/applications/{code}",
        f"/api/v1/applications/{code}/control-card",
        f"/api/v1/applications/{code}/receipt.pdf",
        f"/api/v1/applications/{code}/handover-receipt.pdf",
    ):
        assert http.get(path, headers=admin).status_code == 200, path

    report = outbox.deliver(app)
    assert report.sent and not report.failed, report
    mailed = [m for m in smtp.messages if CORRECTED["email"] in m[1]]
    assert mailed, "the code was e-mailed to the corrected address"

    phone = Phone(http, app, fake, phone=WA_PHONE, user_id="ID.4242")  # type: ignore[arg-type]
    for answer in ["Halo", "1", *ANSWERS]:
        phone.say(answer)
    phone.send(media_part(fake, PDF_BYTES, "application/pdf", as_document=True))
    phone.send(media_part(fake, PNG_BYTES, "image/png", as_document=False))
    assert "PIN: *" in phone.say("ya")[0]
    assert phone.say(f"status {code}")

    public = [
        http.get(f"/api/v1/status/{code}").get_json(),
        http.get(f"/api/v1/status/{code}", headers=applicant).get_json(),
    ]
    for shown in (json.dumps(public, ensure_ascii=False), status_page(app, code, None), status_page(app, code, pin)):
        assert not leaks(shown, secrets - {pin}), leaks(shown, secrets)

    logged = "\n".join(captured.lines)
    assert "werkzeug" in logged and "POST /api/v1/applications" in logged  # the access log was captured
    assert "sqlalchemy.engine" in logged and "INSERT INTO applications" in logged  # and the SQL log
    assert "whatsapp webhook: 1 message(s) processed" in logged
    found = leaks(logged, secrets)
    where = [line[:200] for line in captured.lines if leaks(line, secrets)][:5]
    assert not found, f"personal data in the log: {[v[:4] + '…' for v in found]} in {where}"

"""No technical terms where a person reads (issue 19, point 7): a walker signs in as every staff role, as
the applicant (with the PIN) and as nobody, and visits every page it can reach, discovered from the links
and forms of the pages it has seen and from the web blueprint's URL map (so that a new page is covered
without editing this test), with applications at several steps (waiting for verification, sent back for
correction, corrected, printed, handed over, escalated past the standard, a print step on hold and one
resumed). On SQLite and PostgreSQL.

The visible text of each page (the HTML parsed; <script>, <style> and attribute values skipped) must not
hold a snake_case id, an English decision or state word, an ISO timestamp or date, or an ISO duration."""

from __future__ import annotations

import re
from collections import deque
from datetime import timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException

from api.extensions import db
from engine.models import TaskRow, TaskRowState, User
from engine.workflow import timers
from engine.workflow.clock import clock

from .helpers import HANDOVER, applicant_headers, inbox, token
from .test_web_pages import csrf_of, new_application, sign_in

ROLES = ("admin1", "operator1", "dafdud1", "uptd_binawidya", "supervisor1", "owner1")
PER_ENDPOINT = 4  # pages visited per endpoint and role: a task page is like any other task page
PER_ROLE = 150
HTML_ACCEPT = {"Accept": "text/html"}

SNAKE_CASE = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
ENGLISH = re.compile(
    r"\b(complete|completed|incomplete|issued|problem|system|pending|failed|delivered|cancell?ed|open|closed|"
    r"none|null|true|false|working|calendar|escalated|finished|started|claimed|unclaimed|overdue|approved|"
    r"rejected|submitted|verified|printed|ready|done|step|lane)\b",
    re.IGNORECASE,
)
ISO_TIMESTAMP = re.compile(r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2})?")
ISO_DURATION = re.compile(r"\bP(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?\b(?<!P)")
APPLICATION_CODE = re.compile(r"\b[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}\b|\b[A-Z0-9]{12}\b")
CHECKS = (
    ("snake_case id", SNAKE_CASE),
    ("English word", ENGLISH),
    ("ISO date/time", ISO_TIMESTAMP),
    ("ISO duration", ISO_DURATION),
)


class VisibleText(HTMLParser):
    """The text a reader sees, and the links and GET forms to follow."""

    SKIPPED = {"script", "style", "template", "noscript"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skip += 1
        values = dict(attrs)
        if tag == "a" and values.get("href"):
            self.links.append(values["href"] or "")
        if tag == "form" and (values.get("method") or "get").lower() == "get":
            self.links.append(values.get("action") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and data.strip():
            self.texts.append(" ".join(data.split()))


def problems_in(texts: list[str], usernames: frozenset[str] = frozenset()) -> list[str]:
    """What a reader should not meet; an account's sign-in name (the accounts page shows it) is allowed."""
    found = []
    for shown in texts:
        text = APPLICATION_CODE.sub("", shown)  # a random code may read as a duration ("P43M")
        for label, pattern in CHECKS:
            for match in pattern.finditer(text):
                if match.group(0) and match.group(0) not in usernames:
                    found.append(f"{label} {match.group(0)!r} in {text[:120]!r}")
    return found


def seed(client: FlaskClient, app: Flask) -> dict[str, object]:
    """Applications at several steps, a correction answered, a batch at the UPTD (a card confirmed and
    handed over, one waiting for the confirmation, one reported missing), and an escalation."""
    waiting = new_application(client)["code"]
    sent_back = new_application(client)
    corrected = new_application(client)
    printed = new_application(client)["code"]
    handed_over = new_application(client)["code"]
    arriving, missing = new_application(client)["code"], new_application(client)["code"]  # at the UPTD's arrival
    admin = token(client, "admin1")

    def complete(code: str, lane: str, user: str, data: dict, headers: dict | None = None) -> None:
        headers = headers or token(client, user)
        task = next(t for t in inbox(client, headers) if t["application_code"] == code and t["lane"] == lane)
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
        assert response.status_code == 200, response.get_json()

    for created in (sent_back, corrected):
        complete(created["code"], "admin", "admin1", {"decision": "incomplete", "note": "Foto akta buram"})
    applicant = applicant_headers(client, corrected)
    complete(corrected["code"], "applicant", "", {"response": "Foto akta sudah saya kirim ulang"}, applicant)
    for code in (printed, handed_over, arriving, missing):
        complete(code, "admin", "admin1", {"decision": "complete"}, admin)
        complete(code, "operator", "operator1", {"decision": "issued"})
    operator = token(client, "operator1")
    held, resumed = new_application(client)["code"], new_application(client)["code"]
    for code in (held, resumed):  # an office problem: the print step on hold ("tunda"), one resumed
        complete(code, "admin", "admin1", {"decision": "complete"}, admin)
        task = next(t for t in inbox(client, operator) if t["application_code"] == code)
        response = client.post(f"/api/v1/tasks/{task['id']}/hold", json={"reason": "Blangko habis"}, headers=operator)
        assert response.status_code == 200, response.get_json()
        if code == resumed:
            assert client.post(f"/api/v1/tasks/{task['id']}/resume", json={}, headers=operator).status_code == 200
    dafdud = token(client, "dafdud1")
    grouping = [
        t["id"]
        for t in inbox(client, dafdud)
        if t["application_code"] in (handed_over, arriving, missing) and t["lane"] == "dafdud"
    ]
    response = client.post(
        "/api/v1/tasks/bulk-complete", json={"task_ids": grouping, "batch": "Kiriman pagi"}, headers=dafdud
    )
    assert response.status_code == 200, response.get_json()  # a batch: the batch pages have one to show
    # the UPTD confirms one card (one waits for the confirmation form), reports one missing (Dafdud's step)
    complete(missing, "uptd", "uptd_binawidya", {"decision": "missing", "note": "Tidak ada dalam amplop"})
    complete(handed_over, "uptd", "uptd_binawidya", {"decision": "arrived"})
    complete(handed_over, "uptd", "uptd_binawidya", HANDOVER)
    clock.advance(timedelta(hours=3))  # past the verification's hour: the waiting one is escalated
    with app.app_context():
        assert timers.fire_due(sessionmaker(bind=db.engine, expire_on_commit=False)) >= 1
        task_ids = list(db.session.scalars(select(TaskRow.id).where(TaskRow.state == TaskRowState.OPEN)))
        db.session.rollback()
    return {
        "codes": [
            waiting,
            sent_back["code"],
            corrected["code"],
            printed,
            handed_over,
            held,
            resumed,
            arriving,
            missing,
        ],
        "tasks": task_ids,
        "applicant": sent_back,
    }


def url_map_pages(app: Flask, values: dict[str, list[str]]) -> list[str]:
    """Every GET page of the web blueprint, its arguments filled from ``values`` (unknown ones skipped)."""
    pages = []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if (
                not rule.endpoint.startswith("web.")
                or "GET" not in (rule.methods or ())
                or rule.endpoint == "web.static"
            ):
                continue
            if any(arg not in values for arg in rule.arguments):
                continue
            for n in range(max((len(values[a]) for a in rule.arguments), default=1)):
                args = {a: values[a][n % len(values[a])] for a in rule.arguments}
                pages.append(url_for(rule.endpoint, **args))
    return pages


def usernames(app: Flask) -> frozenset[str]:
    with app.app_context():
        names = frozenset(db.session.scalars(select(User.username)))
        db.session.rollback()
    return names


def walk(client: FlaskClient, app: Flask, start: list[str], visited: set[str]) -> dict[str, list[str]]:
    """Visit every reachable page (GET, HTML); the problems found per page. ``visited`` gains the endpoints
    of the pages read."""
    adapter = app.url_map.bind("kia.test")
    queue, seen, per_endpoint = deque(start), set(), {}
    found: dict[str, list[str]] = {}
    while queue and len(seen) < PER_ROLE:
        address = queue.popleft()
        parts = urlsplit(address)
        path = parts.path
        if parts.netloc or not path.startswith("/") or path.startswith(("/api/", "/assets/")) or address in seen:
            continue
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except HTTPException:
            endpoint = "unknown"
        key = endpoint if endpoint != "web.inbox" else f"{endpoint}?{parts.query}"
        if per_endpoint.get(key, 0) >= PER_ENDPOINT:
            continue
        per_endpoint[key] = per_endpoint.get(key, 0) + 1
        seen.add(address)
        response = client.get(address, headers=HTML_ACCEPT)
        if response.status_code in (301, 302, 303):
            queue.append(response.headers["Location"])
            continue
        if response.mimetype != "text/html":
            continue
        visited.add(endpoint)
        parser = VisibleText()
        parser.feed(response.text)
        problems = problems_in(parser.texts, usernames(app))
        if problems:
            found[address] = problems
        queue.extend(urljoin(address, link).split("#")[0] for link in parser.links if link)
    assert len(seen) >= 3, seen
    return found


@pytest.fixture
def seeded(client: FlaskClient, app: Flask) -> dict[str, object]:
    clock.freeze(clock.now())
    return seed(client, app)


def test_no_technical_terms_on_any_page_for_any_role(client: FlaskClient, app: Flask, seeded: dict) -> None:
    values = {"code": seeded["codes"], "task_id": seeded["tasks"], "key": ["kia_whatsapp"]}
    report: dict[str, dict[str, list[str]]] = {}
    visited: dict[str, set[str]] = {}
    for role in ROLES:
        staff = app.test_client()
        sign_in(staff, role)
        visited[role] = set()
        report[role] = walk(staff, app, ["/", *url_map_pages(app, values)], visited[role])
    anonymous = app.test_client()
    visited["publik"], visited["pemohon"] = set(), set()
    report["publik"] = walk(
        anonymous, app, ["/", "/status", "/halaman-yang-tidak-ada", *url_map_pages(app, values)], visited["publik"]
    )
    applicant = app.test_client()
    created = seeded["applicant"]
    page = applicant.get(f"/status/{created['code']}")
    assert (
        applicant.post(
            f"/status/{created['code']}/pin", data={"csrf_token": csrf_of(page.text), "pin": created["pin"]}
        ).status_code
        == 302
    )
    report["pemohon"] = walk(applicant, app, [f"/status/{created['code']}"], visited["pemohon"])
    # every page of the URL map was read by someone (the walk reaches what a person can reach)
    pages = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("web.") and "GET" in r.methods}
    assert pages - {"web.static"} <= set().union(*visited.values()), pages - set().union(*visited.values())
    assert {"web.inbox", "web.task", "web.application"} <= visited["admin1"]
    assert {"web.dashboard_page", "web.application"} <= visited["supervisor1"]
    assert {"web.versions", "web.modeler", "web.migrations"} <= visited["owner1"]
    assert {"web.index", "web.status_lookup", "web.status", "unknown"} <= visited["publik"]
    assert "web.status" in visited["pemohon"]
    problems = [f"{role} {url}: {p}" for role, pages in report.items() for url, found in pages.items() for p in found]
    assert not problems, "\n".join(problems)


def test_the_walker_sees_what_it_must_refuse() -> None:
    """The checks catch each kind of term, in text only (not in attributes or scripts)."""
    parser = VisibleText()
    parser.feed(
        '<p data-step="verify_application">Langkah verify_application</p><script>var a = "complete";</script>'
        "<td>complete</td><td>issued</td><td>2026-12-01T09:00:00+00:00</td><td>PT1H</td><td>oleh system</td>"
        '<a href="/petugas/tugas?lane=admin">Kotak masuk</a><p>1 Des 2026 09:00 WIB · Sistem · lengkap</p>'
    )
    problems = problems_in(parser.texts)
    assert [p.split(" in ")[0] for p in problems] == [
        "snake_case id 'verify_application'",
        "English word 'complete'",
        "English word 'issued'",
        "ISO date/time '2026-12-01T09:00'",
        "ISO duration 'PT1H'",
        "English word 'system'",
    ]
    assert parser.links == ["/petugas/tugas?lane=admin"]

"""Diagram expressions cannot exhaust the service, and a step that fails at run time loses nothing.

Through a real HTTP server (werkzeug in a thread), on SQLite and PostgreSQL: a diagram with a freezing
expression is refused when validated and deployed; a diagram whose gateway condition fails at run time
leaves the application as it was, answers 409 naming an incident that owners and supervisors see, and a
retry after the fix (a new version with the same elements) moves the application on and resolves it.
A timer whose escalation fails becomes an incident too, out of the sweeps until it is retried.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from api.extensions import db
from engine.kia import applications
from engine.models import Event, Instance
from engine.workflow import services

from . import test_log_privacy
from .helpers import PASSWORD, ROOT, application_data, inbox, submit, token
from .scripted import at, new_application, sweep
from .test_log_privacy import HttpClient

server = test_log_privacy.server  # the app served by werkzeug in a thread

BUNDLED = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text()
COMPLETE = 'decision == "complete"'


def with_condition(condition: str) -> str:
    """The bundled diagram with another condition on the verification's "complete" branch."""
    assert BUNDLED.count(f">{COMPLETE}<") == 1
    return BUNDLED.replace(f">{COMPLETE}<", f">{condition.replace('&', '&amp;').replace('<', '&lt;')}<")


INCOMPLETE = 'decision == "incomplete"'
# passes every check, the dry run with its sample note ("Contoh") too: it fails only when a real note is
# one character long
FAILING = f"{INCOMPLETE} and 100 / (len(note) - 1) > 0"
FIXED = f"{INCOMPLETE} and 100 / max(len(note) - 1, 1) > 0"
SEND_BACK = {"decision": "incomplete", "note": "x"}


def with_incomplete(condition: str) -> str:
    """The bundled diagram with another condition on the verification's "incomplete" branch."""
    assert BUNDLED.count(f">{INCOMPLETE}<") == 1
    return BUNDLED.replace(f">{INCOMPLETE}<", f">{condition.replace('&', '&amp;').replace('<', '&lt;')}<")


def deploy(http: HttpClient, owner: dict[str, str], xml: str) -> Any:
    return http.post(
        "/api/v1/processes?note=Perbaikan+uji", data=xml.encode(), headers=owner, content_type="application/xml"
    )  # type: ignore[arg-type]


FREEZING = [
    # CPython needs about half a minute for this one: refused because its constant part is evaluated
    # (under the limits) when the diagram is checked
    (f"{COMPLETE} and round(1, -10000000) == 0", "round"),
    (f"{COMPLETE} and len(str([[0] * 1000] * 1000)) > 0", "too large"),
    (f'{COMPLETE} and "%999999999d" % 1 != ""', "formatting"),
    ("decision in [" + ",".join(str(i) for i in range(300)) + "]", "too large"),  # 300 parts, 1,200 characters
    ("decision == " + "-" * 100 + "1", "nested"),
]


@pytest.mark.parametrize(("condition", "reason"), FREEZING)
def test_a_diagram_with_a_freezing_expression_is_refused(app: Flask, server: str, condition: str, reason: str) -> None:
    http = HttpClient(server)
    owner = token(http, "owner1")
    xml = with_condition(condition)
    checked = http.post("/api/v1/processes/validate", data=xml.encode(), headers=owner, content_type="application/xml")
    assert checked.status_code == 200, checked.get_json()
    result = checked.get_json()
    assert result["valid"] is False
    assert [p["element_id"] for p in result["problems"]] == ["flow_complete"], result
    assert reason in result["problems"][0]["message"], result
    before = http.get("/api/v1/processes", headers=owner).get_json()
    refused = deploy(http, owner, xml)
    assert refused.status_code == 422 and "flow_complete" in refused.get_json()["error"]["fields"]
    assert http.get("/api/v1/processes", headers=owner).get_json() == before
    assert submit(http, application_data()).status_code == 201  # the deployed version keeps serving


def verification_task(http: HttpClient, admin: dict[str, str], code: str) -> dict:
    [task] = [t for t in inbox(http, admin) if t["application_code"] == code]
    assert task["step"] == "verify_application"
    return task


def instance_state(app: Flask, code: str) -> tuple[bytes, int, str, int, int]:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        events = db.session.query(Event).filter(Event.instance_id == instance.id, Event.kind != "incident").count()
        return instance.state, instance.lock_version, instance.status, instance.process_version.version, events


def test_a_step_failing_at_run_time_keeps_the_application_and_can_be_retried_after_a_fix(
    app: Flask, server: str
) -> None:
    http = HttpClient(server)
    owner, admin, supervisor = token(http, "owner1"), token(http, "admin1"), token(http, "supervisor1")
    broken = deploy(http, owner, with_incomplete(FAILING))
    assert broken.status_code == 201, broken.get_json()
    code = submit(http, application_data()).get_json()["code"]
    task = verification_task(http, admin, code)
    before = instance_state(app, code)
    assert before[3] == broken.get_json()["version"]

    answer = http.post(f"/api/v1/tasks/{task['id']}/complete", headers=admin, json=SEND_BACK)
    assert answer.status_code == 409, answer.get_json()
    error = answer.get_json()["error"]
    assert error["code"] == "step_failed" and "division by zero" in error["message"]
    incident_id = error["incident_id"]
    assert f"insiden #{incident_id}" in error["message"]

    assert instance_state(app, code) == before  # the workflow state, status and history as before the step
    assert verification_task(http, admin, code)["id"] == task["id"]  # the task is still open

    for who in (owner, supervisor):
        listed = http.get("/api/v1/incidents", headers=who)
        assert listed.status_code == 200
        [incident] = listed.get_json()["items"]
        assert incident["id"] == incident_id and incident["state"] == "open" and incident["kind"] == "task"
        assert incident["application_code"] == code and incident["step"] == "verify_application"
        assert incident["element"] == "gw_verification" and "division by zero" in incident["error"]
        assert incident["actor"] == "admin1" and incident["attempts"] == 1
        assert "payload" not in incident
    assert http.get("/api/v1/incidents", headers=admin).status_code == 403
    detail = http.get(f"/api/v1/applications/{code}", headers=admin).get_json()
    assert [i["id"] for i in detail["incidents"]] == [incident_id]

    again = http.post(f"/api/v1/incidents/{incident_id}/retry", headers=supervisor, json={})
    assert again.status_code == 409 and again.get_json()["error"]["incident_id"] == incident_id
    [incident] = http.get("/api/v1/incidents", headers=owner).get_json()["items"]
    assert incident["attempts"] == 2
    assert instance_state(app, code) == before

    fixed = deploy(http, owner, with_incomplete(FIXED))
    assert fixed.status_code == 201
    done = http.post(
        f"/api/v1/incidents/{incident_id}/retry", headers=owner, json={"version": fixed.get_json()["version"]}
    )
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["state"] == "resolved" and done.get_json()["resolved_by"] == "owner1"
    assert http.get("/api/v1/incidents", headers=owner).get_json()["items"] == []
    detail = http.get(f"/api/v1/applications/{code}", headers=admin).get_json()
    assert detail["status"] == "perlu_perbaikan" and detail["incidents"] == []
    assert detail["process_version"] == fixed.get_json()["version"]
    completed = [e for e in detail["history"] if e["kind"] == "completed" and e["step"] == "verify_application"]
    assert [e["actor"] for e in completed] == ["admin1"]  # done as the officer who completed it
    assert [t["step"] for t in detail["tasks"]] == ["correct_application"]
    resolved = http.get("/api/v1/incidents", headers=owner, query_string={"state": "resolved"}).get_json()["items"]
    assert [i["id"] for i in resolved] == [incident_id]


def test_a_version_with_other_elements_is_refused_for_a_retry(app: Flask, server: str) -> None:
    http = HttpClient(server)
    owner, admin = token(http, "owner1"), token(http, "admin1")
    deploy(http, owner, with_incomplete(FAILING))
    code = submit(http, application_data()).get_json()["code"]
    task = verification_task(http, admin, code)
    answer = http.post(f"/api/v1/tasks/{task['id']}/complete", headers=admin, json=SEND_BACK)
    incident_id = answer.get_json()["error"]["incident_id"]
    other = BUNDLED.replace("svc_email_code", "svc_mail_code")  # an element renamed: not the same diagram
    assert deploy(http, owner, other).status_code == 201
    refused = http.post(f"/api/v1/incidents/{incident_id}/retry", headers=owner, json={"version": 3})
    assert refused.status_code == 409 and "migrasi" in refused.get_json()["error"]["message"]
    assert http.get("/api/v1/incidents", headers=owner).get_json()["items"][0]["state"] == "open"
    assert instance_state(app, code)[3] == 2


def test_an_officer_completing_the_task_with_other_data_resolves_the_incident(app: Flask, server: str) -> None:
    http = HttpClient(server)
    owner, admin = token(http, "owner1"), token(http, "admin1")
    assert deploy(http, owner, with_incomplete(FAILING)).status_code == 201
    code = submit(http, application_data()).get_json()["code"]
    task = verification_task(http, admin, code)
    failed = http.post(f"/api/v1/tasks/{task['id']}/complete", headers=admin, json=SEND_BACK)
    assert failed.status_code == 409
    done = http.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "incomplete", "note": "KK buram."}
    )
    assert done.status_code == 200, done.get_json()
    assert http.get("/api/v1/incidents", headers=owner).get_json()["items"] == []
    [resolved] = http.get("/api/v1/incidents", headers=owner, query_string={"state": "resolved"}).get_json()["items"]
    assert resolved["resolved_by"] == "admin1"


def test_a_failing_escalation_timer_becomes_an_incident_and_is_retried(
    app: Flask, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("escalation handler broken")

    http = HttpClient(server)
    monkeypatch.setitem(services._BATCH_HANDLERS, "escalate", broken)
    at("2027-09-02 10:00")
    code = new_application(http)  # type: ignore[arg-type]
    at("2027-09-02 11:00")
    assert sweep(app) == 1  # level 1, the exact way
    at("2027-09-02 12:00")
    assert sweep(app) == 0  # level 2 fails
    supervisor = token(http, "supervisor1")
    [incident] = http.get("/api/v1/incidents", headers=supervisor).get_json()["items"]
    assert incident["kind"] == "timer" and incident["application_code"] == code
    assert "RuntimeError" in incident["error"]
    at("2027-09-02 12:10")
    assert sweep(app) == 0  # out of the sweeps: not tried again at every tick
    again = http.post(f"/api/v1/incidents/{incident['id']}/retry", headers=supervisor, json={})
    assert again.status_code == 409
    monkeypatch.undo()
    done = http.post(f"/api/v1/incidents/{incident['id']}/retry", headers=supervisor, json={})
    assert done.status_code == 200 and done.get_json()["state"] == "resolved", done.get_json()
    with app.app_context():
        instance = db.session.query(Instance).filter(Instance.business_key == code).one()
        levels = [
            e.detail["level"]
            for e in db.session.query(Event)
            .filter(Event.instance_id == instance.id, Event.kind == "escalated")
            .order_by(Event.id)
        ]
    assert levels == [1, 2]


def test_the_staff_pages_show_the_incident(app: Flask, server: str) -> None:
    """An officer completing the failing task on the page gets the 409 page naming the incident; the
    application page shows it until it is resolved."""
    import re

    import httpx

    http = HttpClient(server)
    owner = token(http, "owner1")
    assert deploy(http, owner, with_incomplete(FAILING)).status_code == 201
    code = submit(http, application_data()).get_json()["code"]
    with httpx.Client(base_url=server, follow_redirects=False) as browser:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/masuk").text).group(1)
        signed_in = browser.post("/masuk", data={"username": "admin1", "password": PASSWORD, "csrf_token": csrf})
        assert signed_in.status_code == 302
        task_id = verification_task(http, token(http, "admin1"), code)["id"]
        page = browser.get(f"/petugas/tugas/{task_id}").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        failed = browser.post(f"/petugas/tugas/{task_id}/selesaikan", data={"csrf_token": csrf, **SEND_BACK})
        assert failed.status_code == 409 and "insiden #" in failed.text
        shown = browser.get(f"/petugas/permohonan/{code}")
        assert shown.status_code == 200 and 'id="incidents"' in shown.text and "division by zero" in shown.text

"""Deadlines end to end: the working calendar (on/off, working/calendar basis) and supervisors'
overrides through the API and the CLI, picked up by every process."""

from __future__ import annotations

import uuid
from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from api.extensions import db
from engine.workflow import worktime

from .helpers import token
from .scripted import at, new_application, utc
from .test_escalation import task_row


def due_of(app: Flask, code: str, step: str) -> str:
    return task_row(app, code, step).due_at.isoformat()


def test_working_time_deadlines(client: FlaskClient, app: Flask, working_time: None) -> None:
    at("2027-09-02 15:50")  # a Thursday
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-03 08:20")  # next working day
    at("2027-09-04 10:00")  # Saturday: the applicant's own step stays calendar time, the next waits
    code = new_application(client)
    assert due_of(app, code, "submit_application") == utc("2027-09-04 10:05")
    assert due_of(app, code, "verify_application") == utc("2027-09-06 08:30")
    at("2027-08-16 15:30")  # Monday before Independence Day (Tuesday 17 August 2027)
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-08-18 08:00")


def test_working_time_off_counts_calendar_time(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 15:50")
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-02 16:50")
    at("2027-09-04 22:00")  # Saturday night: a 24-hour office
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-04 23:00")


def test_overrides_through_the_api_move_deadlines(client: FlaskClient, app: Flask, working_time: None) -> None:
    at("2027-09-02 15:50")
    boss = token(client, "supervisor1")
    url = "/api/v1/calendar/overrides"
    closed = client.post(url, json={"date": "2027-09-03", "open": False, "reason": "Rapat kerja"}, headers=boss)
    assert closed.status_code == 201, closed.get_json()
    assert closed.get_json() | {"changed_at": None} == {
        "date": "2027-09-03",
        "open": False,
        "reason": "Rapat kerja",
        "changed_by": "supervisor1",
        "changed_at": None,
    }
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-06 08:20")  # Friday closed: Monday
    assert (
        client.post(url, json={"date": "2027-09-04", "open": True, "reason": "Layanan Sabtu"}, headers=boss).status_code
        == 201
    )
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-04 08:20")  # Saturday service day
    listed = client.get(url, headers=token(client, "admin1"), query_string={"from": "2027-09-04"}).get_json()
    assert [(i["date"], i["open"]) for i in listed["items"]] == [("2027-09-04", True)]
    assert client.delete(f"{url}/2027-09-03", headers=boss).status_code == 204
    assert client.delete(f"{url}/2027-09-04", headers=boss).status_code == 204
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-03 08:20")
    assert client.get(url, headers=boss).get_json() == {"items": []}


def test_override_api_errors(client: FlaskClient, app: Flask) -> None:
    url = "/api/v1/calendar/overrides"
    boss, admin = token(client, "supervisor1"), token(client, "admin1")
    assert client.post(url, json={"date": "2027-09-03", "open": False}).status_code == 401
    forbidden = client.post(url, json={"date": "2027-09-03", "open": False}, headers=admin)
    assert forbidden.status_code == 403 and forbidden.get_json()["error"]["code"]
    bad = client.post(url, json={"date": "03/09/2027", "open": "perhaps"}, headers=boss)
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"date", "open"}
    assert client.post(url, json={"open": True}, headers=boss).status_code == 422
    assert client.post(url, json={"date": "1900-01-01", "open": True}, headers=boss).status_code == 422
    assert (
        client.post(url, json={"date": "2027-09-03", "open": True, "reason": "x" * 201}, headers=boss).status_code
        == 422
    )
    assert client.post(url, data="[", content_type="application/json", headers=boss).status_code == 400
    assert client.post(url, data="date=1", headers=boss).status_code == 415
    assert client.delete(f"{url}/2027-09-03", headers=boss).status_code == 404
    assert client.delete(f"{url}/kemarin", headers=boss).status_code == 400
    assert client.delete(f"{url}/2027-09-03", headers=admin).status_code == 403
    assert client.get(url, query_string={"from": "2027-09-05", "to": "2027-09-01"}, headers=admin).status_code == 422


def test_a_change_committed_by_another_process_is_picked_up(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    at("2027-09-02 15:50")
    code = new_application(client)  # loads the calendar (no overrides)
    assert due_of(app, code, "verify_application") == utc("2027-09-03 08:20")
    with app.app_context(), db.engine.begin() as conn:  # what another process's set_override commits
        conn.execute(
            text("INSERT INTO calendar_overrides (day, open, reason, changed_at) VALUES (:d, :o, '', :t)"),
            {"d": "2027-09-03", "o": False, "t": "2027-09-01 00:00:00"},
        )
        conn.execute(text("INSERT INTO revisions (key, stamp) VALUES ('calendar', :s)"), {"s": uuid.uuid4().hex})
    code = new_application(client)
    assert due_of(app, code, "verify_application") == utc("2027-09-06 08:20")


def test_calendar_cli(app: Flask, working_time: None) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["calendar", "close", "2027-09-03", "--reason", "Banjir"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(args=["calendar", "open", "2027-09-04"]).exit_code == 0
    listed = runner.invoke(args=["calendar", "list"])
    assert listed.output.splitlines() == ["2027-09-03  tutup  Banjir", "2027-09-04  buka   "]
    with app.app_context():
        cal = worktime.refresh(db.session)
        assert not cal.is_working_day(date(2027, 9, 3)) and cal.is_working_day(date(2027, 9, 4))
    assert runner.invoke(args=["calendar", "remove", "2027-09-03"]).exit_code == 0
    missing = runner.invoke(args=["calendar", "remove", "2027-09-03"])
    assert missing.exit_code != 0 and "Tidak ada pengecualian" in missing.output
    assert runner.invoke(args=["calendar", "close", "3 Sept"]).exit_code != 0
    assert runner.invoke(args=["calendar", "list"]).output.splitlines() == ["2027-09-04  buka   "]

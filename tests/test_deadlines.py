"""Deadlines end to end: the working calendar (on/off, working/calendar basis) and supervisors'
overrides through the API and the CLI, picked up by every process."""

from __future__ import annotations

import uuid
from datetime import date
from uuid import UUID

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from api.extensions import db
from engine.models import Event, Instance
from engine.workflow import worktime

from .helpers import token
from .scripted import at, new_application, sweep, utc, wib
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


def _armed(app: Flask, code: str, step: str) -> tuple[str, str, str]:
    """A step's deadline as the inbox, the timer sweep and the workflow itself have it."""
    from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

    from engine.models import Timer
    from engine.workflow import instances

    row = task_row(app, code, step)
    with app.app_context():
        timer = db.session.scalar(select(Timer).where(Timer.task_id == row.id, Timer.state == "waiting"))
        loaded = instances.load(db.session, db.session.get(Instance, row.instance_id))
        value = loaded.workflow.get_task_from_id(UUID(timer.id))._get_internal_data("event_value")
        return (
            row.due_at.isoformat(),
            timer.due_at.isoformat(),
            TimerEventDefinition.get_datetime(value).isoformat(),
        )


def _expected(app: Flask, code: str) -> str:
    from engine.kia import applications
    from engine.reports import estimates

    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        return estimates.expected_completion(db.session, instance).isoformat()


def test_closing_a_day_moves_open_deadlines_and_rearms_their_timers(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    at("2027-09-01 10:00")
    overdue = new_application(client)  # due 11:00 that Wednesday
    at("2027-09-02 15:50")  # Thursday
    code = new_application(client)
    before_overdue = task_row(app, overdue, "verify_application").due_at
    assert _armed(app, code, "verify_application") == (utc("2027-09-03 08:20"),) * 3
    expected = _expected(app, code)
    boss = token(client, "supervisor1")
    url = "/api/v1/calendar/overrides"
    closed = client.post(url, json={"date": "2027-09-03", "open": False, "reason": "Banjir"}, headers=boss)
    assert closed.status_code == 201, closed.get_json()
    assert _armed(app, code, "verify_application") == (utc("2027-09-06 08:20"),) * 3  # Friday closed: Monday
    assert _expected(app, code) > expected  # the applicant's expected completion moves with it
    with app.app_context():
        moved = db.session.scalars(select(Event).where(Event.kind == "deadline_moved")).all()
        assert {(e.detail["before"], e.detail["after"]) for e in moved} >= {
            (utc("2027-09-03 08:20"), utc("2027-09-06 08:20"))
        }
    at("2027-09-03 10:00")  # the old deadline has passed: no escalation, in the sweep nor in the workflow
    sweep(app)  # (the other application's escalations)
    assert not task_row(app, code, "verify_application").overdue
    assert task_row(app, code, "verify_application").escalations == 0
    assert task_row(app, overdue, "verify_application").due_at == before_overdue  # overdue: kept
    # reopening the day brings the deadline back
    at("2027-09-03 08:10")
    assert client.delete(f"{url}/2027-09-03", headers=token(client, "supervisor1")).status_code == 204
    assert _armed(app, code, "verify_application") == (utc("2027-09-03 08:20"),) * 3
    at("2027-09-03 08:21")
    assert sweep(app) >= 1
    assert task_row(app, code, "verify_application").overdue
    assert task_row(app, code, "verify_application").escalations == 1


def test_past_days_are_refused(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 15:50")
    boss = token(client, "supervisor1")
    url = "/api/v1/calendar/overrides"
    refused = client.post(url, json={"date": "2027-09-01", "open": False, "reason": "Terlambat"}, headers=boss)
    assert refused.status_code == 422
    assert "sudah lewat" in refused.get_json()["error"]["fields"]["date"][0]
    assert client.post(url, json={"date": "2027-09-02", "open": False}, headers=boss).status_code == 201  # today
    at("2027-09-03 09:00")
    refused = client.delete(f"{url}/2027-09-02", headers=token(client, "supervisor1"))
    assert refused.status_code == 422 and "sudah lewat" in refused.get_json()["error"]["fields"]["date"][0]
    result = app.test_cli_runner().invoke(args=["calendar", "close", "2027-09-01"])
    assert result.exit_code != 0 and "sudah lewat" in result.output


def test_a_deadline_moved_on_keeps_its_extra_time_when_a_day_closes(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    """A step whose deadline was moved on (as a hold does, through deadlines.set_deadlines) keeps that
    extra working time when the calendar changes."""
    from engine.workflow import deadlines

    at("2027-09-02 15:50")  # Thursday
    code = new_application(client)
    row = task_row(app, code, "verify_application")
    with app.app_context():
        instance = db.session.get(Instance, row.instance_id)
        live = db.session.get(type(row), row.id)
        deadlines.set_deadlines(db.session, instance, [(live, wib("2027-09-03 09:20"))], "test", "held")
        db.session.commit()
    assert _armed(app, code, "verify_application") == (utc("2027-09-03 09:20"),) * 3  # one working hour later
    boss = token(client, "supervisor1")
    url = "/api/v1/calendar/overrides"
    assert (
        client.post(url, json={"date": "2027-09-03", "open": False, "reason": "Banjir"}, headers=boss).status_code
        == 201
    )
    assert _armed(app, code, "verify_application") == (utc("2027-09-06 09:20"),) * 3  # Monday, the hour kept
    assert client.delete(f"{url}/2027-09-03", headers=boss).status_code == 204
    assert _armed(app, code, "verify_application") == (utc("2027-09-03 09:20"),) * 3

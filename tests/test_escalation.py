"""Escalations on a controllable clock (no sleeping): once per level up to the cap, cancelled by a
completion, reminders for the applicant's own step, missed timers fired once after downtime."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from api.scheduler import Sweeper
from engine import applications, escalation
from engine.models import Event, Outbox, TaskRow, Timer

from .conftest import inbox, token
from .scripted import STEP_DATA, at, finish, new_application, sweep, utc, wib


@pytest.fixture
def cap() -> Iterator[None]:
    yield
    escalation.configure(escalation.DEFAULT_CAP)


def escalations(app: Flask, code: str) -> list[tuple[str, int, str]]:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        return [(e.step, e.detail["level"], e.at.isoformat()) for e in db.session.scalars(
            select(Event).where(Event.instance_id == instance.id, Event.kind == "escalated").order_by(Event.id))]


def outbox(app: Flask, **where: str) -> list[Outbox]:
    with app.app_context():
        return list(db.session.scalars(select(Outbox).filter_by(**where).order_by(Outbox.id)))


def task_row(app: Flask, code: str, step: str) -> TaskRow:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        return db.session.scalar(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.step == step))


def test_overrun_escalates_once_per_level_up_to_the_cap(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")  # working time off in tests: PT1H is one elapsed hour
    code = new_application(client)
    at("2027-09-02 10:59:59")
    assert sweep(app) == 0
    at("2027-09-02 11:00")
    assert sweep(app) == 1
    assert sweep(app) == 0  # once per level, however often the sweep runs
    row = task_row(app, code, "verify_application")
    assert row.overdue and row.escalations == 1 and row.due_at.isoformat() == utc("2027-09-02 11:00")
    overdue = inbox(client, token(client, "supervisor1"), overdue="true")
    assert [t["step"] for t in overdue if t["application_code"] == code] == ["verify_application"]
    assert all(t["application_code"] != code for t in inbox(client, token(client, "admin1"), overdue="false"))
    for moment in ("2027-09-02 11:59:59", "2027-09-02 12:00", "2027-09-02 12:30", "2027-09-02 13:00",
                   "2027-09-02 14:00", "2027-09-03 10:00"):
        at(moment)
        sweep(app)
    assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00")),
                                      ("verify_application", 2, utc("2027-09-02 12:00")),
                                      ("verify_application", 3, utc("2027-09-02 13:00"))]
    staff = outbox(app, channel="staff", recipient="supervisor1")  # (other tests may add supervisors)
    assert [(o.kind, o.payload["level"]) for o in staff] == [("escalation", 1), ("escalation", 2),
                                                             ("escalation", 3)]
    assert "Eskalasi tingkat 3" in staff[2].payload["text"]
    assert task_row(app, code, "verify_application").escalations == 3
    # the card shows each level once
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=token(client, "admin1")).get_json()
    assert [e["level"] for e in card["items"][1]["escalations"]] == [1, 2, 3]


def test_cap_is_configurable(client: FlaskClient, app: Flask, cap: None) -> None:
    escalation.configure(1)
    at("2027-09-02 10:00")
    code = new_application(client)
    for moment in ("2027-09-02 11:00", "2027-09-02 12:00", "2027-09-02 13:00"):
        at(moment)
        sweep(app)
    assert [level for _, level, _ in escalations(app, code)] == [1]
    with pytest.raises(ValueError):
        escalation.configure(0)


def test_completion_before_the_deadline_cancels_the_timer(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    verify = task_row(app, code, "verify_application")
    at("2027-09-02 10:59")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    with app.app_context():
        timer = db.session.scalar(select(Timer).where(Timer.task_id == verify.id))
        assert timer.state == "cancelled" and timer.fired_at is None
    at("2027-09-02 11:30")  # verify's deadline passed; print_card's (11:59) not yet
    assert sweep(app) == 0
    assert escalations(app, code) == []
    assert not task_row(app, code, "verify_application").overdue


def test_completion_after_an_escalation_cancels_the_next_levels(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    at("2027-09-02 11:00")
    assert sweep(app) == 1
    at("2027-09-02 11:30")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    with app.app_context():
        repeats = list(db.session.scalars(select(Timer).where(Timer.kind == "repeat")))
    assert [(t.level, t.state) for t in repeats] == [(2, "cancelled")]
    at("2027-09-02 12:00")
    assert sweep(app) == 0
    assert [level for _, level, _ in escalations(app, code)] == [1]


def test_the_applicants_own_overdue_step_reminds_the_applicant(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    at("2027-09-02 10:30")
    finish(client, "admin1", code, {"decision": "incomplete", "note": "Foto KK buram."})
    row = task_row(app, code, "correct_application")
    assert (row.lane, row.time_basis, row.due_at.isoformat()) == ("applicant", "calendar", utc("2027-09-03 10:30"))
    at("2027-09-03 10:30")
    assert sweep(app) == 1
    reminders = outbox(app, kind="reminder")
    assert [(o.channel, o.recipient, o.payload["level"]) for o in reminders] == [("whatsapp", "6281234567890", 1)]
    assert "Pengingat" in reminders[0].payload["text"]
    assert outbox(app, channel="staff") == []
    assert escalations(app, code) == [("correct_application", 1, utc("2027-09-03 10:30"))]


def test_missed_timers_fire_once_at_start_up(client: FlaskClient, app: Flask) -> None:
    """The service was down over three deadlines: the first start fires each once, not per missed
    level; a second start fires nothing more."""
    at("2027-09-02 10:00")
    codes = [new_application(client) for _ in range(3)]
    at("2027-09-02 15:00")  # four hours late: levels 1-3 would all have been due
    for _ in range(2):
        sweeper = Sweeper(app)
        sweeper.start()
        try:
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and sum(len(escalations(app, c)) for c in codes) < 3:
                time.sleep(0.05)
            time.sleep(0.3)  # a second tick would fire again if it were not exactly once
        finally:
            sweeper.stop()
        for code in codes:
            assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 15:00"))]
    with app.app_context():
        repeats = list(db.session.scalars(select(Timer).where(Timer.kind == "repeat")))
    # the next level is one standard period after the late firing, not a burst of missed levels
    assert sorted((t.level, t.due_at) for t in repeats) == [(2, wib("2027-09-02 16:00"))] * 3

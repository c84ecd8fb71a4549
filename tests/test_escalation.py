"""Escalations on a controllable clock (no sleeping): once per level up to the cap, cancelled by a
completion, reminders for the applicant's own step, missed timers fired once after downtime."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from api.extensions import db
from api.scheduler import Sweeper
from engine.kia import applications
from engine.models import Event, Notification, Outbox, TaskRow, Timer, User
from engine.workflow import escalation, incidents, instances, services, timers
from engine.workflow.clock import clock

from .helpers import inbox, token
from .scripted import STEP_DATA, at, finish, new_application, sweep, utc, wib


@pytest.fixture
def cap() -> Iterator[None]:
    yield
    escalation.configure(escalation.DEFAULT_CAP)


def escalations(app: Flask, code: str) -> list[tuple[str, int, str]]:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        return [
            (e.step, e.detail["level"], e.at.isoformat())
            for e in db.session.scalars(
                select(Event).where(Event.instance_id == instance.id, Event.kind == "escalated").order_by(Event.id)
            )
        ]


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
    for moment in (
        "2027-09-02 11:59:59",
        "2027-09-02 12:00",
        "2027-09-02 12:30",
        "2027-09-02 13:00",
        "2027-09-02 14:00",
        "2027-09-03 10:00",
    ):
        at(moment)
        sweep(app)
    assert escalations(app, code) == [
        ("verify_application", 1, utc("2027-09-02 11:00")),
        ("verify_application", 2, utc("2027-09-02 12:00")),
        ("verify_application", 3, utc("2027-09-02 13:00")),
    ]
    # level 1 to the admin lane's staff, level 2 and above to the supervisors too (other tests may add
    # officers: only the provisioned ones are compared)
    provisioned = {"admin1", "admin2", "supervisor1", "operator1", "dafdud1", "uptd_binawidya", "owner1"}
    assert [told for told in notices_about(app, code) if told[0] in provisioned] == [
        *[("admin1", 1), ("admin2", 1)],
        *[("admin1", 2), ("admin2", 2), ("supervisor1", 2)],
        *[("admin1", 3), ("admin2", 3), ("supervisor1", 3)],
    ]
    with app.app_context():
        last = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
        assert last.title.startswith("Eskalasi tingkat 3") and last.task_id == row.id
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
    # applied through the API without consent to WhatsApp notices: by e-mail
    assert [(o.channel, o.recipient, o.payload["level"]) for o in reminders] == [("email", "siti@example.com", 1)]
    assert "Pengingat" in reminders[0].payload["text"]
    assert notices_about(app, code) == []  # the applicant's own step: no officer is told
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


def record_phase(app: Flask) -> int:
    """Only the sweep's record phase, as if the sweeper died right after it committed."""
    with app.app_context():
        return timers.record_due(sessionmaker(bind=db.engine, expire_on_commit=False), clock.now())


def instance_of(app: Flask, code: str) -> tuple[int, str, str]:
    """(lock version, state of the diagram's escalation task, state of the verification timer row)."""
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        workflow = instances.load(db.session, instance).workflow
        escalate = [t for t in workflow.get_tasks() if t.task_spec.bpmn_id == "escalate_verify_application"]
        timer = db.session.scalar(
            select(Timer).where(
                Timer.instance_id == instance.id, Timer.kind == "diagram", Timer.step == "verify_application"
            )
        )
        result = (instance.lock_version, TaskState.get_name(escalate[0].state) if escalate else "none", timer.state)
        db.session.rollback()
        return result


def notices_about(app: Flask, code: str) -> list[tuple[str, int]]:
    """(officer, level) of each notification about the application, in order."""
    with app.app_context():
        return [
            (username, level)
            for username, level in db.session.execute(
                select(User.username, Notification.level)
                .join(User, User.id == Notification.user_id)
                .where(Notification.application_code == code)
                .order_by(Notification.id)
            )
        ]


def test_the_escalation_is_recorded_at_the_deadline_and_the_workflow_catches_up_once(
    client: FlaskClient, app: Flask
) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    version, _, _ = instance_of(app, code)
    at("2027-09-02 11:00")
    assert record_phase(app) == 1
    # visible at once: the task overdue, the level on the history, the supervisors told, level 2 planned;
    # the workflow itself not touched yet
    row = task_row(app, code, "verify_application")
    assert row.overdue and row.escalations == 1
    assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00"))]
    told = notices_about(app, code)
    assert told and {level for _, level in told} == {1}
    assert instance_of(app, code) == (version, "MAYBE", "recorded")  # not yet run
    with app.app_context():
        assert [
            (t.level, t.state)
            for t in db.session.scalars(select(Timer).where(Timer.task_id == row.id, Timer.kind == "repeat"))
        ] == [(2, "waiting")]
    assert record_phase(app) == 0  # once
    # the next sweep (after a crash, or the same sweep's second phase) takes the boundary path
    assert sweep(app) == 0  # nothing newly escalated
    later, escalate_task, timer_state = instance_of(app, code)
    assert later > version and escalate_task == "COMPLETED" and timer_state == "fired"
    assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00"))]
    assert notices_about(app, code) == told
    assert task_row(app, code, "verify_application").escalations == 1
    at("2027-09-02 12:00")
    assert sweep(app) == 1
    assert [level for _, level, _ in escalations(app, code)] == [1, 2]


def test_a_completion_between_recording_and_catching_up_keeps_the_escalation(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    at("2027-09-02 11:00")
    assert record_phase(app) == 1
    at("2027-09-02 11:10")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    _, _, timer_state = instance_of(app, code)
    assert timer_state == "fired"  # its escalation stands; nothing is left for the workflow to do
    assert sweep(app) == 0
    at("2027-09-02 12:00")
    assert sweep(app) == 0  # level 2 was cancelled by the completion
    assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00"))]
    row = task_row(app, code, "verify_application")
    assert row.state == "completed" and row.overdue and row.escalations == 1


def test_when_the_batch_form_fails_each_timer_is_fired_the_exact_way(
    client: FlaskClient, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_: object) -> int:
        raise RuntimeError("batch form broken")

    monkeypatch.setitem(services._BATCH_HANDLERS, "escalate", broken)
    at("2027-09-02 10:00")
    codes = [new_application(client) for _ in range(2)]
    at("2027-09-02 11:00")
    assert sweep(app) == 2
    assert sweep(app) == 0
    for code in codes:
        assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00"))]
        assert instance_of(app, code)[1:] == ("COMPLETED", "fired")
    at("2027-09-02 12:00")  # the repeats, one by one through the same (broken) batch form: incidents
    assert sweep(app) == 0
    with app.app_context():
        assert [(i.kind, i.state, i.attempts) for i in incidents.listing(db.session)] == [("timer", "open", 1)] * 2
    monkeypatch.undo()
    assert sweep(app) == 0  # out of the sweeps until the incident is retried ...
    at("2027-09-02 12:15")
    assert sweep(app) == 2  # ... which the sweep does itself after a while
    assert [level for _, level, _ in escalations(app, codes[0])] == [1, 2]
    with app.app_context():
        assert incidents.listing(db.session) == []


def test_a_step_busy_in_another_transaction_is_left_for_the_next_round(
    client: FlaskClient, app: Flask, database_url: str
) -> None:
    """PostgreSQL: a completion holds its task row while the sweep records. The sweep neither waits
    (it could deadlock with the completion, which wants the timer next) nor records: the timer waits."""
    if not database_url.startswith("postgresql"):
        pytest.skip("row locks held by another transaction: PostgreSQL (SQLite has one writer at a time)")
    at("2027-09-02 10:00")
    code = new_application(client)
    row = task_row(app, code, "verify_application")
    at("2027-09-02 11:00")
    with app.app_context(), db.engine.connect() as other:
        other.execute(select(TaskRow.id).where(TaskRow.id == row.id).with_for_update())
        started = time.monotonic()
        assert record_phase(app) == 0
        assert time.monotonic() - started < 5  # did not wait for the lock
        timer = db.session.scalar(select(Timer).where(Timer.task_id == row.id, Timer.kind == "diagram"))
        assert (timer.state, timer.fired_at) == ("waiting", None)
        db.session.rollback()
        other.rollback()
    assert escalations(app, code) == []
    assert record_phase(app) == 1
    assert escalations(app, code) == [("verify_application", 1, utc("2027-09-02 11:00"))]


def test_completions_racing_the_record_phase_end_consistent(client: FlaskClient, app: Flask, database_url: str) -> None:
    """PostgreSQL, real concurrency: officers complete overdue steps while the sweep records them. No
    request fails with a server error or a deadlock, no step is escalated twice, and nothing is left due."""
    if not database_url.startswith("postgresql"):
        pytest.skip("concurrent writers: PostgreSQL (SQLite has one writer at a time)")
    at("2027-09-02 10:00")
    codes = [new_application(client) for _ in range(24)]
    with app.app_context():
        task_ids = list(
            db.session.scalars(select(TaskRow.id).where(TaskRow.step == "verify_application", TaskRow.state == "open"))
        )
        db.session.rollback()
    at("2027-09-02 11:00")
    headers = token(client, "admin1")
    statuses: list[int] = []

    def officer(ids: list[str]) -> None:
        own = app.test_client()
        for task_id in ids:
            for _ in range(20):  # a 409 (busy) is asked again, as the page would
                own.post(f"/api/v1/tasks/{task_id}/claim", headers=headers)
                status = own.post(
                    f"/api/v1/tasks/{task_id}/complete", json=STEP_DATA["admin1"], headers=headers
                ).status_code
                statuses.append(status)
                if status != 409:
                    break

    def small_chunks() -> None:  # four timers per record transaction: many interleavings
        with app.app_context():
            timers.fire_due(sessionmaker(bind=db.engine, expire_on_commit=False), chunk=4)

    officers = [threading.Thread(target=officer, args=(task_ids[n::3],)) for n in range(3)]
    sweeper = threading.Thread(target=small_chunks)
    for thread in (*officers, sweeper):
        thread.start()
    for thread in (sweeper, *officers):
        thread.join(120)
    assert set(statuses) <= {200, 409} and statuses.count(200) == len(task_ids), statuses
    at("2027-09-02 13:00")  # any level 2 planned in the race is due now, for a step no longer open
    sweep(app)
    for code in codes:
        levels = [level for step, level, _ in escalations(app, code) if step == "verify_application"]
        assert levels in ([], [1])
    with app.app_context():
        left = db.session.scalar(
            select(func.count())
            .select_from(Timer)
            .where(
                Timer.state.in_(("waiting", "recorded")),
                Timer.due_at <= clock.now(),
                Timer.step == "verify_application",
            )
        )
        assert left == 0
        db.session.rollback()

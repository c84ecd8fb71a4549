"""Holds ("tunda", issue 19 point 4) through the API, on SQLite and PostgreSQL and a controllable clock: an
office problem stops a step's clock in working time. No escalation fires while a step is held; on resume
its deadline and its escalation timers move by the held working time, so an overrun is counted outside
holds only (control card, SLA report); a held step cannot be completed; the applicant is not told."""

from __future__ import annotations

from datetime import date

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from api.extensions import db
from engine.kia import applications
from engine.models import Event, Outbox, Timer
from engine.reports.sla import sla_report

from .helpers import token
from .pdfcheck import pages_text
from .scripted import STEP_DATA, at, claim, finish, new_application, sweep, task_of, utc
from .test_escalation import escalations, task_row

BLANGKO = "Blangko KIA habis"


def hold(client: FlaskClient, user: str, task_id: str, reason: str | None = BLANGKO):  # noqa: ANN201
    body = {} if reason is None else {"reason": reason}
    return client.post(f"/api/v1/tasks/{task_id}/hold", json=body, headers=token(client, user))


def resume(client: FlaskClient, user: str, task_id: str):  # noqa: ANN201
    return client.post(f"/api/v1/tasks/{task_id}/resume", headers=token(client, user))


def card_entry(client: FlaskClient, code: str, step: str) -> dict:
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=token(client, "supervisor1"))
    assert card.status_code == 200, card.get_json()
    [entry] = [e for e in card.get_json()["items"] if e["step"] == step]
    return entry


def timer_states(app: Flask, task_id: str) -> list[tuple[str, int, str, str]]:
    with app.app_context():
        return [
            (t.kind, t.level, t.state, t.due_at.isoformat())
            for t in db.session.scalars(select(Timer).where(Timer.task_id == task_id).order_by(Timer.level))
        ]


def messages_to_applicant(app: Flask, code: str) -> list[str]:
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        return list(db.session.scalars(select(Outbox.kind).where(Outbox.instance_id == instance.id)))


def test_a_hold_stops_the_clock_in_working_time(client: FlaskClient, app: Flask, working_time: None) -> None:
    """The operator runs out of blank cards on Thursday at 10:00 with 30 working minutes left, and gets
    them on Friday at 09:00: 7 h 30 min of working time held (Thursday until 16:00, Friday from 07:30),
    nights not counted; the deadline moves from Thursday 10:30 to Friday 09:30, and only then escalates."""
    at("2027-09-02 09:00")  # a Thursday
    code = new_application(client)
    at("2027-09-02 09:30")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    task = task_of(client, token(client, "operator1"), code)
    assert task["step"] == "print_card" and task["due_at"] == utc("2027-09-02 10:30")
    sent_before = messages_to_applicant(app, code)

    at("2027-09-02 10:00")
    held = hold(client, "operator1", task["id"])
    assert held.status_code == 200, held.get_json()
    body = held.get_json()
    assert (body["held_at"], body["held_by"], body["hold_reason"]) == (utc("2027-09-02 10:00"), "operator1", BLANGKO)
    assert [state for _, _, state, _ in timer_states(app, task["id"])] == ["held"]
    again = hold(client, "operator1", task["id"], "Printer rusak")
    assert again.status_code == 409 and "sudah ditunda" in again.get_json()["error"]["message"]
    listed = task_of(client, token(client, "operator1"), code)  # the inbox shows it held
    assert (listed["hold_reason"], listed["held_by"]) == (BLANGKO, "operator1")

    # completing a held step is refused: it is resumed first
    refused = client.post(
        f"/api/v1/tasks/{task['id']}/complete", json=STEP_DATA["operator1"], headers=token(client, "operator1")
    )
    assert refused.status_code == 409
    assert "ditunda" in refused.get_json()["error"]["message"] and BLANGKO in refused.get_json()["error"]["message"]

    # no escalation while held, however long past the old deadline
    for moment in ("2027-09-02 10:30", "2027-09-02 15:59", "2027-09-03 07:00", "2027-09-03 08:59"):
        at(moment)
        assert sweep(app) == 0
    assert escalations(app, code) == []
    entry = card_entry(client, code, "print_card")
    assert entry["held"] is True and entry["outcome"] == "pending"  # held before its deadline: not late
    # so far: Thursday 10:00-16:00 and Friday 07:30-08:59 (working time)
    assert entry["holds"][0]["resumed_at"] is None and entry["holds"][0]["label"] == "7 jam 29 menit"
    at("2027-09-03 09:00")
    resumed = resume(client, "operator1", task["id"])
    assert resumed.status_code == 200, resumed.get_json()
    body = resumed.get_json()
    assert body["held_at"] is None and body["hold_reason"] is None
    assert body["held_seconds"] == 7 * 3600 + 30 * 60
    assert body["due_at"] == utc("2027-09-03 09:30")  # the 30 working minutes left when it was held
    assert timer_states(app, task["id"]) == [("diagram", 1, "waiting", utc("2027-09-03 09:30"))]
    assert resume(client, "operator1", task["id"]).status_code == 409  # not held any more

    at("2027-09-03 09:29")
    assert sweep(app) == 0
    at("2027-09-03 09:30")
    assert sweep(app) == 1
    assert escalations(app, code) == [("print_card", 1, utc("2027-09-03 09:30"))]

    entry = card_entry(client, code, "print_card")
    assert entry["deadline"] == utc("2027-09-03 09:30") and entry["held"] is False
    assert entry["held_seconds"] == 27000 and entry["held_label"] == "7 jam 30 menit"
    assert entry["holds"] == [
        {
            "reason": BLANGKO,
            "by": "operator1",
            "by_name": "Operator1",
            "at": utc("2027-09-02 10:00"),
            "resumed_at": utc("2027-09-03 09:00"),
            "resumed_by": "operator1",
            "resumed_by_name": "Operator1",
            "seconds": 27000,
            "label": "7 jam 30 menit",
        }
    ]
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        kinds = list(
            db.session.scalars(
                select(Event.kind)
                .where(Event.instance_id == instance.id, Event.kind.in_(("held", "resumed")))
                .order_by(Event.id)
            )
        )
    assert kinds == ["held", "resumed"]
    # the applicant is not told of an office problem
    assert messages_to_applicant(app, code) == sent_before


def test_a_step_held_after_its_deadline_stays_late_and_its_next_level_waits(client: FlaskClient, app: Flask) -> None:
    """Working time off (a 24-hour office): verification is due 11:00 and escalates; held 11:30–14:30,
    its level 2 (due 12:00) waits and falls due at 15:00. The overrun counts outside the hold only."""
    at("2027-09-02 10:00")
    code = new_application(client)
    at("2027-09-02 11:00")
    assert sweep(app) == 1
    task = task_of(client, token(client, "admin1"), code)
    at("2027-09-02 11:30")
    assert hold(client, "admin1", task["id"], "Server SIAK tidak dapat diakses").status_code == 200
    assert [(k, lv, s) for k, lv, s, _ in timer_states(app, task["id"])] == [
        ("diagram", 1, "fired"),
        ("repeat", 2, "held"),
    ]
    entry = card_entry(client, code, "verify_application")
    assert entry["outcome"] == "overrun"  # it was late before the hold
    for moment in ("2027-09-02 12:00", "2027-09-02 13:00", "2027-09-02 14:29"):
        at(moment)
        assert sweep(app) == 0
    at("2027-09-02 14:30")
    body = resume(client, "admin1", task["id"]).get_json()
    assert body["due_at"] == utc("2027-09-02 14:00") and body["overdue"] is True and body["held_seconds"] == 3 * 3600
    assert timer_states(app, task["id"])[1] == ("repeat", 2, "waiting", utc("2027-09-02 15:00"))
    at("2027-09-02 14:59")
    assert sweep(app) == 0
    at("2027-09-02 15:00")
    assert sweep(app) == 1
    assert [level for _, level, _ in escalations(app, code)] == [1, 2]
    at("2027-09-02 15:10")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    entry = card_entry(client, code, "verify_application")
    # 5 h 10 min from ready to done, 3 h of it held: 2 h 10 min taken, over its 1 h standard
    assert (entry["working_time_seconds"], entry["met"], entry["outcome"]) == (7800, False, "overrun")
    with app.app_context():
        [report] = [
            r for r in sla_report(db.session, date(2027, 9, 2), date(2027, 9, 2)) if r["step"] == "verify_application"
        ]
    assert (report["median_seconds"], report["within_standard"]) == (7800, 0)


def test_held_time_is_not_an_overrun(client: FlaskClient, app: Flask) -> None:
    """Held 10:30–13:30 with 30 minutes of its hour left, done at 13:45: within the standard (it took 45
    minutes outside the hold), on the control card and in the SLA report; nothing escalated."""
    at("2027-09-02 10:00")
    code = new_application(client)
    task = task_of(client, token(client, "admin1"), code)
    at("2027-09-02 10:30")
    assert hold(client, "admin1", task["id"], "Jaringan kantor putus").status_code == 200
    for moment in ("2027-09-02 11:00", "2027-09-02 12:00", "2027-09-02 13:00"):
        at(moment)
        assert sweep(app) == 0
    at("2027-09-02 13:30")
    assert resume(client, "admin2", task["id"]).get_json()["due_at"] == utc(
        "2027-09-02 14:00"
    )  # any officer of the lane
    at("2027-09-02 13:45")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    assert escalations(app, code) == []
    row = task_row(app, code, "verify_application")
    assert not row.overdue and row.escalations == 0
    entry = card_entry(client, code, "verify_application")
    assert (entry["working_time_seconds"], entry["met"], entry["outcome"]) == (2700, True, "met")
    assert entry["holds"][0]["resumed_by"] == "admin2" and entry["holds"][0]["label"] == "3 jam"
    with app.app_context():
        [report] = [
            r for r in sla_report(db.session, date(2027, 9, 2), date(2027, 9, 2)) if r["step"] == "verify_application"
        ]
    assert (report["median_seconds"], report["within_standard"], report["within_standard_share"]) == (2700, 1, 1.0)


def test_hold_and_resume_errors(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    code = new_application(client)
    task = task_of(client, token(client, "admin1"), code)
    url = f"/api/v1/tasks/{task['id']}/hold"

    missing = hold(client, "admin1", task["id"], None)
    assert missing.status_code == 422 and missing.get_json()["error"]["fields"] == {"reason": ["Wajib diisi."]}
    blank = hold(client, "admin1", task["id"], "   ")
    assert blank.status_code == 422 and blank.get_json()["error"]["fields"] == {"reason": ["Tidak boleh kosong."]}
    long = hold(client, "admin1", task["id"], "x" * 201)
    assert long.status_code == 422 and "maksimal 200" in long.get_json()["error"]["fields"]["reason"][0]
    form = client.post(url, data="reason=x", headers=token(client, "admin1"))  # not JSON: no reason given
    assert form.status_code == 422 and form.get_json()["error"]["fields"] == {"reason": ["Wajib diisi."]}
    assert hold(client, "operator1", task["id"]).status_code == 403  # another lane
    assert hold(client, "supervisor1", task["id"]).status_code == 403  # sees it, has no lane to act in
    assert client.post(url, json={"reason": BLANGKO}).status_code == 401
    unknown = hold(client, "admin1", "00000000-0000-0000-0000-000000000000")
    assert unknown.status_code == 404
    assert resume(client, "admin1", task["id"]).status_code == 409  # not held

    claim(client, "admin1", code)
    taken = hold(client, "admin2", task["id"])
    assert taken.status_code == 409 and "admin1" in taken.get_json()["error"]["message"]
    assert hold(client, "admin1", task["id"]).status_code == 200  # the claimant may
    assert resume(client, "operator1", task["id"]).status_code == 403

    # a Ka. UPTD acts on their own kecamatan's steps only
    assert resume(client, "admin1", task["id"]).status_code == 200
    for user in ("admin1", "operator1", "dafdud1"):
        finish(client, user, code, STEP_DATA[user])
    arrival = task_of(client, token(client, "uptd_binawidya"), code)
    assert arrival["step"] == "confirm_arrival"
    assert hold(client, "uptd_sukajadi", arrival["id"]).status_code == 403
    assert hold(client, "uptd_binawidya", arrival["id"], "Petugas loket cuti").status_code == 200
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "held")) == 2


def test_the_task_page_holds_and_resumes(client: FlaskClient, app: Flask) -> None:
    """The operator's task page: the hold form (its reason asked, in Indonesian), the held task marked
    in the inbox and on its page without the completion form, the resume; the application page's
    control card and history show the hold with its duration."""
    from .test_web_pages import sign_in

    at("2027-09-02 10:00")
    code = new_application(client)
    finish(client, "admin1", code, STEP_DATA["admin1"])
    task = task_of(client, token(client, "operator1"), code)
    csrf = sign_in(client, "operator1")
    page = client.get(f"/petugas/tugas/{task['id']}")
    assert page.status_code == 200 and 'id="hold-form"' in page.text and 'id="complete"' in page.text

    empty = client.post(f"/petugas/tugas/{task['id']}/tunda", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 422 and "Tidak boleh kosong." in empty.text
    assert task_row(app, code, "print_card").held_at is None
    at("2027-09-02 10:20")
    held = client.post(f"/petugas/tugas/{task['id']}/tunda", data={"reason": BLANGKO, "csrf_token": csrf})
    assert held.status_code == 302
    page = client.get(f"/petugas/tugas/{task['id']}")
    assert "Ditunda: Blangko KIA habis" in page.text and 'id="resume"' in page.text
    assert 'id="complete"' not in page.text and 'id="hold-form"' not in page.text
    inbox_page = client.get("/petugas/tugas")
    assert "Ditunda: Blangko KIA habis" in inbox_page.text and "berhenti selama ditunda" in inbox_page.text

    at("2027-09-02 10:45")  # within the 30 minutes a staff session may idle
    assert client.post(f"/petugas/tugas/{task['id']}/lanjutkan", data={"csrf_token": csrf}).status_code == 302
    page = client.get(f"/petugas/tugas/{task['id']}")
    assert 'id="complete"' in page.text and "Ditunda:" not in page.text
    card = client.get(f"/petugas/permohonan/{code}").text
    assert "lama ditunda 25 menit" in card and "Blangko KIA habis" in card
    assert "Ditunda (kendala kantor)" in card and "Dilanjutkan setelah ditunda" in card
    pdf = client.get(f"/api/v1/applications/{code}/control-card.pdf", headers=token(client, "operator1"))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(" ".join(pages_text(pdf.data)).split())
    assert "Ditunda: Blangko KIA habis" in text and "lama ditunda 25 menit" in text, text


def test_a_calendar_change_during_a_hold_moves_the_held_timer_with_its_step(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    """A supervisor closes the day while the print is on hold: the step's deadline and its held timer
    move together (engine.workflow.deadlines.set_deadlines), and the resume adds the held working time to
    both."""
    at("2027-09-02 09:00")  # a Thursday
    code = new_application(client)
    at("2027-09-02 09:30")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    task = task_of(client, token(client, "operator1"), code)
    at("2027-09-02 10:00")
    assert hold(client, "operator1", task["id"]).status_code == 200
    closed = client.post(
        "/api/v1/calendar/overrides",
        json={"date": "2027-09-02", "open": False, "reason": "Pemadaman listrik"},
        headers=token(client, "supervisor1"),
    )
    assert closed.status_code == 201, closed.get_json()
    assert task_row(app, code, "print_card").due_at.isoformat() == utc("2027-09-03 08:30")  # Thursday closed
    assert timer_states(app, task["id"]) == [("diagram", 1, "held", utc("2027-09-03 08:30"))]
    at("2027-09-03 08:45")  # past the moved deadline, still held: no escalation
    assert sweep(app) == 0
    at("2027-09-03 09:00")  # held: Friday 07:30-09:00 (Thursday was closed)
    body = resume(client, "operator1", task["id"]).get_json()
    assert body["held_seconds"] == 90 * 60 and body["due_at"] == utc("2027-09-03 10:00")
    assert timer_states(app, task["id"]) == [("diagram", 1, "waiting", utc("2027-09-03 10:00"))]

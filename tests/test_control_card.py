"""The control card against a scripted history (working time, Asia/Jakarta), through the API."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from api.extensions import db
from engine.kia import applications
from engine.reports.control_card import control_card, duration_label

from .helpers import token
from .scripted import STEP_DATA, arrive, at, claim, finish, new_application, sweep, utc


def scripted_history(client: FlaskClient, app: Flask) -> str:
    """Thu 2027-09-02 15:40 WIB submit; admin claims 15:50 and completes Fri 08:30 (overrun, escalated at
    08:11); operator completes 09:00 unclaimed; dafdud claims 09:05, completes 09:45; the UPTD confirms the
    card's arrival Mon 2027-09-06 09:00 (within its one working day) and hands it over at 10:30, when the
    mother comes (a step without a deadline: the card waited for her)."""
    at("2027-09-02 15:40")
    code = new_application(client)
    at("2027-09-02 15:50")
    claim(client, "admin1", code)
    at("2027-09-03 08:09")
    assert sweep(app) == 0  # not due yet: 08:10
    at("2027-09-03 08:11")
    assert sweep(app) == 1
    at("2027-09-03 08:30")
    finish(client, "admin1", code, STEP_DATA["admin1"])
    at("2027-09-03 09:00")
    finish(client, "operator1", code, STEP_DATA["operator1"])
    at("2027-09-03 09:05")
    claim(client, "dafdud1", code)
    at("2027-09-03 09:45")
    finish(client, "dafdud1", code, STEP_DATA["dafdud1"])
    at("2027-09-06 09:00")
    arrive(client, code)
    at("2027-09-06 10:30")
    finish(client, "uptd_binawidya", code, STEP_DATA["uptd_binawidya"])
    return code


EXPECTED = [
    # step, lane, received_by, initials, received_at, completed_by, completed_at, standard, basis,
    # deadline, seconds, outcome, escalations
    (
        "submit_application",
        "applicant",
        "pemohon",
        None,
        "2027-09-02 15:40",
        "pemohon",
        "2027-09-02 15:40",
        "PT5M",
        "calendar",
        "2027-09-02 15:45",
        0,
        "met",
        [],
    ),
    (
        "verify_application",
        "admin",
        "admin1",
        "A",
        "2027-09-02 15:50",
        "admin1",
        "2027-09-03 08:30",
        "PT1H",
        "working",
        "2027-09-03 08:10",
        80 * 60,
        "overrun",
        [(1, "2027-09-03 08:11")],
    ),
    (
        "print_card",
        "operator",
        "operator1",
        "O",
        "2027-09-03 09:00",
        "operator1",
        "2027-09-03 09:00",
        "PT1H",
        "working",
        "2027-09-03 09:30",
        30 * 60,
        "met",
        [],
    ),
    (
        "group_cards",
        "dafdud",
        "dafdud1",
        "D",
        "2027-09-03 09:05",
        "dafdud1",
        "2027-09-03 09:45",
        "PT1H",
        "working",
        "2027-09-03 10:00",
        45 * 60,
        "met",
        [],
    ),
    (
        "confirm_arrival",
        "uptd",
        "uptd_binawidya",
        "UB",
        "2027-09-06 09:00",
        "uptd_binawidya",
        "2027-09-06 09:00",
        "P1D",
        "working",
        "2027-09-06 09:45",
        (6 * 60 + 45 + 90) * 60,
        "met",
        [],
    ),
    (
        "hand_over_card",
        "uptd",
        "uptd_binawidya",
        "UB",
        "2027-09-06 10:30",
        "uptd_binawidya",
        "2027-09-06 10:30",
        "P1D",
        "working",
        None,  # no deadline: the card waits for the parent
        90 * 60,
        "no_deadline",
        [],
    ),
]


def test_control_card_matches_the_scripted_history(client: FlaskClient, app: Flask, working_time: None) -> None:
    code = scripted_history(client, app)
    response = client.get(f"/api/v1/applications/{code}/control-card", headers=token(client, "supervisor1"))
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["code"] == code and body["status"] == "selesai"
    items = body["items"]
    assert [i["seq"] for i in items] == [1, 2, 3, 4, 5, 6]
    for item, expected in zip(items, EXPECTED, strict=True):
        (
            step,
            lane,
            received_by,
            initials,
            received_at,
            completed_by,
            completed_at,
            standard,
            basis,
            deadline,
            seconds,
            outcome,
            escalations,
        ) = expected
        assert item["step"] == step and item["lane"] == lane
        assert item["received_by"] == received_by and item["received_at"] == utc(received_at)
        assert item["received_by_initials"] == initials and item["completed_by_initials"] == initials
        assert item["completed_by"] == completed_by and item["completed_at"] == utc(completed_at)
        assert (item["time_standard"], item["time_basis"]) == (standard, basis)
        assert item["deadline"] == (utc(deadline) if deadline else None), step
        assert item["working_time_seconds"] == seconds, step
        assert item["outcome"] == outcome and item["met"] is {"met": True, "overrun": False}.get(outcome)
        assert [(e["level"], e["at"]) for e in item["escalations"]] == [(lv, utc(t)) for lv, t in escalations]
        assert item["state"] == "completed"
    assert items[1]["received_by_name"] == "Admin1" and items[0]["received_by_name"] is None
    assert items[4]["completed_by_name"] == items[5]["completed_by_name"] == "Uptd Binawidya"
    assert items[1]["working_time_label"] == "1 jam 20 menit"
    assert items[0]["working_time_label"] == "0 detik"
    assert items[4]["working_time_label"] == "8 jam 15 menit"
    # the wait for the parent is shown apart, and only on the step without a deadline
    assert (items[5]["waiting_seconds"], items[5]["waiting_label"]) == (90 * 60, "1 jam 30 menit")
    assert all(i["waiting_seconds"] is None and i["waiting_label"] is None for i in items[:5])


def test_open_step_overrun_and_pending(client: FlaskClient, app: Flask, working_time: None) -> None:
    at("2027-09-02 15:40")
    code = new_application(client)
    with app.app_context():
        instance = applications.by_code(db.session, code).instance
        card = control_card(db.session, instance)
        assert [c["outcome"] for c in card] == ["met", "pending"]
        assert card[1]["received_by"] is None and card[1]["completed_at"] is None
        assert card[1]["working_time_seconds"] is None and card[1]["met"] is None
        at("2027-09-03 08:11")  # past the 08:10 deadline, not yet escalated
        card = control_card(db.session, instance)
        assert (card[1]["outcome"], card[1]["met"], card[1]["escalations"]) == ("overrun", False, [])


def test_control_card_access(client: FlaskClient, app: Flask) -> None:
    code = new_application(client)
    url = f"/api/v1/applications/{code}/control-card"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=token(client, "owner1")).status_code == 403
    assert client.get(url, headers=token(client, "uptd_sukajadi")).status_code == 403  # other kecamatan
    assert client.get(url, headers=token(client, "uptd_binawidya")).status_code == 200
    missing = client.get("/api/v1/applications/ZZZZ9999/control-card", headers=token(client, "admin1"))
    assert missing.status_code == 404 and missing.get_json()["error"]["code"]


def test_duration_label() -> None:
    from datetime import timedelta

    assert duration_label(None) is None
    assert duration_label(timedelta(seconds=45)) == "45 detik"
    assert duration_label(timedelta(days=2, hours=1, minutes=5, seconds=9)) == "2 hari 1 jam 5 menit"
    assert duration_label(timedelta(hours=3)) == "3 jam"

"""The SLA report against a scripted history (working time, Asia/Jakarta)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from engine.reports.sla import nearest_rank

from .helpers import token
from .scripted import STEP_DATA, at, finish, new_application


def scripted_history(client: FlaskClient) -> None:
    """Thursday 2027-09-02: four verifications taking 30, 90, 50 and 45 working minutes (the 90 one
    overran; the 45 one spans the night), one print taking 30; a fifth application on 2027-09-10
    falls outside the reported period."""
    at("2027-09-02 08:00")
    a1 = new_application(client)
    at("2027-09-02 08:30")
    finish(client, "admin1", a1, STEP_DATA["admin1"])
    at("2027-09-02 09:00")
    a2 = new_application(client)
    finish(client, "operator1", a1, STEP_DATA["operator1"])
    at("2027-09-02 10:00")
    a4 = new_application(client)
    at("2027-09-02 10:30")
    finish(client, "admin1", a2, STEP_DATA["admin1"])
    at("2027-09-02 10:50")
    finish(client, "admin1", a4, STEP_DATA["admin1"])
    at("2027-09-02 15:30")
    a3 = new_application(client)
    at("2027-09-03 07:45")
    finish(client, "admin1", a3, STEP_DATA["admin1"])
    at("2027-09-10 10:00")
    a5 = new_application(client)
    at("2027-09-10 10:10")
    finish(client, "admin1", a5, STEP_DATA["admin1"])


def test_sla_report_matches_the_scripted_history(client: FlaskClient, app: Flask, working_time: None) -> None:
    scripted_history(client)
    boss = token(client, "supervisor1")
    response = client.get("/api/v1/reports/sla", query_string={"from": "2027-09-02", "to": "2027-09-03"}, headers=boss)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["from"], body["to"]) == ("2027-09-02", "2027-09-03")
    rows = {r["step"]: r for r in body["items"]}
    assert [r["step"] for r in body["items"]] == ["submit_application", "verify_application", "print_card"]
    assert rows["submit_application"] | {"title": None, "standards": None} == {
        "step": "submit_application",
        "title": None,
        "lane": "applicant",
        "lane_name": "Masyarakat/Pemohon",
        "time_standard": "PT5M",
        "time_basis": "calendar",
        "count": 4,
        "median_seconds": 0.0,
        "p90_seconds": 0.0,
        "within_standard": 4,
        "within_standard_share": 1.0,
        "standards": None,
    }
    assert rows["submit_application"]["standards"] == [
        {"version": 1, "time_standard": "PT5M", "time_basis": "calendar", "count": 4, "within_standard": 4}
    ]
    verify = rows["verify_application"]
    assert (verify["count"], verify["median_seconds"], verify["p90_seconds"]) == (4, 47.5 * 60, 90 * 60)
    assert (verify["within_standard"], verify["within_standard_share"]) == (3, 0.75)
    assert (verify["lane"], verify["time_standard"], verify["time_basis"]) == ("admin", "PT1H", "working")
    printing = rows["print_card"]
    assert (printing["count"], printing["median_seconds"], printing["p90_seconds"]) == (1, 1800.0, 1800.0)
    assert printing["within_standard_share"] == 1.0

    later = client.get(
        "/api/v1/reports/sla", query_string={"from": "2027-09-10", "to": "2027-09-10"}, headers=boss
    ).get_json()
    assert [(r["step"], r["count"], r["median_seconds"]) for r in later["items"]] == [
        ("submit_application", 1, 0.0),
        ("verify_application", 1, 600.0),
    ]
    empty = client.get(
        "/api/v1/reports/sla", query_string={"from": "2027-09-04", "to": "2027-09-09"}, headers=boss
    ).get_json()
    assert empty["items"] == []
    default = client.get("/api/v1/reports/sla", headers=boss).get_json()  # the last 30 days up to today
    assert (default["from"], default["to"]) == ("2027-08-12", "2027-09-10")
    assert sum(r["count"] for r in default["items"]) == 11


def test_sla_report_access_and_bad_input(client: FlaskClient, app: Flask) -> None:
    url = "/api/v1/reports/sla"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=token(client, "admin1")).status_code == 403
    boss = token(client, "supervisor1")
    bad = client.get(url, query_string={"from": "kemarin"}, headers=boss)
    assert bad.status_code == 422 and "from" in bad.get_json()["error"]["fields"]
    reversed_ = client.get(url, query_string={"from": "2027-09-05", "to": "2027-09-01"}, headers=boss)
    assert reversed_.status_code == 422
    assert client.get(url, query_string={"from": "2027-09-01", "to": "2027-09-05"}, headers=boss).status_code == 200


def test_nearest_rank() -> None:
    assert nearest_rank([1.0], 90) == 1.0
    assert nearest_rank([float(n) for n in range(1, 11)], 90) == 9.0
    assert nearest_rank([float(n) for n in range(1, 12)], 90) == 10.0
    assert nearest_rank([1.0, 2.0], 50) == 1.0

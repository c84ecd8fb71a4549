"""The supervisor's dashboard (issue 19, point 6) against a scripted history, on SQLite and PostgreSQL:
counts of files within and over the standard (not averages) per step in the SOP's order, per kecamatan and
per officer, per day and per week; the SLA report names each version's standard (API and page)."""

from __future__ import annotations

import re
from datetime import date

from flask import Flask
from flask.testing import FlaskClient

from api.extensions import db
from engine.reports import dashboard

from .helpers import token
from .scripted import STEP_DATA, at, deploy_fast, finish, new_application
from .test_sla import scripted_history
from .test_web_pages import sign_in

NAMES = {"14.71.08": "Binawidya"}
OFFICERS = {"admin1": "Admin Satu", "operator1": "Operator Satu"}


def counts(rows: list[dashboard.StandardCount]) -> list[tuple[str, int, int]]:
    return [(r.label, r.within, r.over) for r in rows]


def test_within_and_over_the_standard_per_step_kecamatan_officer_and_week(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    scripted_history(client)  # Thu 2 Sep 2027: verifications of 30, 90, 50, 45 min (the 90 one late); 10 Sep: one
    with app.app_context():
        weekly = dashboard.standard_report(db.session, date(2027, 8, 30), date(2027, 9, 12), "week", NAMES, OFFICERS)
        daily = dashboard.standard_report(db.session, date(2027, 9, 2), date(2027, 9, 3), "day", NAMES, OFFICERS)
        order = dashboard.step_order(db.session)
    assert list(order)[:2] == ["submit_application", "verify_application"]
    assert list(order).index("print_card") < list(order).index("group_cards") < list(order).index("hand_over_card")
    assert counts(weekly.by_step) == [
        ("Mendaftar dan mengajukan permohonan", 5, 0),
        ("Verifikasi dan validasi data dengan SIAK", 4, 1),
        ("Input data ke SIAK dan cetak KIA", 1, 0),
    ]
    assert counts(weekly.by_kecamatan) == [("Binawidya", 10, 1)]
    officers = dict((label, (within, over)) for label, within, over in counts(weekly.by_officer))
    assert officers["Admin Satu"] == (4, 1) and officers["Operator Satu"] == (1, 0)
    assert officers["Pemohon"] == (5, 0)  # the applicant's own submissions
    assert sum(w + o for w, o in officers.values()) == 11  # every completed step counted once, by who did it
    admin = next(c for c in weekly.by_officer if c.label == "Admin Satu")
    assert [(p.first, p.within, p.over) for p in admin.periods] == [(date(2027, 8, 30), 3, 1), (date(2027, 9, 6), 1, 0)]
    assert [(p.within, p.over) for p in weekly.by_kecamatan[0].periods] == [(8, 1), (2, 0)]
    verify = next(s for s in weekly.series if s.step == "verify_application")
    assert verify.standards == ["PT1H"]
    assert [(p.first, p.last, p.within, p.over) for p in verify.periods] == [
        (date(2027, 8, 30), date(2027, 9, 5), 3, 1),
        (date(2027, 9, 6), date(2027, 9, 12), 1, 0),
    ]
    verify_daily = next(s for s in daily.series if s.step == "verify_application")
    assert [(p.first, p.within, p.over) for p in verify_daily.periods] == [
        (date(2027, 9, 2), 2, 1),  # 30 and 50 minutes on time, 90 late
        (date(2027, 9, 3), 1, 0),  # the 45 minutes across the night
    ]
    assert dashboard.periods_between(date(2027, 9, 1), date(2027, 9, 8), "week") == [
        (date(2027, 9, 1), date(2027, 9, 5)),  # clipped to the period
        (date(2027, 9, 6), date(2027, 9, 8)),
    ]

    sign_in(client, "supervisor1")
    page = client.get("/dasbor", query_string={"hari": 14, "per": "minggu"}).text
    by_step = re.search(r'id="standard-by-step">(.*?)</table>', page, re.S).group(1)
    assert re.findall(r"<tr[^>]*><td>([^<]+)</td><td>(\d+)</td><td>(\d+)</td>", by_step) == [
        ("Mendaftar dan mengajukan permohonan", "5", "0"),
        ("Verifikasi dan validasi data dengan SIAK", "4", "1"),
        ("Input data ke SIAK dan cetak KIA", "1", "0"),
    ]
    assert "Binawidya</td><td>10</td><td>1</td>" in page
    assert "Admin1</td><td>4</td><td>1</td>" in page  # the officer by name
    assert "per minggu" in page and "30 Agu–5 Sep" in page
    officers_weekly = re.search(r'id="periods-by-officer">(.*?)</table>', page, re.S).group(1)
    assert re.search(
        r"<td>Admin1</td><td[^>]*>–?(<span[^>]*>–</span>)?</td><td[^>]*>3 / 1</td><td[^>]*>1 / 0</td>", officers_weekly
    )
    assert "mean_percent" not in page and "Rata-rata" not in page  # counts, not averages


def test_the_sla_report_names_each_versions_standard(client: FlaskClient, app: Flask) -> None:
    at("2027-09-06 09:00")
    first = new_application(client)
    at("2027-09-06 09:20")
    finish(client, "admin1", first, STEP_DATA["admin1"])
    deploy_fast(app, {"verify_application": "PT2H"})  # the owner's new standard: 2 hours, calendar time
    at("2027-09-06 10:00")
    second = new_application(client)
    at("2027-09-06 11:30")  # 90 minutes: late for version 1's hour, within version 2's two hours
    finish(client, "admin1", second, STEP_DATA["admin1"])
    boss = token(client, "supervisor1")
    body = client.get("/api/v1/reports/sla", query_string={"from": "2027-09-06", "to": "2027-09-06"}, headers=boss)
    verify = next(r for r in body.get_json()["items"] if r["step"] == "verify_application")
    assert (verify["count"], verify["within_standard"], verify["time_standard"]) == (2, 2, "PT2H")  # fields kept
    assert verify["standards"] == [
        {"version": 1, "time_standard": "PT1H", "time_basis": "working", "count": 1, "within_standard": 1},
        {"version": 2, "time_standard": "PT2H", "time_basis": "calendar", "count": 1, "within_standard": 1},
    ]
    sign_in(client, "supervisor1")
    report = re.search(r'id="sla">(.*?)</table>', client.get("/dasbor").text, re.S).group(1)
    assert "versi 1: 1 jam (jam kerja), 1 selesai" in report and "versi 2: 2 jam (waktu kalender), 1 selesai" in report

"""The card's arrival at the UPTD and the clocks after it (issue 20.2, 20.4), over a real HTTP server on
SQLite and PostgreSQL: twelve cards of two kecamatan grouped with select-all into two batches; the UPTDs
confirm eleven and report one missing; only those eleven parents are told the card is ready; the missing
card is Dafdud's problem with its own standard until it is sent again; a card not collected after five
working days brings its parent one reminder, and the UPTD's step is not overdue meanwhile. Then the cards
not collected after 30 days, listed for the supervisor (API and page)."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from engine.models import Event, Instance, Outbox

from . import test_log_privacy
from .helpers import inbox, token
from .pdfcheck import pages_text
from .scripted import HAND_OVER, WALK, arrive, at, finish, new_application, sweep, utc
from .test_documents import card_number_of, flat, pdf_of
from .test_last_mile import NAMES, TWELVE, group_all
from .test_log_privacy import HttpClient
from .test_web_pages import sign_in

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does
SUKAJADI, BINAWIDYA = "14.71.01", "14.71.08"
LOST_NOTE = "Tidak ada dalam amplop"


@pytest.fixture
def http(server: str) -> HttpClient:
    return HttpClient(server)


def notices(app: Flask, kind: str) -> dict[str, list[str]]:
    """The outbox's notices of ``kind`` by application code: their texts, oldest first."""
    with app.app_context():
        rows = db.session.execute(
            select(Instance.business_key, Outbox.payload)
            .join(Instance, Instance.id == Outbox.instance_id)
            .where(Outbox.kind == kind)
            .order_by(Outbox.id)
        ).all()
    found: dict[str, list[str]] = {}
    for code, payload in rows:
        found.setdefault(code, []).append(payload["text"])
    return found


def status(http: HttpClient, code: str) -> str:
    return http.get(f"/api/v1/status/{code}").get_json()["status"]


def arrival_boxes(page: str) -> list[str]:
    """The cards the batch page lets the UPTD tick as arrived (all of them under its 'select all')."""
    assert 'class="select-all" data-group="arrival"' in page and "Konfirmasi kedatangan" in page
    return re.findall(r'name="arrived" value="([^"]+)" data-group="arrival"', page)


def test_twelve_cards_eleven_arrive_one_missing_only_their_parents_told_then_one_reminder(
    app: Flask, http: HttpClient, working_time: None
) -> None:
    at("2027-09-06 09:00")  # a Monday
    made, batches = group_all(http)  # select all per kecamatan: two batches
    by_kecamatan = {k: sorted(c for c, kk in made.items() if kk == k) for k in TWELVE}
    batch_of = {b["kecamatan"]: b for b in batches}
    assert notices(app, "card_ready") == {}  # grouped and sent: no parent is told yet
    assert {status(http, code) for code in made} == {"dicetak"}

    # Sukajadi's UPTD: on the batch page, 'select all', one submit
    at("2027-09-06 13:00")
    csrf = sign_in(http, "uptd_sukajadi")  # type: ignore[arg-type]
    url = f"/petugas/batch/{batch_of[SUKAJADI]['id']}"
    boxes = arrival_boxes(http.get(url).text)
    assert sorted(boxes) == by_kecamatan[SUKAJADI]
    response = http.post(f"{url}/kedatangan", data={"csrf_token": csrf, "arrived": boxes})
    assert response.status_code == 302
    page = http.get(url).text
    assert "5 KIA dikonfirmasi tiba" in page and "Diterima lengkap di UPTD" in page
    assert 'name="arrived"' not in page  # nothing left to confirm

    # Binawidya's UPTD: a card's own step links to its batch; there, 'select all' and one card marked
    # missing with a note (it wins over the tick)
    csrf = sign_in(http, "uptd_binawidya")  # type: ignore[arg-type]
    url = f"/petugas/batch/{batch_of[BINAWIDYA]['id']}"
    [step, *_] = inbox(http, token(http, "uptd_binawidya"))  # type: ignore[arg-type]
    assert step["step"] == "confirm_arrival"
    assert f'<a href="{url}">batch distribusi' in http.get(f"/petugas/tugas/{step['id']}").text
    boxes = arrival_boxes(http.get(url).text)
    assert sorted(boxes) == by_kecamatan[BINAWIDYA]
    lost = boxes[0]
    # a missing card without a note is refused, and nothing is confirmed
    response = http.post(f"{url}/kedatangan", data={"csrf_token": csrf, "arrived": boxes, "missing": [lost]})
    assert response.status_code == 302
    page = http.get(url).text
    assert "Belum ada yang dikonfirmasi" in page and "Tulis catatan untuk KIA yang tidak ada" in page
    assert sorted(notices(app, "card_ready")) == by_kecamatan[SUKAJADI]
    data = {"csrf_token": csrf, "arrived": boxes, "missing": [lost], f"note_{lost}": LOST_NOTE}
    assert http.post(f"{url}/kedatangan", data=data).status_code == 302
    page = http.get(url).text
    assert "6 KIA dikonfirmasi tiba" in page and "1 KIA dilaporkan tidak ada ke Staf Bidang Dafdud" in page
    assert "Diterima, ada KIA yang tidak sampai" in page
    row = re.search(rf'<tr data-code="{lost}">(.*?)</tr>', page, re.S).group(1)
    assert "Tidak ada dalam kiriman" in row and LOST_NOTE in row

    dafdud = token(http, "dafdud1")  # type: ignore[arg-type]
    listed = {b["kecamatan"]: b for b in http.get("/api/v1/batches", headers=dafdud).get_json()["items"]}
    assert (listed[SUKAJADI]["state"], listed[SUKAJADI]["arrived"], listed[SUKAJADI]["missing"]) == ("arrived", 5, 0)
    assert (listed[BINAWIDYA]["state"], listed[BINAWIDYA]["arrived"], listed[BINAWIDYA]["missing"]) == (
        "incomplete",
        6,
        1,
    )

    # the eleven parents, and only they, are told: once each, with the UPTD's address and opening hours
    told = notices(app, "card_ready")
    assert sorted(told) == sorted(set(made) - {lost}) and all(len(t) == 1 for t in told.values())
    for code, [text] in told.items():
        assert "KIA siap diambil" in text and f"Kecamatan {NAMES[made[code]]}" in text, text
        assert "jam layanan: Senin–Kamis 08.00–15.00 WIB, Jumat 08.00–11.30 WIB" in text
    assert {status(http, code) for code in told} == {"siap_diambil"} and status(http, lost) == "dicetak"

    # the missing card is Dafdud's problem, with its own time standard; the UPTD cannot confirm twice
    [problem] = [t for t in inbox(http, dafdud) if t["application_code"] == lost]  # type: ignore[arg-type]
    assert (problem["step"], problem["form_key"], problem["time_standard"]) == (
        "resolve_missing_card",
        "missing_card",
        "P2D",
    )
    assert problem["due_at"] == utc("2027-09-08 13:00") and not problem["overdue"]
    binawidya, sukajadi = token(http, "uptd_binawidya"), token(http, "uptd_sukajadi")  # type: ignore[arg-type]
    arrival_url = f"/api/v1/batches/{batch_of[BINAWIDYA]['id']}/arrival"
    again = http.post(arrival_url, json={"arrived": [boxes[1]]}, headers=binawidya)
    assert again.status_code == 409 and list(again.get_json()["error"]["fields"]["cards"]) == [boxes[1]]
    assert http.post(arrival_url, json={"all_arrived": True}, headers=sukajadi).status_code == 403
    assert http.post(arrival_url, json={"all_arrived": True}, headers=binawidya).status_code == 422  # none waits

    # Dafdud finds it and sends it again; the UPTD confirms it through the API; only now its parent is told
    at("2027-09-07 09:00")
    dafdud, binawidya = token(http, "dafdud1"), token(http, "uptd_binawidya")  # type: ignore[arg-type]
    done = http.post(
        f"/api/v1/tasks/{problem['id']}/complete", json={"decision": "resent", "note": "Terselip"}, headers=dafdud
    )
    assert done.status_code == 200, done.get_json()
    assert [t["step"] for t in done.get_json()["next_tasks"]] == ["confirm_arrival"]
    confirmed = http.post(arrival_url, json={"all_arrived": True}, headers=binawidya)
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert (body["arrived"], body["missing"], body["batch"]["state"]) == ([lost], [], "arrived")
    assert [t["step"] for t in body["next_tasks"]] == ["hand_over_card"]
    assert len(notices(app, "card_ready")[lost]) == 1 and status(http, lost) == "siap_diambil"

    # one mother comes at once: her card brings no reminder
    collected = by_kecamatan[SUKAJADI][0]
    handed = {**HAND_OVER, "card_number": card_number_of(collected)}  # the number the operator printed
    finish(http, "uptd_sukajadi", collected, handed)  # type: ignore[arg-type]

    # four working days later (Friday afternoon): no reminder yet, and no UPTD step overdue
    at("2027-09-10 15:00")
    assert sweep(app) == 0 and notices(app, "collection_reminder") == {}
    for user in ("uptd_binawidya", "uptd_sukajadi"):
        waiting = inbox(http, token(http, user))  # type: ignore[arg-type]
        assert waiting and {t["step"] for t in waiting} == {"hand_over_card"}
        assert all(t["due_at"] is None and not t["overdue"] and t["escalations"] == 0 for t in waiting)

    # five working days after the notice (Monday 13:00): one reminder to each parent still waiting
    at("2027-09-13 13:01")
    assert sweep(app) == 11  # eleven timers; the collected card's sends nothing
    reminded = notices(app, "collection_reminder")
    assert sorted(reminded) == sorted(set(told) - {collected})
    for [text] in reminded.values():
        assert "sudah menunggu sejak 6 September 2027" in text and "jam layanan" in text, text
    at("2027-09-14 09:01")  # the card sent again: five working days after its own notice
    assert sweep(app) == 1 and list(notices(app, "collection_reminder")[lost]) and sweep(app) == 0
    assert all(len(texts) == 1 for texts in notices(app, "collection_reminder").values())  # once each

    # still not the UPTD's delay: no escalation for any UPTD step, the wait shown apart on the control card
    with app.app_context():
        assert db.session.scalars(select(Event).where(Event.kind == "escalated")).all() == []
    card = http.get(f"/api/v1/applications/{lost}/control-card", headers=token(http, "supervisor1")).get_json()  # type: ignore[arg-type]
    steps = [(i["step"], i["outcome"]) for i in card["items"]][-4:]
    assert steps == [
        ("confirm_arrival", "met"),
        ("resolve_missing_card", "met"),
        ("confirm_arrival", "met"),
        ("hand_over_card", "no_deadline"),
    ]
    waiting_entry = card["items"][-1]
    assert waiting_entry["deadline"] is None and waiting_entry["waiting_label"] == "7 hari 1 menit"


def ready_for_collection(client: FlaskClient, code: str) -> None:
    """Verified, printed, grouped and arrived: the parent has been told."""
    for user, data in WALK[:-2]:
        finish(client, user, code, data)
    arrive(client, code)


def test_cards_not_collected_after_30_days_are_listed_for_the_supervisor(client: FlaskClient, app: Flask) -> None:
    at("2027-09-01 09:00")
    old, collected, recent = (new_application(client) for _ in range(3))
    for code in (old, collected):
        ready_for_collection(client, code)
    finish(client, "uptd_binawidya", collected, HAND_OVER)
    at("2027-09-20 09:00")
    ready_for_collection(client, recent)
    at("2027-10-01 09:00")  # 30 days after the first notice
    assert sweep(app) == 3  # the reminders, 5 days after each notice (the collected card's sends nothing)
    assert sorted(notices(app, "collection_reminder")) == sorted([old, recent])

    supervisor = token(client, "supervisor1")
    body = client.get("/api/v1/reports/uncollected", headers=supervisor).get_json()
    assert body["days"] == 30
    [item] = body["items"]
    assert (item["code"], item["kecamatan"], item["kecamatan_name"], item["days"]) == (old, BINAWIDYA, "Binawidya", 30)
    assert item["uptd_name"] == "UPTD Disdukcapil Kecamatan Binawidya"
    assert item["ready_at"] == utc("2027-09-01 09:00") and item["reminded_at"] == utc("2027-10-01 09:00")
    longer = client.get("/api/v1/reports/uncollected?days=10", headers=supervisor).get_json()["items"]
    assert [i["code"] for i in longer] == [old, recent]  # the longest waiting first
    assert client.get(f"/api/v1/reports/uncollected?kecamatan={SUKAJADI}", headers=supervisor).get_json() == {
        "days": 30,
        "items": [],
    }
    refused = client.get("/api/v1/reports/uncollected?days=0", headers=supervisor)
    assert refused.status_code == 422 and "days" in refused.get_json()["error"]["fields"]
    assert client.get("/api/v1/reports/uncollected", headers=token(client, "uptd_binawidya")).status_code == 403
    assert client.get("/api/v1/reports/uncollected").status_code == 401

    # the receipt of a card waiting for its parent: ready, no estimate to wait for
    receipt = flat(pages_text(pdf_of(client, f"/api/v1/applications/{old}/receipt.pdf", supervisor))[0])
    assert "Perkiraan selesai : KIA sudah siap diambil di UPTD" in receipt and "Siap diambil di UPTD" in receipt

    # the supervisor's page, linked from the menu
    sign_in(client, "supervisor1")
    assert 'href="/supervisor/belum-diambil"' in client.get("/dasbor").text
    page = client.get("/supervisor/belum-diambil").text
    shown = "-".join(old[i : i + 4] for i in range(0, 12, 4))
    assert "KIA belum diambil" in page and "1 KIA belum diambil" in page and shown in page
    row = re.search(rf'<tr data-code="{old}">(.*?)</tr>', page, re.S).group(1)
    assert "Binawidya" in row and "30 hari" in row and "1 Sep 2027 09:00" in row and "Dikirim 1 Okt 2027" in row
    assert f'data-code="{recent}"' not in page and f'data-code="{collected}"' not in page
    page = client.get("/supervisor/belum-diambil?hari=10").text
    assert f'data-code="{recent}"' in page and "Belum dikirim" not in page
    assert f'data-code="{old}"' not in client.get(f"/supervisor/belum-diambil?kecamatan={SUKAJADI}").text
    sign_in(client, "uptd_binawidya")
    assert client.get("/supervisor/belum-diambil").status_code == 403

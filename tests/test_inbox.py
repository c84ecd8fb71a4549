"""The staff inbox for hundreds of files (issue 19, point 1), on SQLite and PostgreSQL: the API and the page
page through every open file with the total, find one by code, NIK or name, sort by deadline, arrival or
kecamatan, count the files that arrived since the page was loaded, and "Simpan & berikutnya" opens the next
task of the lane."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from api.extensions import db
from engine.kia.security import display_code
from engine.models import Application, TaskRow
from engine.workflow.clock import clock

from .helpers import applicant_headers, application_data, inbox, seed_applications, seeded_name, submit, token
from .test_web_pages import sign_in

# 08:00 WIB a week ahead: the steps' timers must lie in the future of the real clock too (SpiffWorkflow's own)
START = (datetime.now(UTC) + timedelta(days=7)).replace(hour=1, minute=0, second=0, microsecond=0)


def child(i: int, **extra: str) -> dict[str, str]:
    return {"name": seeded_name(i), "nik": f"147108500523{i + 1:04d}", **extra}


def codes_on_page(html: str) -> list[str]:
    return re.findall(r'data-task="[0-9a-f-]{36}" data-code="([A-Z0-9]+)"', html)


def shown(html: str) -> str:
    return re.search(r'<span class="count">([^<]*)</span>', unescape(html)).group(1)


def link(html: str, rel: str) -> str:
    return unescape(re.search(rf'<a href="([^"]+)" rel="{rel}">', html).group(1))


def test_250_open_files_are_all_reachable_with_their_total(client: FlaskClient, app: Flask) -> None:
    clock.freeze(START)
    codes = seed_applications(app, [child(i) for i in range(250)])  # one a minute: codes[0] is the oldest
    admin = token(client, "admin1")

    first = client.get("/api/v1/tasks", headers=admin, query_string={"limit": 50}).get_json()
    assert first["total"] == 250 and len(first["items"]) == 50
    assert first["items"][0]["application_code"] == codes[0]
    deepest = client.get("/api/v1/tasks", headers=admin, query_string={"limit": 50, "offset": 200}).get_json()
    assert deepest["total"] == 250 and [t["application_code"] for t in deepest["items"]] == codes[200:]
    newest = client.get("/api/v1/tasks", headers=admin, query_string={"limit": 1, "offset": 249, "sort": "ready"})
    assert newest.get_json()["items"][0]["application_code"] == codes[-1]

    sign_in(client, "admin1")
    page = client.get("/petugas/tugas").text
    assert shown(page) == "Menampilkan 1–50 dari 250 berkas" and "Halaman 1 dari 5" in page
    assert codes_on_page(page) == codes[:50]
    assert 'rel="prev"' not in page and 'rel="first"' not in page
    second = client.get(link(page, "next")).text
    assert shown(second) == "Menampilkan 51–100 dari 250 berkas" and codes_on_page(second) == codes[50:100]
    last = client.get(link(page, "last")).text
    assert shown(last) == "Menampilkan 201–250 dari 250 berkas" and codes_on_page(last) == codes[200:]
    assert 'rel="next"' not in last and codes[-1] in last
    assert codes_on_page(client.get(link(last, "prev")).text) == codes[150:200]
    assert codes_on_page(client.get(link(last, "first")).text) == codes[:50]
    beyond = client.get("/petugas/tugas?page=99").text  # past the end: the last page
    assert shown(beyond) == "Menampilkan 201–250 dari 250 berkas"
    assert shown(client.get("/petugas/tugas?page=abc").text).startswith("Menampilkan 1–50")

    # the "new files" count: the URL the page's script polls, with the page's own session
    poll = unescape(re.search(r'id="new-tasks" data-url="([^"]+)"', page).group(1))
    assert "since=" in poll and client.get(poll).get_json()["total"] == 0
    clock.advance(timedelta(seconds=5))
    [late] = seed_applications(app, [child(250)])
    arrived = client.get(poll).get_json()
    assert arrived["total"] == 1 and arrived["items"][0]["application_code"] == late


def test_search_by_code_nik_and_name_for_staff_only(client: FlaskClient, app: Flask) -> None:
    clock.freeze(START)
    codes = seed_applications(
        app,
        [child(0), child(1, name="Nurul Hidayah"), child(2), child(3)],
        [{}, {}, {"name": "Bambang Sutrisno"}, {}],
    )
    admin = token(client, "admin1")

    def found(q: str) -> list[str]:
        body = client.get("/api/v1/tasks", headers=admin, query_string={"q": q}).get_json()
        assert body["total"] == len(body["items"])
        return [t["application_code"] for t in body["items"]]

    assert found(codes[3]) == [codes[3]]
    assert found(display_code(codes[3]).lower()) == [codes[3]]  # with dashes, any case
    assert found(f" {display_code(codes[1])} ") == [codes[1]]
    assert found(display_code(codes[1]).replace("-", " ")) == [codes[1]]  # typed with spaces
    assert found("1471085005230003") == [codes[2]]  # the child's NIK, exact
    assert found("1471085005230009") == [] and found("147108500523") == []  # no prefix match on a NIK
    assert found("hidayah") == [codes[1]] and found("NURUL hid") == [codes[1]]  # the child's name
    assert found("sutrisno") == [codes[2]]  # the applicant's name
    assert found("siti rahma") == [codes[0], codes[1], codes[3]]  # the sample applicant, but not Bambang
    assert found("%") == [] and found("_") == []  # LIKE wildcards are literal
    assert found("Putri") == [codes[0], codes[2], codes[3]]

    sign_in(client, "admin1")
    page = client.get("/petugas/tugas", query_string={"q": display_code(codes[1])}).text
    assert codes_on_page(page) == [codes[1]] and shown(page) == "Menampilkan 1–1 dari 1 berkas"
    assert f'value="{display_code(codes[1])}"' in page  # the box keeps what was typed
    assert "Tidak ada tugas terbuka yang cocok" in client.get("/petugas/tugas?q=Zulkarnain").text

    created = submit(client, application_data(nik="1471085005230099")).get_json()  # its own token: list, not search
    applicant = applicant_headers(client, created)
    assert client.get("/api/v1/tasks", headers=applicant).status_code == 200
    refused = client.get("/api/v1/tasks", headers=applicant, query_string={"q": "Nurul"})
    assert refused.status_code == 403 and "hanya untuk petugas" in refused.get_json()["error"]["message"]
    anonymous = client.__class__(app, client.response_wrapper)  # no session, no token
    assert anonymous.get("/api/v1/tasks", query_string={"q": codes[1]}).status_code == 401


def test_sort_by_deadline_arrival_or_kecamatan_is_deterministic(client: FlaskClient, app: Flask) -> None:
    clock.freeze(START)
    kecamatan = ["14.71.08", "14.71.01", "14.71.08", "14.71.02", "14.71.01", "14.71.08"]
    codes = seed_applications(app, [child(i, kecamatan=k) for i, k in enumerate(kecamatan)])
    with app.app_context():  # the newest gets the nearest deadline, two share one (the id decides)
        ids = {
            code: instance_id
            for code, instance_id in db.session.execute(select(Application.code, Application.instance_id))
        }
        db.session.execute(update(TaskRow).where(TaskRow.instance_id == ids[codes[5]]).values(due_at=START))
        shared = START + timedelta(minutes=30)
        db.session.execute(
            update(TaskRow).where(TaskRow.instance_id.in_([ids[codes[1]], ids[codes[2]]])).values(due_at=shared)
        )
        db.session.commit()
    supervisor = token(client, "supervisor1")

    def order(sort: str) -> list[dict]:
        return inbox(client, supervisor, sort=sort)

    by_due = order("due")
    assert [t["application_code"] for t in by_due] == [codes[5], codes[1], codes[2], codes[0], codes[3], codes[4]]
    assert [(t["due_at"], t["ready_at"], t["id"]) for t in by_due] == sorted(
        (t["due_at"], t["ready_at"], t["id"]) for t in by_due
    )
    assert [t["application_code"] for t in order("ready")] == codes
    by_kecamatan = order("kecamatan")
    assert [t["kecamatan"] for t in by_kecamatan] == sorted(kecamatan)
    assert [t["application_code"] for t in by_kecamatan] == [codes[1], codes[4], codes[3], codes[5], codes[2], codes[0]]
    assert order("due") == by_due  # the same order every time
    assert client.get("/api/v1/tasks?sort=nama", headers=supervisor).status_code == 422

    sign_in(client, "supervisor1")
    assert codes_on_page(client.get("/petugas/tugas?sort=kecamatan").text) == [
        t["application_code"] for t in by_kecamatan
    ]
    page = client.get("/petugas/tugas?sort=ready&lane=admin").text
    assert codes_on_page(page) == codes and '<option value="ready" selected>' in page


def test_simpan_dan_berikutnya_opens_the_next_task_of_the_lane(client: FlaskClient, app: Flask) -> None:
    clock.freeze(START)
    codes = seed_applications(app, [child(i) for i in range(3)])
    tasks = {t["application_code"]: t["id"] for t in inbox(client, token(client, "admin1"))}
    other = token(client, "admin2")
    assert client.post(f"/api/v1/tasks/{tasks[codes[1]]}/claim", headers=other).status_code == 200

    csrf = sign_in(client, "admin1")
    first = tasks[codes[0]]
    assert "Simpan &amp; berikutnya" in client.get(f"/petugas/tugas/{first}").text  # shown once claimable
    assert client.post(f"/petugas/tugas/{first}/ambil", data={"csrf_token": csrf}).status_code == 302
    assert 'id="complete-next"' in client.get(f"/petugas/tugas/{first}").text
    done = client.post(
        f"/petugas/tugas/{first}/selesaikan", data={"csrf_token": csrf, "decision": "complete", "next": "1"}
    )
    # codes[1] is being worked on by admin2: the next one admin1 can take is codes[2]
    assert done.status_code == 302 and done.headers["Location"] == f"/petugas/tugas/{tasks[codes[2]]}"
    landed = client.get(done.headers["Location"]).text
    assert "selesai" in landed and codes[2] in landed
    third = tasks[codes[2]]
    assert client.post(f"/petugas/tugas/{third}/ambil", data={"csrf_token": csrf}).status_code == 302
    last = client.post(
        f"/petugas/tugas/{third}/selesaikan", data={"csrf_token": csrf, "decision": "complete", "next": "1"}
    )
    assert last.status_code == 302 and last.headers["Location"] == "/petugas/tugas?lane=admin"
    assert "Tidak ada tugas terbuka lagi di bagian Admin KIA WhatsApp" in client.get(last.headers["Location"]).text
    plain = tasks[codes[1]]  # without "next": back to the inbox, as before
    assert client.post(f"/api/v1/tasks/{plain}/unclaim", headers=other).status_code == 200
    assert client.post(f"/petugas/tugas/{plain}/ambil", data={"csrf_token": csrf}).status_code == 302
    back = client.post(f"/petugas/tugas/{plain}/selesaikan", data={"csrf_token": csrf, "decision": "complete"})
    assert back.status_code == 302 and back.headers["Location"] == "/petugas/tugas"


def test_a_changed_name_is_found_and_an_ended_task_keeps_no_names(client: FlaskClient, app: Flask) -> None:
    """The search by name reads the open tasks' own copy of the names (``tasks.search_text``): a
    correction of the child's name reaches it at once, and a task that ended no longer holds them."""
    clock.freeze(START)
    codes = seed_applications(app, [child(0, name="Intan Permata"), child(1)])
    admin = token(client, "admin1")

    def found(q: str) -> list[str]:
        return [
            t["application_code"]
            for t in client.get("/api/v1/tasks", headers=admin, query_string={"q": q}).json["items"]
        ]

    assert found("intan") == [codes[0]]
    with app.app_context():
        application = db.session.scalar(select(Application).where(Application.code == codes[0]))
        application.child = {**application.child, "name": "Intan Kumalasari"}  # as a correction stores it
        db.session.commit()
    assert found("kumala") == [codes[0]] and found("permata") == []

    with app.app_context():  # the verification of the first ends; the print step opens with the names
        row = db.session.scalar(
            select(TaskRow)
            .join(Application, Application.instance_id == TaskRow.instance_id)
            .where(Application.code == codes[0], TaskRow.state == "open")
        )
    task_id = row.id
    assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=admin).status_code == 200
    done = client.post(f"/api/v1/tasks/{task_id}/complete", headers=admin, json={"decision": "complete"})
    assert done.status_code == 200, done.json
    with app.app_context():
        rows = db.session.scalars(
            select(TaskRow)
            .join(Application, Application.instance_id == TaskRow.instance_id)
            .where(Application.code == codes[0])
        ).all()
        assert {r.state: r.search_text for r in rows if r.id == task_id} == {"completed": None}
        assert [r.search_text for r in rows if r.state == "open"] == ["intan kumalasari|siti rahmawati"]
    operator = token(client, "operator1")
    assert [
        t["application_code"]
        for t in client.get("/api/v1/tasks", headers=operator, query_string={"q": "kumala"}).json["items"]
    ] == [codes[0]]

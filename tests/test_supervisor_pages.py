"""The supervisor's pages through the Flask test client, on SQLite and PostgreSQL: staff accounts (add,
roles and kecamatan, deactivate, temporary password and one-time link), every officer's own password,
the working-time calendar (close and open days, past days refused, deadlines recomputed) and the audit
log (filters, names and labels, paging)."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from engine.models import AuditEntry, User

from .helpers import token
from .scripted import at, new_application, utc
from .test_escalation import task_row
from .test_web_pages import csrf_of, sign_in


def fresh_name() -> str:
    return f"petugas_{uuid.uuid4().hex[:8]}"  # accounts survive between tests


def add_officer(client: FlaskClient, csrf: str, username: str, **extra: object) -> str:
    """Add through the page; the temporary password it shows once."""
    data = {"csrf_token": csrf, "username": username, "full_name": "Rina Marlina", "roles": ["admin"]} | extra
    page = client.post("/supervisor/akun", data=data)
    assert page.status_code == 200, page.text
    return re.search(r'id="temporary-password">([a-z0-9]+)<', page.text).group(1)


def rows_of(html: str) -> str:
    """The text of a page's table body (not its filters' options)."""
    return html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]


def sign_in_as(client: FlaskClient, username: str, password: str):  # noqa: ANN201
    page = client.get("/masuk")
    return client.post("/masuk", data={"username": username, "password": password, "csrf_token": csrf_of(page.text)})


def test_accounts_page_adds_changes_and_deactivates(client: FlaskClient, app: Flask) -> None:
    assert client.get("/supervisor/akun").status_code == 302  # sign-in first
    csrf = sign_in(client, "admin1")
    assert client.get("/supervisor/akun").status_code == 403  # supervisors only
    client.post("/keluar", data={"csrf_token": csrf})
    csrf = sign_in(client, "supervisor1")
    listing = client.get("/supervisor/akun")
    assert listing.status_code == 200 and "Akun petugas" in listing.text and "Supervisor1" in listing.text
    assert client.post("/supervisor/akun", data={"username": "x"}).status_code == 400  # no CSRF token
    bad = client.post(
        "/supervisor/akun", data={"csrf_token": csrf, "username": "A B", "full_name": "", "roles": ["uptd"]}
    )
    assert bad.status_code == 422
    for message in ("huruf kecil", "Nama lengkap wajib", "wajib memiliki kecamatan"):
        assert message in bad.text
    taken = client.post(
        "/supervisor/akun", data={"csrf_token": csrf, "username": "admin1", "full_name": "X", "roles": ["admin"]}
    )
    assert taken.status_code == 422 and "sudah dipakai" in taken.text

    name = fresh_name()
    temporary = add_officer(client, csrf, name)
    assert name in client.get("/supervisor/akun").text
    assert temporary not in client.get("/supervisor/akun").text  # shown once
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == name))
        assert user.must_change_password and user.role_set == {"admin"} and temporary not in user.password_hash

    changed = client.post(
        f"/supervisor/akun/{name}",
        data={"csrf_token": csrf, "full_name": "Rina M.", "roles": ["uptd", "admin"], "kecamatan": "14.71.08"},
    )
    assert changed.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == name))
        assert (user.full_name, user.role_set, user.kecamatan) == ("Rina M.", {"admin", "uptd"}, "14.71.08")
    refused = client.post(
        f"/supervisor/akun/{name}", data={"csrf_token": csrf, "full_name": "Rina", "roles": [], "kecamatan": "99"}
    )
    assert refused.status_code == 422 and "sedikitnya satu peran" in refused.text and "tidak dikenal" in refused.text

    # the officer signs in with the temporary password and must choose a new one before anything else
    api = app.test_client().post("/api/v1/auth/token", json={"username": name, "password": temporary})
    assert api.status_code == 403 and api.get_json()["error"]["code"] == "password_change_required"
    officer = app.test_client()
    assert sign_in_as(officer, name, temporary).headers["Location"] == "/akun/kata-sandi"
    assert officer.get("/petugas/tugas").headers["Location"] == "/akun/kata-sandi"
    form = officer.get("/akun/kata-sandi")
    assert "kata sandi sementara" in form.text
    mismatch = officer.post(
        "/akun/kata-sandi",
        data={"csrf_token": csrf_of(form.text), "current": temporary, "new": "sandi-baru-123", "repeated": "lain"},
    )
    assert mismatch.status_code == 200 and "Ulangi kata sandi baru" in mismatch.text
    done = officer.post(
        "/akun/kata-sandi",
        data={
            "csrf_token": csrf_of(form.text),
            "current": temporary,
            "new": "sandi-baru-123",
            "repeated": "sandi-baru-123",
        },
    )
    assert done.status_code == 302
    assert officer.get("/petugas/tugas").status_code == 200  # the new session goes on

    # deactivating ends the officer's sessions at once
    assert client.post(f"/supervisor/akun/{name}/status", data={"csrf_token": csrf, "active": "0"}).status_code == 302
    assert officer.get("/petugas/tugas").status_code == 302
    assert sign_in_as(app.test_client(), name, "sandi-baru-123").status_code == 401
    assert client.post(f"/supervisor/akun/{name}/status", data={"csrf_token": csrf, "active": "1"}).status_code == 302
    assert sign_in_as(app.test_client(), name, "sandi-baru-123").status_code == 302
    own = client.post("/supervisor/akun/supervisor1/status", data={"csrf_token": csrf, "active": "0"})
    assert own.status_code == 302
    assert client.get("/supervisor/akun").status_code == 200  # not deactivated
    assert client.get("/supervisor/akun/nobody").status_code == 404


def test_password_resets_end_sessions_and_links_work_once(client: FlaskClient, app: Flask) -> None:
    csrf = sign_in(client, "supervisor1")
    name = fresh_name()
    temporary = add_officer(client, csrf, name)
    officer = app.test_client()
    sign_in_as(officer, name, temporary)
    page = officer.get("/akun/kata-sandi")
    officer.post(
        "/akun/kata-sandi",
        data={
            "csrf_token": csrf_of(page.text),
            "current": temporary,
            "new": "pilihan-saya-1",
            "repeated": "pilihan-saya-1",
        },
    )
    issued = app.test_client().post("/api/v1/auth/token", json={"username": name, "password": "pilihan-saya-1"})
    bearer = {"Authorization": f"Bearer {issued.get_json()['access_token']}"}
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 200

    reset = client.post(f"/supervisor/akun/{name}/reset", data={"csrf_token": csrf, "how": "password"})
    second = re.search(r'id="temporary-password">([a-z0-9]+)<', reset.text).group(1)
    assert officer.get("/petugas/tugas").status_code == 302  # the page session ended
    assert app.test_client().get("/api/v1/tasks", headers=bearer).status_code == 401  # and the bearer token
    assert sign_in_as(app.test_client(), name, "pilihan-saya-1").status_code == 401
    assert sign_in_as(app.test_client(), name, second).headers["Location"] == "/akun/kata-sandi"

    linked = client.post(f"/supervisor/akun/{name}/reset", data={"csrf_token": csrf, "how": "link"})
    link = re.search(r'id="reset-link" readonly value="([^"]+)"', linked.text).group(1)
    assert link.startswith("http://kia.test/akun/atur-sandi?t=")
    path = link.removeprefix("http://kia.test")
    assert sign_in_as(app.test_client(), name, second).status_code == 401  # the temporary one ended too
    visitor = app.test_client()
    opened = visitor.get(path)
    assert opened.status_code == 200 and "Rina Marlina" in opened.text
    short = visitor.post(path, data={"csrf_token": csrf_of(opened.text), "new": "pendek", "repeated": "pendek"})
    assert "minimal 8" in short.text
    chosen = visitor.post(
        path, data={"csrf_token": csrf_of(opened.text), "new": "dari-tautan-1", "repeated": "dari-tautan-1"}
    )
    assert chosen.status_code == 302 and chosen.headers["Location"] == "/masuk"
    assert visitor.get(path).status_code == 404  # used once
    signed = sign_in_as(app.test_client(), name, "dari-tautan-1")
    assert signed.status_code == 302 and signed.headers["Location"] == "/"
    assert app.test_client().get("/akun/atur-sandi?t=bukan-token").status_code == 404
    with app.app_context():
        assert db.session.scalar(
            select(AuditEntry).where(AuditEntry.action == "password_reset_link_used", AuditEntry.target == name)
        )
        logged = db.session.scalars(select(AuditEntry.path).where(AuditEntry.target == name)).all()
        assert logged and not any("t=" in p for p in logged)  # the token never lands in the log


def test_every_officer_changes_their_own_password(client: FlaskClient, app: Flask) -> None:
    csrf = sign_in(client, "supervisor1")
    name = fresh_name()
    temporary = add_officer(client, csrf, name, roles=["operator"])
    officer = app.test_client()
    sign_in_as(officer, name, temporary)
    form = officer.get("/akun/kata-sandi")
    officer.post(
        "/akun/kata-sandi",
        data={"csrf_token": csrf_of(form.text), "current": temporary, "new": "pertama-123", "repeated": "pertama-123"},
    )
    inbox = officer.get("/petugas/tugas")
    assert 'href="/akun/kata-sandi"' in inbox.text  # linked from the header
    wrong = officer.post(
        "/akun/kata-sandi",
        data={
            "csrf_token": csrf_of(inbox.text),
            "current": "salah-salah",
            "new": "kedua-1234",
            "repeated": "kedua-1234",
        },
    )
    assert "Kata sandi saat ini salah" in wrong.text
    same = officer.post(
        "/akun/kata-sandi",
        data={
            "csrf_token": csrf_of(inbox.text),
            "current": "pertama-123",
            "new": "pertama-123",
            "repeated": "pertama-123",
        },
    )
    assert "harus berbeda" in same.text
    assert officer.post("/akun/kata-sandi", data={"current": "pertama-123"}).status_code == 400  # CSRF
    done = officer.post(
        "/akun/kata-sandi",
        data={
            "csrf_token": csrf_of(inbox.text),
            "current": "pertama-123",
            "new": "kedua-1234",
            "repeated": "kedua-1234",
        },
    )
    assert done.status_code == 302 and officer.get("/petugas/tugas").status_code == 200
    assert sign_in_as(app.test_client(), name, "kedua-1234").status_code == 302


def test_calendar_page_closes_and_opens_days_and_moves_deadlines(
    client: FlaskClient, app: Flask, working_time: None
) -> None:
    at("2027-09-02 15:50")  # Thursday
    code = new_application(client)
    assert task_row(app, code, "verify_application").due_at.isoformat() == utc("2027-09-03 08:20")
    csrf = sign_in(client, "supervisor1")
    page = client.get("/supervisor/kalender")
    assert page.status_code == 200
    assert "Selasa, 17 Agustus 2027" in page.text and "Hari Kemerdekaan Republik Indonesia" in page.text
    assert "Libur nasional" in page.text
    past = client.post(
        "/supervisor/kalender", data={"csrf_token": csrf, "date": "2027-09-01", "open": "0", "reason": "x"}
    )
    assert past.status_code == 422 and "sudah lewat" in past.text
    blank = client.post("/supervisor/kalender", data={"csrf_token": csrf, "date": "", "open": "0", "reason": ""})
    assert blank.status_code == 422 and "Pilih tanggal" in blank.text and "Tuliskan alasannya" in blank.text
    closed = client.post(
        "/supervisor/kalender", data={"csrf_token": csrf, "date": "2027-09-03", "open": "0", "reason": "Banjir"}
    )
    assert closed.status_code == 302
    shown = client.get(closed.headers["Location"])
    assert "Kantor tutup pada Jumat, 3 September 2027. Batas waktu 1 tugas terbuka dihitung ulang." in shown.text
    assert "Penutupan kantor" in shown.text and "Banjir" in shown.text and "Supervisor1" in shown.text
    assert task_row(app, code, "verify_application").due_at.isoformat() == utc("2027-09-06 08:20")
    card = client.get(f"/petugas/permohonan/{code}")
    assert "Batas waktu dihitung ulang" in card.text
    reset = client.post("/supervisor/kalender/2027-09-03/hapus", data={"csrf_token": csrf})
    assert reset.status_code == 302
    assert task_row(app, code, "verify_application").due_at.isoformat() == utc("2027-09-03 08:20")
    missing = client.post("/supervisor/kalender/2027-09-03/hapus", data={"csrf_token": csrf})
    assert "Tidak ada pengecualian" in client.get(missing.headers["Location"]).text
    with app.app_context():
        audited = db.session.scalars(
            select(AuditEntry.action).where(AuditEntry.target == "2027-09-03", AuditEntry.actor == "supervisor1")
        ).all()
        assert {"web.calendar_page", "web.calendar_reset"} <= set(audited)


def test_audit_page_filters_and_reads_like_a_person(client: FlaskClient, app: Flask) -> None:
    code = new_application(client)
    admin = token(client, "admin1")
    task = next(
        t for t in client.get("/api/v1/tasks", headers=admin).get_json()["items"] if t["application_code"] == code
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=admin).status_code == 200
    csrf = sign_in(client, "supervisor1")
    name = fresh_name()
    add_officer(client, csrf, name)
    # (the audit log is append-only: it holds every earlier test's entries too)
    page = client.get("/supervisor/audit", query_string={"pengguna": "admin1", "kode": code})
    assert page.status_code == 200
    assert "Mengambil tugas (API)" in rows_of(page.text) and "Admin1" in rows_of(page.text)
    assert "tasks.Claim" not in rows_of(page.text).replace('value="tasks.Claim"', "")
    by_code = client.get("/supervisor/audit", query_string={"kode": code.lower()})
    assert "Mengambil tugas (API)" in rows_of(by_code.text) and "Verifikasi" in rows_of(
        by_code.text
    )  # the task's step by name
    assert "Menambah akun petugas" not in rows_of(by_code.text)
    added = client.get("/supervisor/audit", query_string={"aksi": "web.staff_accounts", "pengguna": "supervisor1"})
    assert "Menambah akun petugas" in rows_of(added.text) and "Rina Marlina" in rows_of(added.text)
    unknown = client.get("/supervisor/audit", query_string={"kode": "ZZZZ-ZZZZ-ZZZZ"})
    assert unknown.status_code == 422 and "tidak dikenal" in unknown.text
    dates = client.get("/supervisor/audit", query_string={"dari": "2027-01-02", "sampai": "2027-01-01"})
    assert dates.status_code == 422 and "tidak boleh sebelum" in dates.text
    none = client.get("/supervisor/audit", query_string={"pengguna": "admin1", "dari": "2099-01-01"})
    assert "Tidak ada catatan" in none.text
    for _ in range(55):
        client.get("/supervisor/audit", query_string={"aksi": "web.dashboard_page"})
    for _ in range(55):
        client.get("/dasbor")
    first = client.get("/supervisor/audit", query_string={"aksi": "web.dashboard_page"})
    assert "Menampilkan 1–50 dari" in first.text and "Halaman 1 dari" in first.text
    second = client.get("/supervisor/audit", query_string={"aksi": "web.dashboard_page", "halaman": 2})
    assert "Menampilkan 51–" in second.text
    assert re.search(
        r"<td>\d{1,2} (Jan|Feb|Mar|Apr|Mei|Jun|Jul|Agu|Sep|Okt|Nov|Des) \d{4} \d{2}:\d{2}</td>", first.text
    )
    assert not re.search(r"\d{4}-\d{2}-\d{2}T", rows_of(first.text))  # no ISO timestamps


def test_every_staff_endpoint_has_a_readable_action_name(app: Flask) -> None:
    """The audit page names every action a signed-in officer can cause; an endpoint added later without a
    label reads by its kind (never its id)."""
    from api.web.actions import ACTION_LABELS, action_label

    public = {"static", "web.static", "health.healthz", "health.readyz", "metrics.metrics", "api-docs.openapi_json"}
    public |= {"whatsapp.deliveries", "whatsapp.handshake", "web.status_pin", "web.status_new_pin"}
    public |= {"web.status_sign_out", "web.status_task", "auth.NewPin", "web.reset_password"}
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()} - public
    missing = endpoints - set(ACTION_LABELS)
    assert not missing, f"add an Indonesian label for {sorted(missing)} to api/web/actions.py ACTION_LABELS"
    assert action_label("some.NewEndpoint", "POST") == "Mengubah data lain"
    assert action_label("web.staff_accounts", "POST") == "Menambah akun petugas"

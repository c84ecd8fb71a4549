"""Process versions: a change note on every deploy, roll back by activating an older version (audited)."""

from __future__ import annotations

import io
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from engine.models import AuditEntry, Event, Instance, ProcessActivation, ProcessVersion, TaskRow, Timer
from engine.workflow.clock import clock

from .diagrams import bundled, with_quality_check, without_grouping
from .helpers import inbox, token
from .pdfcheck import pages_text
from .scripted import ARRIVED, STEP_DATA, arrive, at, finish, new_application, sweep

NOTE = "Pemeriksaan mutu cetakan setelah pencetakan (permintaan Kabid)."


def deploy(client: FlaskClient, xml: bytes, note: str | None = NOTE, user: str = "owner1"):  # noqa: ANN201
    data = {"file": (io.BytesIO(xml), "kia.bpmn")}
    if note is not None:
        data["note"] = note
    return client.post("/api/v1/processes", data=data, content_type="multipart/form-data", headers=token(client, user))


def activate(client: FlaskClient, version: int, reason: str | None = "Versi 2 bermasalah", user: str = "owner1"):  # noqa: ANN201
    body = {} if reason is None else {"reason": reason}
    return client.post(
        f"/api/v1/processes/kia_whatsapp/versions/{version}/activate", json=body, headers=token(client, user)
    )


def listed(client: FlaskClient) -> dict[int, dict]:
    items = client.get("/api/v1/processes", headers=token(client, "owner1")).get_json()["items"]
    return {v["version"]: v for v in items}


def version_of(client: FlaskClient, code: str) -> int:
    detail = client.get(f"/api/v1/applications/{code}", headers=token(client, "admin1")).get_json()
    return detail["process_version"]


def test_deploy_asks_for_a_change_note(client: FlaskClient) -> None:
    for note in (None, "", "   "):
        response = deploy(client, with_quality_check(), note)
        assert response.status_code == 422, response.get_json()
        error = response.get_json()["error"]
        assert "Catatan perubahan wajib diisi" in error["message"] and "note" in error["fields"]
    assert set(listed(client)) == {1}  # nothing deployed
    too_long = deploy(client, with_quality_check(), "x" * 2001)
    assert too_long.status_code == 422 and "note" in too_long.get_json()["error"]["fields"]

    response = deploy(client, with_quality_check())
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["version"], response.get_json()["note"], response.get_json()["active"]) == (
        2,
        NOTE,
        True,
    )
    versions = listed(client)
    assert versions[2]["note"] == NOTE and versions[2]["active"] and not versions[1]["active"]
    # the raw-XML upload takes the note as a query parameter
    owner = token(client, "owner1")
    raw = client.post("/api/v1/processes", data=bundled(), content_type="application/xml", headers=owner)
    assert raw.status_code == 422 and "note" in raw.get_json()["error"]["fields"]


def test_roll_back_new_applications_start_on_the_activated_version(client: FlaskClient, app: Flask) -> None:
    assert deploy(client, with_quality_check()).status_code == 201
    on_v2 = [new_application(client) for _ in range(2)]
    assert [version_of(client, code) for code in on_v2] == [2, 2]

    # only owners, with a reason, for a version that exists and is not already active
    assert activate(client, 1, user="admin1").status_code == 403
    missing = activate(client, 1, reason=None)
    assert missing.status_code == 422 and "reason" in missing.get_json()["error"]["fields"]
    blank = activate(client, 1, reason="  ")
    assert blank.status_code == 422 and blank.get_json()["error"]["fields"]["reason"] == ["Tidak boleh kosong."]
    assert activate(client, 9).status_code == 404
    assert activate(client, 2).status_code == 422  # already active

    response = activate(client, 1, reason="Pemeriksaan mutu membuat antrean operator macet.")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["version"], body["previous_version"], body["actor"]) == (1, 2, "owner1")
    versions = listed(client)
    assert versions[1]["active"] and not versions[2]["active"]
    assert versions[2]["running_instances"] == 2

    new = new_application(client)
    assert version_of(client, new) == 1
    # re-deploying version 1's content is no new version; it answers with version 1 as it is
    again = deploy(client, bundled(), "kembali ke semula")
    assert again.status_code == 200 and again.get_json()["version"] == 1 and not again.get_json()["created"]
    assert set(listed(client)) == {1, 2}

    # the applications on version 2 finish on it, through its added quality check
    for code in on_v2:
        finish(client, "admin1", code, STEP_DATA["admin1"])
        finish(client, "operator1", code, STEP_DATA["operator1"])
        check = [t for t in inbox(client, token(client, "operator1")) if t["application_code"] == code]
        assert [t["step"] for t in check] == ["check_card"]
        finish(client, "operator1", code, {"decision": "issued"})
        finish(client, "dafdud1", code, STEP_DATA["dafdud1"])
        arrive(client, code)
        finish(client, "uptd_binawidya", code, STEP_DATA["uptd_binawidya"])
        assert version_of(client, code) == 2
        status = client.get(f"/api/v1/status/{code}").get_json()["status"]
        assert status == "selesai"
    # ... while the new one goes from printing straight to grouping, as version 1 does
    finish(client, "admin1", new, STEP_DATA["admin1"])
    finish(client, "operator1", new, STEP_DATA["operator1"])
    assert [t["step"] for t in inbox(client, token(client, "dafdud1")) if t["application_code"] == new] == [
        "group_cards"
    ]

    with app.app_context():
        activations = list(db.session.scalars(select(ProcessActivation).order_by(ProcessActivation.id)))
        assert [(a.process_version.version, a.actor) for a in activations[-2:]] == [(2, "owner1"), (1, "owner1")]
        assert activations[-1].reason == "Pemeriksaan mutu membuat antrean operator macet."
        event = db.session.scalar(select(Event).where(Event.kind == "version_activated"))
        assert event.detail == {
            "process_key": "kia_whatsapp",
            "version": 1,
            "previous_version": 2,
            "reason": "Pemeriksaan mutu membuat antrean operator macet.",
        }
        audited = list(
            db.session.scalars(
                select(AuditEntry).where(AuditEntry.action == "processes.VersionActivation", AuditEntry.status == 200)
            )
        )
        assert [(a.actor, a.target) for a in audited] == [("owner1", "kia_whatsapp")]


def test_control_card_names_the_version_and_its_note(client: FlaskClient) -> None:
    assert deploy(client, with_quality_check()).status_code == 201
    code = new_application(client)
    card = client.get(f"/api/v1/applications/{code}/control-card", headers=token(client, "admin1")).get_json()
    assert card["process"]["started_version"] == 2 and card["process"]["started_note"] == NOTE
    assert card["process"]["migrations"] == []


# --- migration of running applications -----------------------------------------------------------------


def migrate(client: FlaskClient, body: dict, user: str = "owner1"):  # noqa: ANN201
    return client.post("/api/v1/processes/kia_whatsapp/migrations", json=body, headers=token(client, user))


def open_row(app: Flask, code: str) -> TaskRow:
    with app.app_context():
        instance = db.session.scalar(select(Instance).where(Instance.business_key == code))
        return db.session.scalar(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open"))


def snapshot(app: Flask, codes: list[str]) -> dict[str, tuple]:
    """Per application: its open task (id, step, claimant, deadline, overdue, escalation level) and its
    waiting timers (id, kind, level, due time, state)."""
    with app.app_context():
        out = {}
        for code in codes:
            instance = db.session.scalar(select(Instance).where(Instance.business_key == code))
            row = db.session.scalar(select(TaskRow).where(TaskRow.instance_id == instance.id, TaskRow.state == "open"))
            timers = db.session.scalars(
                select(Timer)
                .where(Timer.instance_id == instance.id, Timer.state.in_(("waiting", "recorded")))
                .order_by(Timer.id)
            )
            out[code] = (
                (row.id, row.step, row.claimed_by, row.due_at, row.overdue, row.escalations),
                [(t.id, t.kind, t.level, t.due_at, t.state) for t in timers],
            )
        return out


def versions_of(app: Flask, codes: list[str]) -> dict[str, tuple[int, int]]:
    with app.app_context():
        rows = db.session.execute(
            select(Instance.business_key, ProcessVersion.version, Instance.lock_version)
            .join(ProcessVersion)
            .where(Instance.business_key.in_(codes))
        ).all()
        return {code: (version, lock) for code, version, lock in rows}


def signed_in(client: FlaskClient, user: str) -> dict[str, str]:
    """One token per user and test client (signing in hashes a password: too slow for every request)."""
    tokens = client.__dict__.setdefault("kia_tokens", {})
    issued = tokens.get(user)
    if issued is None or clock.now() - issued[1] > timedelta(minutes=20):  # an idle session ends after 30
        issued = tokens[user] = (token(client, user), clock.now())
    return issued[0]


def complete_open(client: FlaskClient, app: Flask, code: str, user: str, data: dict) -> str:
    row = open_row(app, code)
    response = client.post(f"/api/v1/tasks/{row.id}/complete", json=data, headers=signed_in(client, user))
    assert response.status_code == 200, response.get_json()
    return row.step


def test_migrating_50_running_applications_keeps_their_tasks_claims_deadlines_and_escalations(
    client: FlaskClient, app: Flask
) -> None:
    # 20 waiting for verification since 10:00, overdue twice by 12:00 (10 claimed by an officer)
    at("2027-09-02 10:00")
    admin = token(client, "admin1")
    verifying = [new_application(client) for _ in range(20)]
    for code in verifying[:10]:
        assert client.post(f"/api/v1/tasks/{open_row(app, code).id}/claim", headers=admin).status_code == 200
    at("2027-09-02 11:05")
    assert sweep(app) == 20
    at("2027-09-02 11:50")
    later = [new_application(client) for _ in range(30)]
    at("2027-09-02 11:55")
    for code in later:
        complete_open(client, app, code, "admin1", STEP_DATA["admin1"])
    printing, grouping = later[:20], later[20:]
    operator = token(client, "operator1")  # signed in now: a session idle for 30 minutes has ended
    for code in printing[:10]:
        assert client.post(f"/api/v1/tasks/{open_row(app, code).id}/claim", headers=operator).status_code == 200
    at("2027-09-02 11:58")
    for code in grouping:
        complete_open(client, app, code, "operator1", STEP_DATA["operator1"])
    at("2027-09-02 12:00")
    sweep(app)  # verification's second level
    codes = verifying + later
    before = snapshot(app, codes)
    assert {before[c][0][5] for c in verifying} == {2} and {before[c][0][2] for c in verifying[:10]} == {"admin1"}
    assert {before[c][0][2] for c in printing[:10]} == {"operator1"} and {before[c][0][5] for c in later} == {0}

    assert deploy(client, with_quality_check()).status_code == 201
    assert (
        migrate(
            client, {"from_version": 1, "to_version": 2, "applications": "all", "dry_run": True}, "admin1"
        ).status_code
        == 403
    )

    at("2027-09-02 12:10")
    dry = migrate(client, {"from_version": 1, "to_version": 2, "applications": "all", "dry_run": True})
    assert dry.status_code == 200, dry.get_json()
    report = dry.get_json()
    assert (report["total"], report["movable"], report["moved"]) == (50, 50, 0)
    assert {i["code"] for i in report["items"]} == set(codes)
    steps = {i["code"]: i["current_steps"] for i in report["items"]}
    assert steps[verifying[0]] == ["Verifikasi dan validasi data dengan SIAK"]
    assert steps[grouping[0]] == ["Kelompokkan KIA per kecamatan domisili"]
    assert {v for v, _ in versions_of(app, codes).values()} == {1}  # a dry run changes nothing
    locks = versions_of(app, codes)

    done = migrate(client, {"from_version": 1, "to_version": 2, "applications": "all", "dry_run": False})
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert (result["total"], result["movable"], result["moved"]) == (50, 50, 50)
    assert all(i["moved"] and i["reason"] is None for i in result["items"])
    after = versions_of(app, codes)
    assert {v for v, _ in after.values()} == {2}
    assert {after[c][1] - locks[c][1] for c in codes} == {1}, [
        (after[c], locks[c]) for c in codes[:3]
    ]  # each written once
    assert snapshot(app, codes) == before  # same task ids, claims, deadlines, levels; same timers and due times
    again = migrate(client, {"from_version": 1, "to_version": 2, "applications": verifying[:1], "dry_run": False})
    assert again.get_json()["items"][0]["reason"] == "berjalan pada versi 2, bukan versi 1"

    # the SLA clocks were not restarted: verification's third level falls due at 13:00 as planned, and
    # printing's first at its deadline of 12:55 (not an hour after the move)
    at("2027-09-02 12:54")
    assert sweep(app) == 0
    assert {open_row(app, c).escalations for c in printing} == {0}
    at("2027-09-02 12:55")
    sweep(app)
    assert {open_row(app, c).escalations for c in printing} == {1}
    assert {open_row(app, c).escalations for c in verifying} == {2}
    assert {open_row(app, c).escalations for c in grouping} == {0}  # due at 12:58
    at("2027-09-02 13:00")
    sweep(app)
    assert {open_row(app, c).escalations for c in verifying} == {3}
    assert {open_row(app, c).escalations for c in printing} == {1}
    with app.app_context():
        levels = db.session.execute(
            select(Event.task_id, Event.detail).where(Event.kind == "escalated").order_by(Event.id)
        ).all()
    per_task: dict[str, list[int]] = {}
    for task_id, detail in levels:
        per_task.setdefault(task_id, []).append(detail["level"])
    assert sorted(per_task.values()) == sorted([[1]] * 30 + [[1, 2, 3]] * 20)  # each level once

    # each continues on version 2, through the new quality check after printing
    for code in codes:
        if code in verifying:
            complete_open(client, app, code, "admin1", STEP_DATA["admin1"])
        if code not in grouping:
            assert complete_open(client, app, code, "operator1", STEP_DATA["operator1"]) == "print_card"
            assert complete_open(client, app, code, "operator1", {"decision": "issued"}) == "check_card"
        assert complete_open(client, app, code, "dafdud1", STEP_DATA["dafdud1"]) == "group_cards"
        assert complete_open(client, app, code, "uptd_binawidya", ARRIVED) == "confirm_arrival"
        assert complete_open(client, app, code, "uptd_binawidya", STEP_DATA["uptd_binawidya"]) == "hand_over_card"
        assert client.get(f"/api/v1/status/{code}").get_json()["status"] == "selesai"

    # the control card shows the move, in JSON and on paper
    admin = token(client, "admin1")  # signed in again: the morning's session has been idle
    card = client.get(f"/api/v1/applications/{verifying[0]}/control-card", headers=admin).get_json()
    assert card["process"]["started_version"] == 1 and card["process"]["current_version"] == 2
    [move] = card["process"]["migrations"]
    assert (move["from_version"], move["to_version"], move["by"], move["note"]) == (1, 2, "owner1", NOTE)
    assert [i["step"] for i in card["items"]][:3] == ["submit_application", "verify_application", "print_card"]
    assert "check_card" in [i["step"] for i in card["items"]]
    verify_entry = next(i for i in card["items"] if i["step"] == "verify_application")
    assert [e["level"] for e in verify_entry["escalations"]] == [1, 2, 3]
    pdf = client.get(f"/api/v1/applications/{verifying[0]}/control-card.pdf", headers=admin)
    assert pdf.status_code == 200
    text = " ".join(" ".join(pages_text(pdf.data)).split())
    assert "dipindahkan ke versi 2" in text and "Periksa mutu cetakan KIA" in text


def test_an_application_whose_step_was_removed_is_reported_and_left_untouched(client: FlaskClient, app: Flask) -> None:
    at("2027-09-02 10:00")
    codes = [new_application(client) for _ in range(4)]  # at verification, printing, grouping, hand-over
    for code in codes[1:]:
        complete_open(client, app, code, "admin1", STEP_DATA["admin1"])
    for code in codes[2:]:
        complete_open(client, app, code, "operator1", STEP_DATA["operator1"])
    complete_open(client, app, codes[3], "dafdud1", STEP_DATA["dafdud1"])
    # version 2: the quality check replaces the grouping step
    assert deploy(client, with_quality_check(without_grouping())).status_code == 201
    before = snapshot(app, codes)
    locks = versions_of(app, codes)

    body = {"from_version": 1, "to_version": 2, "applications": "all", "dry_run": True}
    report = migrate(client, body).get_json()
    by_code = {i["code"]: i for i in report["items"]}
    assert [by_code[c]["movable"] for c in codes] == [True, True, False, False]
    assert by_code[codes[2]]["reason"] == (
        "langkah yang sedang berjalan 'Kelompokkan KIA per kecamatan domisili' dihapus di versi 2"
    )
    # its history must stay readable on the new version: one that passed the removed step stays too
    assert by_code[codes[3]]["reason"] == (
        "langkah yang sudah dilalui 'Kelompokkan KIA per kecamatan domisili' tidak ada lagi di versi 2"
    )
    result = migrate(client, {**body, "dry_run": False}).get_json()
    assert [i["moved"] for i in result["items"]] == [True, True, False, False]
    assert [i["reason"] for i in result["items"]][2:] == [by_code[c]["reason"] for c in codes[2:]]
    after = versions_of(app, codes)
    assert [after[c] for c in codes[2:]] == [locks[c] for c in codes[2:]]  # untouched: never written
    assert [after[c][0] for c in codes] == [2, 2, 1, 1]
    assert snapshot(app, codes) == before
    with app.app_context():
        left = db.session.scalars(select(Instance.id).where(Instance.business_key.in_(codes[2:]))).all()
        assert db.session.scalar(select(Event).where(Event.instance_id.in_(left), Event.kind == "migrated")) is None
    # those left behind still finish on version 1; the moved ones skip the grouping
    complete_open(client, app, codes[2], "dafdud1", STEP_DATA["dafdud1"])
    for code in codes[2:]:
        complete_open(client, app, code, "uptd_binawidya", ARRIVED)
        complete_open(client, app, code, "uptd_binawidya", STEP_DATA["uptd_binawidya"])
        assert client.get(f"/api/v1/status/{code}").get_json()["status"] == "selesai"
    assert complete_open(client, app, codes[1], "operator1", STEP_DATA["operator1"]) == "print_card"
    assert complete_open(client, app, codes[1], "operator1", {"decision": "issued"}) == "check_card"
    assert open_row(app, codes[1]).step == "confirm_arrival"


def test_migration_requests_are_checked(client: FlaskClient) -> None:
    assert deploy(client, with_quality_check()).status_code == 201
    base = {"from_version": 1, "to_version": 2, "applications": "all", "dry_run": True}
    cases = [
        ({**base, "to_version": 1}, 422, "to_version"),
        ({**base, "to_version": 7}, 404, None),
        ({**base, "applications": "semua"}, 422, "applications"),
        ({**base, "applications": []}, 422, "applications"),
        ({**base, "applications": ["bukan kode"]}, 422, "applications"),
        ({k: v for k, v in base.items() if k != "dry_run"}, 422, "dry_run"),
        ({**base, "mapping": {"print_card": "tidak_ada"}}, 422, "mapping"),
    ]
    for body, status, field_name in cases:
        response = migrate(client, body)
        assert response.status_code == status, (body, response.get_json())
        if field_name:
            assert field_name in response.get_json()["error"]["fields"], response.get_json()
    unknown = migrate(client, {**base, "applications": ["ABCDEFGHJKMN"]}).get_json()
    assert unknown["items"] == [
        {
            "code": "ABCDEFGHJKMN",
            "from_version": None,
            "to_version": 2,
            "movable": False,
            "moved": False,
            "reason": "permohonan tidak ditemukan",
            "current_steps": [],
        }
    ]


# --- the owner's pages ---------------------------------------------------------------------------------


def test_versions_page_rolls_back_and_the_migration_page_moves_applications(client: FlaskClient, app: Flask) -> None:
    from .test_web_pages import sign_in

    waiting = new_application(client)
    assert deploy(client, with_quality_check()).status_code == 201
    csrf = sign_in(client, "owner1")
    page = client.get("/pemilik/versi").text
    assert NOTE in page and "Aktifkan kembali" in page and "pindahkan permohonan berjalan" in page
    assert '<span class="badge">aktif</span>' in page.split('data-version="2"')[1].split("</tr>")[0]

    # a dry run, then the move, from the page under the versions page
    form = {"csrf_token": csrf, "dari": "1", "ke": "2", "scope": "all", "codes": ""}
    dry = client.post("/pemilik/proses/kia_whatsapp/migrasi", data={**form, "action": "dry_run"})
    assert dry.status_code == 200 and "Hasil uji coba: 1 dari 1 dapat dipindahkan" in dry.text
    assert f'data-code="{waiting}" class="ok"' in dry.text
    assert versions_of(app, [waiting])[waiting][0] == 1
    done = client.post("/pemilik/proses/kia_whatsapp/migrasi", data={**form, "action": "execute"})
    assert done.status_code == 200 and "1 dari 1 dipindahkan" in done.text
    assert versions_of(app, [waiting])[waiting][0] == 2
    bad = client.post(
        "/pemilik/proses/kia_whatsapp/migrasi", data={**form, "scope": "codes", "codes": "x", "action": "dry_run"}
    )
    assert bad.status_code == 200 and "Kode permohonan tidak sah" in bad.text

    # roll back from the versions page: a reason is required
    refused = client.post(
        "/pemilik/proses/kia_whatsapp/versi/1/aktifkan", data={"csrf_token": csrf, "reason": " "}, follow_redirects=True
    )
    assert "tidak diaktifkan: Alasan wajib diisi." in refused.text
    rolled = client.post(
        "/pemilik/proses/kia_whatsapp/versi/1/aktifkan",
        data={"csrf_token": csrf, "reason": "Operator belum siap memeriksa mutu."},
        follow_redirects=True,
    )
    assert "Versi 1 aktif" in rolled.text and "Operator belum siap memeriksa mutu." in rolled.text
    assert '<span class="badge">aktif</span>' in rolled.text.split('data-version="1"')[1].split("</tr>")[0]
    assert version_of(client, new_application(client)) == 1
    assert client.post("/pemilik/proses/kia_whatsapp/versi/2/aktifkan", data={"reason": "x"}).status_code == 400


def test_cli_rolls_back_and_migrates(client: FlaskClient, app: Flask) -> None:
    waiting = new_application(client)
    assert deploy(client, with_quality_check()).status_code == 201
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["migrate-applications", "--from", "1", "--to", "2"])
    assert dry.exit_code == 0, dry.output
    assert f"{waiting}\tdapat dipindahkan" in dry.output and "1 dari 1 permohonan dapat dipindahkan" in dry.output
    assert versions_of(app, [waiting])[waiting][0] == 1
    done = runner.invoke(args=["migrate-applications", "--from", "1", "--to", "2", "--code", waiting, "--execute"])
    assert done.exit_code == 0 and "1 dari 1 permohonan dipindahkan ke versi 2" in done.output, done.output
    assert versions_of(app, [waiting])[waiting][0] == 2
    same = runner.invoke(args=["migrate-applications", "--from", "2", "--to", "2"])
    assert same.exit_code != 0 and "sama" in same.output
    back = runner.invoke(args=["activate", "1", "--reason", "Kembali ke versi 1"])
    assert back.exit_code == 0 and "versi 1 aktif (sebelumnya versi 2)" in back.output, back.output
    assert runner.invoke(args=["activate", "1", "--reason", "lagi"]).exit_code != 0  # already active
    assert version_of(client, new_application(client)) == 1

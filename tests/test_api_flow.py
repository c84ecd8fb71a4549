"""The SOP end to end through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

from flask import Flask
from flask.testing import FlaskClient
from lxml import etree

from api.extensions import db
from engine.models import Instance, Outbox, TaskRow
from engine.workflow.definitions import NS

from .helpers import HANDOVER, ROOT, applicant_headers, application_data, inbox, submit, token

DIAGRAM = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")


def open_task(client: FlaskClient, headers: dict, code: str, lane: str | None = None) -> dict:
    items = [t for t in inbox(client, headers) if t["application_code"] == code]
    if lane:
        items = [t for t in items if t["lane"] == lane]
    assert len(items) == 1, items
    return items[0]


def complete(client: FlaskClient, headers: dict, task_id: str, data: dict, status: int = 200) -> dict:
    response = client.post(f"/api/v1/tasks/{task_id}/complete", json=data, headers=headers)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def status_of(client: FlaskClient, code: str) -> dict:
    response = client.get(f"/api/v1/status/{code}")
    assert response.status_code == 200
    return response.get_json()


def submitted(client: FlaskClient) -> dict:
    response = submit(client)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_happy_path_through_all_five_steps(client: FlaskClient, app: Flask) -> None:
    created = submitted(client)
    code = created["code"]
    assert created["status_url"] == f"http://kia.test/status/{code}"
    assert status_of(client, code)["status"] == "diajukan"

    admin = token(client, "admin1")
    task = open_task(client, admin, code)
    assert (task["step"], task["lane"], task["form_key"]) == ("verify_application", "admin", "verification")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=admin).status_code == 200
    done = complete(client, admin, task["id"], {"decision": "complete"})
    assert [t["step"] for t in done["next_tasks"]] == ["print_card"]
    assert status_of(client, code)["status"] == "diverifikasi"

    operator = token(client, "operator1")
    complete(client, operator, open_task(client, operator, code)["id"], {"decision": "issued"})
    assert status_of(client, code)["status"] == "dicetak"

    dafdud = token(client, "dafdud1")
    done = complete(client, dafdud, open_task(client, dafdud, code)["id"], {"batch": "2026-11-28"})
    assert [(t["step"], t["lane"]) for t in done["next_tasks"]] == [("confirm_arrival", "uptd")]
    assert status_of(client, code)["status"] == "dicetak"  # on its way to the UPTD: the parent is not told yet
    with app.app_context():
        assert not db.session.query(Outbox).filter_by(kind="card_ready").count()

    uptd = token(client, "uptd_binawidya")
    done = complete(client, uptd, open_task(client, uptd, code)["id"], {"decision": "arrived"})
    assert [t["step"] for t in done["next_tasks"]] == ["hand_over_card"]
    view = status_of(client, code)
    assert view["status"] == "siap_diambil"
    assert view["pickup"]["kecamatan"] == "Binawidya"

    result = complete(client, uptd, open_task(client, uptd, code)["id"], HANDOVER)
    assert result["next_tasks"] == [] and result["status"] == "selesai"

    view = status_of(client, code)
    assert [s["status"] for s in view["steps"]] == ["diajukan", "diverifikasi", "dicetak", "siap_diambil", "selesai"]
    assert view["completed_at"] is not None and view["current"] == []
    assert view["name"] == "A***** P**** R********"
    with app.app_context():
        kinds = sorted(o.kind for o in db.session.query(Outbox))
    assert kinds == ["application_code", "card_ready", "receipt"]

    detail = client.get(f"/api/v1/applications/{code}", headers=admin).get_json()
    completed = [(e["step"], e["actor"]) for e in detail["history"] if e["kind"] == "completed"]
    assert completed == [
        ("submit_application", "pemohon"),
        ("verify_application", "admin1"),
        ("print_card", "operator1"),
        ("group_cards", "dafdud1"),
        ("confirm_arrival", "uptd_binawidya"),
        ("hand_over_card", "uptd_binawidya"),
    ]


def _correct_as_applicant(client: FlaskClient, created: dict, expected_note: str) -> None:
    applicant = applicant_headers(client, created)
    view = client.get(f"/api/v1/status/{created['code']}", headers=applicant).get_json()
    assert view["status"] == "perlu_perbaikan"
    assert view["notes"][-1]["note"] == expected_note
    [task] = view["tasks"]
    complete(
        client,
        applicant,
        task["id"],
        {"response": "Sudah saya unggah ulang.", "child": {"address": "Jl. Garuda Sakti Km 3 No. 14"}},
    )


def test_incomplete_loop_returns_to_verification(client: FlaskClient, app: Flask) -> None:
    created = submitted(client)
    code = created["code"]
    admin = token(client, "admin1")
    complete(
        client,
        admin,
        open_task(client, admin, code)["id"],
        {"decision": "incomplete", "note": "Foto KK buram, mohon unggah ulang."},
    )
    assert status_of(client, code)["status"] == "perlu_perbaikan"
    assert [t for t in inbox(client, admin) if t["application_code"] == code] == []

    _correct_as_applicant(client, created, "Foto KK buram, mohon unggah ulang.")
    assert status_of(client, code)["status"] == "diajukan"
    again = open_task(client, admin, code)
    assert again["step"] == "verify_application"
    complete(client, admin, again["id"], {"decision": "complete"})
    assert status_of(client, code)["status"] == "diverifikasi"
    detail = client.get(f"/api/v1/applications/{code}", headers=admin).get_json()
    assert detail["child"]["address"] == "Jl. Garuda Sakti Km 3 No. 14"
    with app.app_context():
        notes = [o.payload["text"] for o in db.session.query(Outbox).filter_by(kind="correction_note")]
    assert len(notes) == 1 and "Foto KK buram" in notes[0]


def test_print_problem_loop(client: FlaskClient) -> None:
    created = submitted(client)
    code = created["code"]
    admin, operator = token(client, "admin1"), token(client, "operator1")
    complete(client, admin, open_task(client, admin, code)["id"], {"decision": "complete"})
    complete(
        client,
        operator,
        open_task(client, operator, code)["id"],
        {"decision": "problem", "note": "Nama di akta berbeda dengan KK."},
    )
    assert status_of(client, code)["status"] == "perlu_perbaikan"
    _correct_as_applicant(client, created, "Nama di akta berbeda dengan KK.")
    complete(client, admin, open_task(client, admin, code)["id"], {"decision": "complete"})
    complete(client, operator, open_task(client, operator, code)["id"], {"decision": "issued"})
    assert status_of(client, code)["status"] == "dicetak"


def test_wrong_lane_and_wrong_kecamatan_get_403(client: FlaskClient) -> None:
    code = submitted(client)["code"]
    admin, operator = token(client, "admin1"), token(client, "operator1")
    task = open_task(client, admin, code)
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=operator).status_code
        == 403
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=operator).status_code == 403
    complete(client, admin, task["id"], {"decision": "complete"})
    complete(client, operator, open_task(client, operator, code)["id"], {"decision": "issued"})
    dafdud = token(client, "dafdud1")
    complete(client, dafdud, open_task(client, dafdud, code)["id"], {})

    other = token(client, "uptd_sukajadi")
    assert [t for t in inbox(client, other) if t["application_code"] == code] == []
    own = token(client, "uptd_binawidya")
    arrival = open_task(client, own, code)
    response = client.post(f"/api/v1/tasks/{arrival['id']}/complete", json={"decision": "arrived"}, headers=other)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert client.get(f"/api/v1/applications/{code}", headers=other).status_code == 403
    assert client.get(f"/api/v1/applications/{code}", headers=own).status_code == 200


def test_second_completion_gets_409_and_changes_nothing(client: FlaskClient, app: Flask) -> None:
    code = submitted(client)["code"]
    admin = token(client, "admin1")
    task = open_task(client, admin, code)
    complete(client, admin, task["id"], {"decision": "complete"})
    with app.app_context():
        before = db.session.query(Instance).one()
        state, lock = before.state, before.lock_version
        tasks_before = db.session.query(TaskRow).count()
    body = complete(client, admin, task["id"], {"decision": "incomplete", "note": "x"}, status=409)
    assert body["error"]["code"] == "conflict"
    with app.app_context():
        after = db.session.query(Instance).one()
        assert (after.state, after.lock_version) == (state, lock)
        assert db.session.query(TaskRow).count() == tasks_before


def test_concurrent_completions_have_exactly_one_winner(client: FlaskClient, app: Flask) -> None:
    code = submitted(client)["code"]
    headers = [token(client, "admin1"), token(client, "admin2")]
    task = open_task(client, headers[0], code)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def attempt(h: dict) -> None:
        with app.test_client() as c:
            barrier.wait()
            results.append(
                c.post(f"/api/v1/tasks/{task['id']}/complete", json={"decision": "complete"}, headers=h).status_code
            )

    threads = [threading.Thread(target=attempt, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == [200, 409]
    with app.app_context():
        print_tasks = db.session.query(TaskRow).filter_by(step="print_card").count()
    assert print_tasks == 1


def test_invalid_form_data_gets_422_with_indonesian_field_messages(client: FlaskClient) -> None:
    code = submitted(client)["code"]
    admin = token(client, "admin1")
    task = open_task(client, admin, code)
    body = complete(client, admin, task["id"], {"decision": "incomplete"}, status=422)
    assert body["error"]["fields"] == {"note": ["Catatan wajib diisi bila berkas dikembalikan."]}
    body = complete(client, admin, task["id"], {"decision": "mungkin", "extra": 1}, status=422)
    assert set(body["error"]["fields"]) == {"decision", "extra"}

    bad = submit(client, application_data(nik="1471081005230000"))
    assert bad.status_code == 422
    assert "nik" in bad.get_json()["error"]["fields"]["child"]


def _upload(client: FlaskClient, headers: dict, xml: str):  # noqa: ANN202
    return client.post(
        "/api/v1/processes",
        query_string={"note": "Perubahan uji"},
        data=xml.encode(),
        headers={**headers, "Content-Type": "application/xml"},
    )


def _with_script_task() -> str:
    root = etree.fromstring(DIAGRAM.encode())
    node = root.find(".//bpmn:serviceTask[@id='svc_apply_correction']", NS)
    node.tag = f"{{{NS['bpmn']}}}scriptTask"
    etree.SubElement(node, f"{{{NS['bpmn']}}}script").text = "import os"
    return etree.tostring(root, encoding="unicode")


def _with_pre_script() -> str:
    root = etree.fromstring(DIAGRAM.encode())
    extensions = root.find(".//bpmn:userTask[@id='verify_application']/bpmn:extensionElements", NS)
    etree.SubElement(extensions, f"{{{NS['spiffworkflow']}}}preScript").text = "x = 1"
    return etree.tostring(root, encoding="unicode")


def test_hostile_diagrams_are_refused_and_the_running_version_keeps_serving(client: FlaskClient) -> None:
    owner = token(client, "owner1")
    assert _upload(client, token(client, "admin1"), DIAGRAM).status_code == 403
    hostile = [
        (_with_script_task(), "svc_apply_correction"),
        (_with_pre_script(), "verify_application"),
        (DIAGRAM.replace('decision == "complete"', 'decision.__class__ == "complete"'), "flow_complete"),
        (DIAGRAM.replace('decision == "complete"', '__import__("os").system("true")'), "flow_complete"),
        (DIAGRAM.replace('decision == "complete"', "[x for x in decision]"), "flow_complete"),
        (DIAGRAM.replace('<bpmn:lane id="dafdud"', '<bpmn:lane id="supervisor"'), "supervisor"),  # a service role
        (DIAGRAM.replace('<bpmn:lane id="dafdud"', '<bpmn:lane id="Lane_0x1"'), "Lane_0x1"),  # no role name
        (DIAGRAM.replace('value="verification"', 'value="tidak_ada"'), "verify_application"),
    ]
    for xml, element in hostile:
        assert xml != DIAGRAM
        response = _upload(client, owner, xml)
        assert response.status_code == 422, response.get_json()
        assert element in response.get_json()["error"]["fields"], response.get_json()
    versions = client.get("/api/v1/processes", headers=owner).get_json()["items"]
    assert [v["version"] for v in versions] == [1]
    assert submit(client).status_code == 201


def test_new_version_while_an_instance_runs(client: FlaskClient, app: Flask) -> None:
    old_code = submitted(client)["code"]
    owner = token(client, "owner1")
    changed = DIAGRAM.replace('name="Verifikasi dan validasi data dengan SIAK"', 'name="Verifikasi data (v2)"')
    assert changed != DIAGRAM
    response = _upload(client, owner, changed)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    assert _upload(client, owner, changed).status_code == 200  # same content: no new version

    new_code = submitted(client)["code"]
    admin = token(client, "admin1")
    titles = {t["application_code"]: t["title"] for t in inbox(client, admin)}
    assert titles[old_code] == "Verifikasi dan validasi data dengan SIAK"
    assert titles[new_code] == "Verifikasi data (v2)"
    for code, expected in ((old_code, 1), (new_code, 2)):
        detail = client.get(f"/api/v1/applications/{code}", headers=admin).get_json()
        assert detail["process_version"] == expected
    # the old instance runs to its end on version 1
    operator, dafdud = token(client, "operator1"), token(client, "dafdud1")
    uptd = token(client, "uptd_binawidya")
    complete(client, admin, open_task(client, admin, old_code)["id"], {"decision": "complete"})
    complete(client, operator, open_task(client, operator, old_code)["id"], {"decision": "issued"})
    complete(client, dafdud, open_task(client, dafdud, old_code)["id"], {})
    complete(client, uptd, open_task(client, uptd, old_code)["id"], {"decision": "arrived"})
    complete(client, uptd, open_task(client, uptd, old_code)["id"], HANDOVER)
    assert status_of(client, old_code)["status"] == "selesai"
    running = {
        v["version"]: v["running_instances"] for v in client.get("/api/v1/processes", headers=owner).get_json()["items"]
    }
    assert running == {1: 0, 2: 1}
    xml = client.get("/api/v1/processes/kia_whatsapp/bpmn?version=1", headers=owner)
    assert xml.status_code == 200 and b"Verifikasi dan validasi data dengan SIAK" in xml.data

"""A process owner adds a lane and a step without a developer (issue 21.3, 21.4), over a real HTTP server.

The changed diagram adds the lane ``kasi`` ("Kasi Pelayanan", not scoped by kecamatan) with the user
task "Persetujuan Kasi Pelayanan" between printing and grouping, its form and a 30-minute working-time
standard. The step's form is the owner's own (a form-js form deployed with the diagram: a required choice
``keputusan`` setuju/tolak and an optional ``catatan`` of at most 200 characters), checked by the server.
A new officer gets the role through the API; an application runs through: the step is in that
officer's inbox only, an empty completion is refused field by field in Bahasa Indonesia, a valid one moves
on to Dafdud, the step overruns and escalates like any other (the lane, then the supervisor), and the
control card (JSON and PDF), the SLA report, the dashboard and the status page show it by its names.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import delete, select

from api.extensions import db
from engine.models import ApiToken, Notification, User

from . import test_log_privacy
from .diagrams import KASI_FORM, KASI_FORM_ID, KASI_LANE, KASI_STEP, KASI_TITLE, with_kasi_approval
from .helpers import PASSWORD, inbox, token
from .pdfcheck import pages_text
from .scripted import at, finish, new_application, sweep, task_of
from .test_log_privacy import HttpClient
from .test_web_pages import sign_in

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does

KASI_USER = "kasi.rina"
KASI_NAME = "Rina Kartika"
# the step's form (the owner's, deployed with the diagram) and what an empty completion is told
REQUIRED_FIELD = "keputusan"
VALID = {"keputusan": "setuju", "catatan": "Data dan cetakan sesuai."}


@pytest.fixture
def client(server: str) -> HttpClient:
    return HttpClient(server)


def add_officer(app: Flask, *roles: str) -> tuple[int, str]:
    """``kia users add`` as an operator types it: exit code and output."""
    args = ["users", "add", KASI_USER, "--full-name", KASI_NAME, "--password-stdin"]
    for role in roles:
        args += ["--role", role]
    result = app.test_cli_runner().invoke(args=args, input=PASSWORD + "\n")
    return result.exit_code, result.output


@pytest.fixture
def new_officer(app: Flask) -> Iterator[str]:
    """A new officer's account for one test (accounts outlive tests: it goes again afterwards)."""
    yield KASI_USER
    with app.app_context():
        user_id = db.session.scalar(select(User.id).where(User.username == KASI_USER))
        if user_id is not None:
            for table in (Notification, ApiToken):
                db.session.execute(delete(table).where(table.user_id == user_id))
            db.session.execute(delete(User).where(User.id == user_id))
        db.session.commit()


def upload(client: HttpClient, xml: bytes, note: str = "Persetujuan Kasi Pelayanan sebelum KIA dikelompokkan"):  # noqa: ANN201
    """The diagram with the Kasi's form as a ``form`` part, as the modeler deploys them."""
    data = {
        "file": (io.BytesIO(xml), "kia_whatsapp.bpmn"),
        "form": (io.BytesIO(json.dumps(KASI_FORM).encode()), f"{KASI_FORM_ID}.form.json"),
        "note": note,
    }
    return client.post(
        "/api/v1/processes", data=data, content_type="multipart/form-data", headers=token(client, "owner1")
    )


def deploy(client: HttpClient, xml: bytes) -> dict:
    response = upload(client, xml)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def codes_in_inbox(client: HttpClient, username: str) -> set[str]:
    return {t["application_code"] for t in inbox(client, token(client, username))}


def test_a_new_lane_with_a_new_step_needs_no_code(
    client: HttpClient, app: Flask, new_officer: str, working_time: None
) -> None:
    # no deployed diagram has the lane yet: the CLI refuses the role, naming the roles there are
    code, output = add_officer(app, KASI_LANE)
    assert code != 0 and "Peran tidak dikenal: kasi" in output and "uptd (Ka. UPTD)" in output
    assert add_officer(app, "operator")[0] == 0  # the new officer, not yet of the lane

    at("2027-09-02 09:00")  # a Thursday, a working day
    # the step's form must come with the diagram: without it the deploy is refused, naming the step
    owner = {**token(client, "owner1"), "Content-Type": "application/xml"}
    without = client.post(
        "/api/v1/processes", query_string={"note": "uji"}, data=with_kasi_approval(form_key=KASI_FORM_ID), headers=owner
    )
    assert without.status_code == 422, without.get_json()
    (problem,) = without.get_json()["error"]["fields"][KASI_STEP]
    assert KASI_TITLE in problem and f"formulir '{KASI_FORM_ID}' tidak dikenal" in problem, problem
    version = deploy(client, with_kasi_approval(form_key=KASI_FORM_ID))
    assert version["version"] == 2
    stored = client.get("/api/v1/processes/kia_whatsapp/versions/2", headers=token(client, "owner1")).get_json()
    assert stored["forms"] == [KASI_FORM]

    # the supervisor gives the role through the API: no kecamatan, the lane is not scoped by one
    supervisor = token(client, "supervisor1")
    unknown = client.put(f"/api/v1/users/{new_officer}", json={"roles": ["kepala"]}, headers=supervisor)
    assert unknown.status_code == 422
    assert unknown.get_json()["error"]["fields"]["roles"][0].startswith("Peran tidak dikenal: kepala.")
    given = client.put(f"/api/v1/users/{new_officer}", json={"roles": [KASI_LANE]}, headers=supervisor)
    assert given.status_code == 200, given.get_json()
    assert (given.get_json()["roles"], given.get_json()["kecamatan"]) == ([KASI_LANE], None)
    assert client.get(f"/api/v1/users/{new_officer}", headers=supervisor).get_json()["roles"] == [KASI_LANE]
    kasi = token(client, new_officer)
    own = client.put("/api/v1/users/me", json={"roles": ["supervisor"]}, headers=kasi)
    assert own.status_code == 403  # only a supervisor gives roles
    # the accounts page offers the lane's role by its name in the diagram
    sign_in(client, "supervisor1")
    accounts = client.get("/supervisor/akun")
    assert accounts.status_code == 200 and 'value="kasi"> Kasi Pelayanan' in accounts.text
    assert "Rina Kartika" in accounts.text

    # an application runs on the new version: verified, printed, then the Kasi's approval
    application = new_application(client)
    at("2027-09-02 09:10")
    finish(client, "admin1", application, {"decision": "complete"})
    at("2027-09-02 09:20")
    finish(client, "operator1", application, {"decision": "issued"})
    kasi = token(client, new_officer)
    step = task_of(client, kasi, application)
    assert (step["step"], step["title"], step["lane"]) == (KASI_STEP, KASI_TITLE, KASI_LANE)
    assert step["time_standard"] == "PT30M"
    for other in ("admin1", "operator1", "dafdud1", "uptd_binawidya", "uptd_sukajadi"):
        assert application not in codes_in_inbox(client, other), other
    taken = client.post(f"/api/v1/tasks/{step['id']}/claim", headers=token(client, "operator1"))
    assert taken.status_code == 403
    detail = client.get(f"/api/v1/tasks/{step['id']}", headers=kasi).get_json()
    assert (detail["form_type"], detail["form"]) == ("owner", KASI_FORM)  # the form-js JSON, as deployed
    schema = detail["form_schema"]
    assert schema["required"] == [REQUIRED_FIELD] and schema["additionalProperties"] is False
    assert schema["properties"][REQUIRED_FIELD]["enum"] == ["setuju", "tolak"]
    assert schema["properties"]["catatan"] == {"title": "Catatan", "type": "string", "maxLength": 200}

    # the officer's own inbox page: the step and its lane by name, the inbox in the menu
    sign_in(client, new_officer)
    page = client.get("/petugas/tugas")
    assert page.status_code == 200 and KASI_TITLE in page.text and "Kasi Pelayanan" in page.text
    assert "Kotak masuk" in page.text
    # the task page draws the owner's form: its own labels, its choices
    task_page = client.get(f"/petugas/tugas/{step['id']}")
    assert task_page.status_code == 200 and "Keputusan Kasi" in task_page.text
    assert '<option value="setuju"' in task_page.text and 'maxlength="200"' in task_page.text

    # an empty completion: 422, field by field in Bahasa Indonesia, nothing changes
    empty = client.post(f"/api/v1/tasks/{step['id']}/complete", json={}, headers=kasi)
    assert empty.status_code == 422, empty.get_json()
    assert empty.get_json()["error"]["fields"] == {REQUIRED_FIELD: ["Wajib diisi."]}
    long_note = client.post(
        f"/api/v1/tasks/{step['id']}/complete", json={"keputusan": "mungkin", "catatan": "x" * 201}, headers=kasi
    )
    assert long_note.status_code == 422
    assert long_note.get_json()["error"]["fields"] == {
        "keputusan": ["Pilihan tidak sah: harus salah satu dari setuju, tolak."],
        "catatan": ["Terlalu panjang: maksimal 200 karakter."],
    }
    assert task_of(client, kasi, application)["state"] == "open"

    # the standard is 30 working minutes: at 09:50 the lane is told, half an hour later the supervisor too
    at("2027-09-02 09:50")
    assert sweep(app) == 1
    kasi = token(client, new_officer)
    notices = client.get("/api/v1/notifications", headers=kasi).get_json()["items"]
    assert [n["level"] for n in notices] == [1], notices
    assert notices[0]["title"].startswith(f"Eskalasi tingkat 1: {KASI_TITLE}")
    assert "bagian Kasi Pelayanan" in notices[0]["body"] and "30 menit" in notices[0]["body"]
    for other in ("supervisor1", "operator1", "dafdud1"):
        assert client.get("/api/v1/notifications", headers=token(client, other)).get_json()["items"] == []
    at("2027-09-02 10:20")
    assert sweep(app) == 1
    supervisor, kasi = token(client, "supervisor1"), token(client, new_officer)  # the old ones idled out
    (told,) = client.get("/api/v1/notifications", headers=supervisor).get_json()["items"]
    assert told["level"] == 2 and KASI_TITLE in told["title"]

    # the status page names the step and its lane, never their ids
    status = client.get(f"/status/{application}")
    assert status.status_code == 200 and "Kasi Pelayanan" in status.text
    assert client.get(f"/api/v1/status/{application}").get_json()["current"][0]["title"] == KASI_TITLE

    # a valid completion moves on to Dafdud's grouping
    at("2027-09-02 10:25")
    supervisor, kasi = token(client, "supervisor1"), token(client, new_officer)
    done = client.post(f"/api/v1/tasks/{step['id']}/complete", json=VALID, headers=kasi)
    assert done.status_code == 200, done.get_json()
    status = client.get(f"/api/v1/status/{application}").get_json()  # the new milestone, by its name
    assert (status["status"], status["status_label"]) == ("disetujui_kasi", "Disetujui Kasi Pelayanan")
    assert "Disetujui Kasi Pelayanan" in client.get(f"/status/{application}").text
    assert application in codes_in_inbox(client, "dafdud1")
    assert task_of(client, token(client, "dafdud1"), application)["step"] == "group_cards"
    assert application not in codes_in_inbox(client, new_officer)

    # the control card lists the step: its lane, standard, overrun and both escalations, who did it
    card = client.get(f"/api/v1/applications/{application}/control-card", headers=supervisor).get_json()
    steps = [item["step"] for item in card["items"]]
    assert steps.index("print_card") < steps.index(KASI_STEP) < steps.index("group_cards")
    (row,) = [item for item in card["items"] if item["step"] == KASI_STEP]
    assert (row["title"], row["lane"], row["time_standard"], row["outcome"]) == (
        KASI_TITLE,
        KASI_LANE,
        "PT30M",
        "overrun",
    )
    assert row["lane_name"] == "Kasi Pelayanan" and [e["level"] for e in row["escalations"]] == [1, 2]
    assert (row["completed_by"], row["completed_by_name"]) == (new_officer, KASI_NAME)
    pdf = client.get(f"/api/v1/applications/{application}/control-card.pdf", headers=supervisor)
    assert pdf.status_code == 200
    text = " ".join(" ".join(pages_text(pdf.data)).split())
    assert KASI_TITLE in text and "Kasi Pelayanan" in text and KASI_NAME in text

    # the SLA report and the dashboard count it by its name
    sla = client.get("/api/v1/reports/sla", headers=supervisor).get_json()
    (entry,) = [e for e in sla["items"] if e["step"] == KASI_STEP]
    assert (entry["title"], entry["lane_name"], entry["count"], entry["within_standard"]) == (
        KASI_TITLE,
        "Kasi Pelayanan",
        1,
        0,
    )
    sign_in(client, "supervisor1")
    dashboard = client.get("/dasbor")
    assert dashboard.status_code == 200 and KASI_TITLE in dashboard.text and "Kasi Pelayanan" in dashboard.text

    # the versions page tells what changed: the lane and the step added
    versions = client.get("/pemilik/versi").text
    assert "Kasi Pelayanan" in versions and KASI_TITLE in versions and "ditambahkan" in versions

    # the role now exists: the CLI accepts it (the lane is not scoped, so no kecamatan is asked)
    code, output = add_officer(app, KASI_LANE)
    assert code == 0, output


def test_a_lane_scoped_by_kecamatan_is_the_diagrams_choice(client: HttpClient, app: Flask, new_officer: str) -> None:
    """The Kasi lane deployed with ``scope=kecamatan``: its officers then need a kecamatan, and see only
    their kecamatan's tasks; and a scope the service does not know is refused at deploy."""
    scoped = with_kasi_approval(form_key=KASI_FORM_ID).replace(
        b'<bpmn:lane id="kasi" name="Kasi Pelayanan">',
        b'<bpmn:lane id="kasi" name="Kasi Pelayanan"><bpmn:extensionElements><spiffworkflow:properties>'
        b'<spiffworkflow:property name="scope" value="{scope}"/></spiffworkflow:properties></bpmn:extensionElements>',
    )
    refused = upload(client, scoped.replace(b"{scope}", b"desa"), "uji")
    assert refused.status_code == 422
    assert "scope" in refused.get_json()["error"]["fields"][KASI_LANE][0]
    deploy(client, scoped.replace(b"{scope}", b"kecamatan"))
    assert add_officer(app, "operator")[0] == 0
    supervisor = token(client, "supervisor1")
    missing = client.put(f"/api/v1/users/{new_officer}", json={"roles": [KASI_LANE]}, headers=supervisor)
    assert missing.status_code == 422
    assert "Kasi Pelayanan" in missing.get_json()["error"]["fields"]["kecamatan"][0]
    given = client.put(
        f"/api/v1/users/{new_officer}", json={"roles": [KASI_LANE], "kecamatan": "14.71.01"}, headers=supervisor
    )
    assert given.status_code == 200, given.get_json()

    application = new_application(client)  # the suite's applicant lives in Binawidya (14.71.08)
    finish(client, "admin1", application, {"decision": "complete"})
    finish(client, "operator1", application, {"decision": "issued"})
    kasi = token(client, new_officer)
    assert application not in codes_in_inbox(client, new_officer)
    (step,) = [t for t in inbox(client, supervisor) if t["application_code"] == application]
    refused_claim = client.post(f"/api/v1/tasks/{step['id']}/claim", headers=kasi)
    assert refused_claim.status_code == 403
    assert client.get(f"/api/v1/applications/{application}", headers=kasi).status_code == 403
    moved = client.put(f"/api/v1/users/{new_officer}", json={"kecamatan": "14.71.08"}, headers=supervisor)
    assert moved.status_code == 200
    kasi = token(client, new_officer)
    assert application in codes_in_inbox(client, new_officer)
    assert client.get(f"/api/v1/applications/{application}", headers=kasi).status_code == 200

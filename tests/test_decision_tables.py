"""The process owner changes the photo rule in the kia_rules decision table and deploys it (issue 21.2),
over real HTTP: new applications follow the new table, applications already running keep their
version's, and a broken table is refused while the deployed version keeps serving."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from . import test_log_privacy
from .diagrams import BUNDLED
from .helpers import JPEG_BYTES, PDF_BYTES, PNG_BYTES, application_data, inbox, submit, today, token
from .test_log_privacy import HttpClient

server = test_log_privacy.server  # the app served by werkzeug in a thread, as ``kia serve`` does

TABLE = (BUNDLED.parent / "kia_rules.dmn").read_text(encoding="utf-8")
RULE_UNDER_5 = TABLE[TABLE.index('      <rule id="rule_under_5">') : TABLE.index('      <rule id="rule_5_to_17">')]
# photo from age 4: the kind stays "under 5" (the regulation's card), but a 4-year-old brings a photo
PHOTO_FROM_4 = TABLE.replace(
    RULE_UNDER_5,
    RULE_UNDER_5.replace("0 &lt;= ? &lt; 5", "0 &lt;= ? &lt; 4")
    + RULE_UNDER_5.replace("rule_under_5", "rule_age_4")
    .replace("0 &lt;= ? &lt; 5", "4 &lt;= ? &lt; 5")
    .replace("<text>False</text>", "<text>True</text>")
    .replace("tanpa foto", "dengan pas foto"),
)
NOTE = "Pas foto wajib mulai usia 4 tahun (kebijakan kantor)."


def years_ago(years: int) -> str:
    """A birth date ``years`` years before today on the engine clock (the suite's calendar)."""
    now = today()
    return now.replace(year=now.year - years, day=min(now.day, 28)).isoformat()


@pytest.fixture
def http(app: Flask, server: str) -> Iterator[HttpClient]:
    client = HttpClient(server)
    yield client
    client.http.close()


def deploy(http: HttpClient, table: str) -> tuple[int, dict]:
    response = http.http.post(
        "/api/v1/processes",
        headers=token(http, "owner1"),
        data={"note": NOTE},
        files=[
            ("file", ("kia_whatsapp.bpmn", BUNDLED.read_bytes(), "application/xml")),
            ("decision", ("kia_rules.dmn", table.encode(), "application/xml")),
        ],
    )
    return response.status_code, response.json()


def four_year_old(http: HttpClient, nik: str, files: dict[str, bytes]) -> tuple[int, dict]:
    response = submit(http, application_data(birth_date=years_ago(4), nik=nik), files)
    return response.status_code, response.get_json()


def sent_back(http: HttpClient, code: str, pin: str) -> tuple[dict[str, str], str]:
    """The admin sends ``code`` back for a correction: the applicant's headers and the correction task."""
    admin = token(http, "admin1")
    [task] = [t for t in inbox(http, admin) if t["application_code"] == code]
    done = http.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=admin, json={"decision": "incomplete", "note": "Periksa."}
    )
    assert done.status_code == 200, done.get_json()
    signed_in = http.post("/api/v1/auth/token", json={"code": code, "pin": pin}).get_json()
    applicant = {"Authorization": f"Bearer {signed_in['access_token']}"}
    [correction] = [t for t in inbox(http, applicant) if t["form_key"] == "correction"]
    return applicant, correction["id"]


def test_photo_from_age_4_applies_to_new_applications_not_to_running_ones(http: HttpClient) -> None:
    without_photo = {"kk": PDF_BYTES, "akta": PNG_BYTES}
    admin, owner = token(http, "admin1"), token(http, "owner1")

    # version 1 (the bundled table): a 4-year-old needs no photo
    status, running = four_year_old(http, "1471085005230001", without_photo)
    assert status == 201, running
    assert http.get(f"/api/v1/applications/{running['code']}", headers=admin).get_json()["kia_kind"] == "under_5"

    status, deployed = deploy(http, PHOTO_FROM_4)
    assert (status, deployed["version"], deployed["active"]) == (201, 2, True), deployed
    stored = http.get("/api/v1/processes/kia_whatsapp/versions/2", headers=owner).get_json()
    assert stored["decisions"] == [{"name": "kia_rules.dmn", "xml": PHOTO_FROM_4}]

    # version 2: a 4-year-old's application without a photo is refused, field by field, in Indonesian
    status, refused = four_year_old(http, "1471085005230002", without_photo)
    assert status == 422, refused
    assert refused["error"]["fields"] == {"photo": ["Dokumen wajib diunggah."]}
    status, accepted = four_year_old(http, "1471085005230002", {**without_photo, "photo": JPEG_BYTES})
    assert status == 201, accepted
    detail = http.get(f"/api/v1/applications/{accepted['code']}", headers=admin).get_json()
    assert detail["kia_kind"] == "under_5"  # the kind did not change, only the photo rule
    # a 3-year-old still needs none
    younger = submit(http, application_data(birth_date=years_ago(3), nik="1471085005230003"), without_photo)
    assert younger.status_code == 201, younger.get_json()

    # the application running on version 1 is not affected: its correction without a photo goes through
    applicant, correction = sent_back(http, running["code"], running["pin"])
    answer = http.post(f"/api/v1/tasks/{correction}/complete", headers=applicant, json={"response": "Sudah benar."})
    assert answer.status_code == 200, answer.get_json()
    admin_tasks = [t for t in inbox(http, admin) if t["application_code"] == running["code"]]
    assert [t["form_key"] for t in admin_tasks] == ["verification"]
    assert http.get(f"/api/v1/applications/{running['code']}", headers=admin).get_json()["kia_kind"] == "under_5"

    # a broken table is refused with its problem and version 2 keeps serving
    status, broken = deploy(http, PHOTO_FROM_4.replace('hitPolicy="UNIQUE"', 'hitPolicy="FIRST"'))
    assert status == 422, broken
    assert any("hit policy FIRST tidak didukung" in m for ms in broken["error"]["fields"].values() for m in ms)
    status, escaping = deploy(http, PHOTO_FROM_4.replace("<text>child_age</text>", "<text>__import__('os')</text>"))
    assert status == 422 and "ekspresi tidak diizinkan" in str(escaping["error"]["fields"]), escaping
    versions = http.get("/api/v1/processes", headers=owner).get_json()["items"]
    assert [(v["version"], v["active"]) for v in versions] == [(2, True), (1, False)]
    status, again = four_year_old(http, "1471085005230004", without_photo)
    assert status == 422 and "photo" in again["error"]["fields"], again

"""Writes a database as the stop-12 release (commit 0d03f16) leaves it, by running that release's code.

Not a test module: ``tests/test_release_upgrade.py`` runs it with this project's Python and
``PYTHONPATH`` at a ``git archive`` of the release, so every import below (``api``, ``engine``, the
release's own ``tests.conftest`` helpers) is the release's code, and the schema and rows are what it
wrote (``create_all``, its index list, its serialized workflows):

    PYTHONPATH=/tmp/release python -P tests/release_fixture.py DATABASE_URL DOCUMENT_DIR MANIFEST

One application waits at each step of the SOP, one has finished, one is overdue with its first
escalation recorded and the next level's timer waiting. ``MANIFEST`` (JSON) names each application's
code, PIN and step, for the test to run it to the end with the current code, and when to sweep so
that exactly the waiting escalation falls due.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path

from engine.clock import clock
from sqlalchemy.orm import sessionmaker

from api import create_app
from api.extensions import db
from api.provisioning import add_user, init_database
from engine import timers
from tests.conftest import PASSWORD, STAFF, applicant_headers, inbox, submit, token

VERIFY, PRINT, GROUP = {"decision": "complete"}, {"decision": "issued"}, {"batch": "2026-11-28"}
SEND_BACK = {"decision": "incomplete", "note": "Foto KK buram, mohon unggah ulang."}
PROBLEM = {"decision": "problem", "note": "Nama di akta berbeda dengan KK."}
HAND_OVER = {"recipient_name": "Siti Rahmawati"}


def main(url: str, documents: str, manifest: str) -> None:
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "DOCUMENT_DIR": documents,
            "KIA_WORKING_TIME": False,
            "KIA_SCHEDULER": False,
            "SECRET_KEY": "release-fixture",
            "STATUS_RATE_LIMIT": 1000,
            "LOGIN_RATE_LIMIT": 1000,
            "PUBLIC_BASE_URL": "http://kia.test",
        }
    )
    with app.app_context():
        init_database(app.config["KIA_BUNDLED_DIAGRAM"])
        for username, roles, kecamatan in STAFF:
            add_user(username, PASSWORD, roles, username.replace("_", " ").title(), kecamatan)
    client = app.test_client()
    staff: dict[str, dict] = {}

    def new() -> dict:
        response = submit(client)
        assert response.status_code == 201, response.get_json()
        return response.get_json()

    def do(user: str, code: str, data: dict, claim: bool = False) -> None:
        [task] = [t for t in inbox(client, staff[user]) if t["application_code"] == code]
        if claim:
            assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=staff[user]).status_code == 200
        response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=staff[user])
        assert response.status_code == 200, response.get_json()

    def correct(created: dict) -> None:
        headers = applicant_headers(client, created)
        [task] = client.get(f"/api/v1/status/{created['code']}", headers=headers).get_json()["tasks"]
        data = {"response": "Sudah saya unggah ulang.", "child": {"address": "Jl. Garuda Sakti Km 3 No. 14"}}
        assert client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers).status_code == 200

    made: list[dict] = []

    def keep(created: dict, step: str) -> None:
        made.append({"code": created["code"], "pin": created["pin"], "step": step})

    # On the engine clock, a week ahead: SpiffWorkflow compares its timers with the real clock and so
    # never fires one by itself; only the sweep at the engine clock does (as in the release's tests).
    start = clock.now().replace(microsecond=0) + timedelta(days=7)
    clock.freeze(start)
    overdue = new()  # its verification (PT1H) is escalated once at the deadline, level 2 waits
    clock.freeze(start + timedelta(hours=1, minutes=30))
    with app.app_context():
        assert timers.fire_due(sessionmaker(bind=db.engine, expire_on_commit=False)) == 1
    keep(overdue, "escalated")
    staff.update({name: token(client, name) for name in ("admin1", "operator1", "dafdud1", "uptd_binawidya")})
    keep(new(), "submitted")
    claimed = new()
    [task] = [t for t in inbox(client, staff["admin1"]) if t["application_code"] == claimed["code"]]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=staff["admin1"]).status_code == 200
    keep(claimed, "in_verification")
    sent_back = new()
    do("admin1", sent_back["code"], SEND_BACK)
    keep(sent_back, "in_correction")
    printing = new()
    do("admin1", printing["code"], VERIFY, claim=True)
    keep(printing, "printing")
    problem = new()
    do("admin1", problem["code"], VERIFY)
    do("operator1", problem["code"], PROBLEM)
    keep(problem, "print_problem")
    grouping = new()
    do("admin1", grouping["code"], VERIFY)
    do("operator1", grouping["code"], PRINT)
    keep(grouping, "grouping")
    hand_over = new()
    do("admin1", hand_over["code"], VERIFY)
    do("operator1", hand_over["code"], PRINT)
    do("dafdud1", hand_over["code"], GROUP)
    keep(hand_over, "hand_over")
    finished = new()
    do("admin1", finished["code"], SEND_BACK)
    correct(finished)
    for user, data in (("admin1", VERIFY), ("operator1", PRINT), ("dafdud1", GROUP), ("uptd_binawidya", HAND_OVER)):
        do(user, finished["code"], data)
    keep(finished, "finished")
    # level 2 of the overdue one falls due an hour after level 1 (start + 2 h), the others' first not before
    # start + 2.5 h: a sweep at start + 2 h 10 min fires exactly that one timer
    escalate_at = (start + timedelta(hours=2, minutes=10)).isoformat()
    Path(manifest).write_text(json.dumps({"escalate_at": escalate_at, "applications": made}, indent=1), "utf-8")


if __name__ == "__main__":
    main(*sys.argv[1:4])

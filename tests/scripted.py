"""A scripted history on a controllable clock: helpers shared by the control-card, SLA and escalation tests.

The dates are scripted instants of the engine clock (``at``): SpiffWorkflow's timers compare with the
same clock (engine.workflow.spiff_clock), and the suite's calendar starts on SUITE_START (conftest), so
they run the same whatever the real date.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import sessionmaker

from api.extensions import db
from engine.workflow import timers
from engine.workflow.clock import clock

from .helpers import HANDOVER, ROOT, bundled_files, inbox, submit, token

WIB = ZoneInfo("Asia/Jakarta")


def wib(text: str) -> datetime:
    """An instant from a Jakarta wall-clock time 'YYYY-MM-DD HH:MM[:SS]'."""
    return datetime.fromisoformat(text).replace(tzinfo=WIB)


def at(text: str) -> None:
    clock.freeze(wib(text))


def sweep(app: Flask) -> int:
    """Fire every timer due at the engine clock, as the scheduler does."""
    with app.app_context():
        return timers.fire_due(sessionmaker(bind=db.engine, expire_on_commit=False))


def new_application(client: FlaskClient) -> str:
    response = submit(client)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["code"]


def task_of(client: FlaskClient, headers: dict, code: str) -> dict:
    items = [t for t in inbox(client, headers) if t["application_code"] == code]
    assert len(items) == 1, items
    return items[0]


def claim(client: FlaskClient, user: str, code: str) -> dict:
    headers = token(client, user)
    task = task_of(client, headers, code)
    response = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
    assert response.status_code == 200, response.get_json()
    return task


def finish(client: FlaskClient, user: str, code: str, data: dict) -> dict:
    headers = token(client, user)
    task = task_of(client, headers, code)
    response = client.post(f"/api/v1/tasks/{task['id']}/complete", json=data, headers=headers)
    assert response.status_code == 200, response.get_json()
    return task


ARRIVED = {"decision": "arrived"}  # the UPTD confirms the card came with its batch: the parent is told
HAND_OVER = HANDOVER  # the hand-over to the child's mother (``helpers.HANDOVER``)
STEP_DATA = {  # each officer's last step of the bundled diagram (the UPTD: the hand-over, after ``ARRIVED``)
    "admin1": {"decision": "complete"},
    "operator1": {"decision": "issued"},
    "dafdud1": {"batch": "2027-09-03"},
    "uptd_binawidya": HANDOVER,
}
# the staff's steps of the bundled diagram in order, as (officer, form data)
WALK = [
    ("admin1", STEP_DATA["admin1"]),
    ("operator1", STEP_DATA["operator1"]),
    ("dafdud1", STEP_DATA["dafdud1"]),
    ("uptd_binawidya", ARRIVED),
    ("uptd_binawidya", HAND_OVER),
]


def arrive(client: FlaskClient, code: str, user: str = "uptd_binawidya") -> dict:
    """The UPTD confirms the card's arrival (its step after the grouping), one card on its task."""
    return finish(client, user, code, ARRIVED)


def utc(text: str) -> str:
    """The JSON form of a Jakarta wall-clock time, as the API renders it (UTC, ISO 8601)."""
    return wib(text).astimezone(ZoneInfo("UTC")).isoformat()


ONE_MINUTE = timedelta(minutes=1)


def fast_diagram(standards: dict[str, str]) -> bytes:
    """The bundled diagram with some steps' standards replaced (e.g. ``{"verify_application": "PT3S"}``),
    all of them in calendar time: a process owner's edit, deployed as a new version."""
    import re

    xml = (ROOT / "bpmn" / "kia_whatsapp.bpmn").read_text(encoding="utf-8")
    for step, standard in standards.items():
        pattern = re.compile(
            rf'(<bpmn:userTask id="{step}".*?name="time_standard" value=")[^"]*("/>\s*'
            r'<spiffworkflow:property name="time_basis" value=")[^"]*(")',
            re.S,
        )
        xml, count = pattern.subn(rf"\g<1>{standard}\g<2>calendar\g<3>", xml, count=1)
        assert count == 1, step
    return xml.encode("utf-8")


def deploy_fast(app: Flask, standards: dict[str, str]) -> None:
    import forms
    from engine.workflow import definitions

    with app.app_context():
        version, created = definitions.deploy(
            db.session, fast_diagram(standards), forms.FORMS.keys(), "test", files=bundled_files()
        )
        db.session.commit()
        assert created

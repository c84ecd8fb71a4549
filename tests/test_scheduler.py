"""The real scheduler (APScheduler) on the real clock: an escalation within 2 seconds of its deadline."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api.extensions import db
from api.scheduler import Sweeper
from engine.kia import applications
from engine.models import Event, TaskRow

from .scripted import deploy_fast, new_application

TOLERANCE = timedelta(seconds=2)


def test_escalations_fire_within_two_seconds_of_their_deadline(client: FlaskClient, app: Flask) -> None:
    deploy_fast(app, {"verify_application": "PT3S"})
    sweeper = Sweeper(app)
    sweeper.start()
    try:
        code = new_application(client)  # created after the scheduler started: it must notice by itself
        with app.app_context():
            instance_id = applications.by_code(db.session, code).instance_id
        events: list[Event] = []
        limit = time.monotonic() + 15
        while len(events) < 2 and time.monotonic() < limit:
            time.sleep(0.1)
            with app.app_context():
                events = list(
                    db.session.scalars(
                        select(Event)
                        .where(Event.instance_id == instance_id, Event.kind == "escalated")
                        .order_by(Event.id)
                    )
                )
    finally:
        sweeper.stop()
    with app.app_context():
        row = db.session.scalar(
            select(TaskRow).where(TaskRow.instance_id == instance_id, TaskRow.step == "verify_application")
        )
        assert row.due_at - row.ready_at == timedelta(seconds=3)
    assert [e.detail["level"] for e in events] == [1, 2]
    for event in events:
        due = event.detail["due_at"]
        lateness = event.at - datetime.fromisoformat(due)
        print(f"escalation level {event.detail['level']} fired {lateness.total_seconds():.3f} s after its deadline")
        assert timedelta(0) <= lateness <= TOLERANCE, (event.detail, event.at)
    assert events[0].detail["due_at"] == row.due_at.isoformat()

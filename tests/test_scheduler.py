"""The real scheduler (APScheduler) on the real clock: it plans a wake-up at each deadline by itself and
fires every escalation then, never early. How late it fires on a loaded machine is a figure of
``make bench`` (``bench/timers.py``), not an assertion here: a busy CI machine must not fail the suite."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from api import scheduler as scheduler_module
from api.extensions import db
from api.scheduler import Sweeper
from engine.kia import applications
from engine.models import Event, TaskRow
from engine.workflow.clock import clock

from .scripted import deploy_fast, new_application


def test_escalations_fire_at_their_deadline_by_a_planned_wake_up(client: FlaskClient, app: Flask) -> None:
    deploy_fast(app, {"verify_application": "PT5S"})  # time for a planner poll (every second) before it
    sweeper = Sweeper(app)
    planned: list[datetime] = []  # the exact wake-ups the planner asked for
    add_job = sweeper.scheduler.add_job

    def recording(func, trigger=None, **kwargs):  # noqa: ANN001, ANN202
        if kwargs.get("id") == "fire":
            planned.append(kwargs["run_date"])
        return add_job(func, trigger, **kwargs)

    sweeper.scheduler.add_job = recording  # type: ignore[method-assign]
    sweeper.start()
    try:
        code = new_application(client)  # created after the scheduler started: it must notice by itself
        with app.app_context():
            instance_id = applications.by_code(db.session, code).instance_id
        events: list[Event] = []
        limit = time.monotonic() + 60  # a generous bound for a loaded machine; normally about 10 s
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
        assert row.due_at - row.ready_at == timedelta(seconds=5)
    assert [e.detail["level"] for e in events] == [1, 2]
    for event in events:
        due = datetime.fromisoformat(event.detail["due_at"])
        lateness = event.at - due
        print(f"escalation level {event.detail['level']} fired {lateness.total_seconds():.3f} s after its deadline")
        assert lateness >= timedelta(0), (event.detail, event.at)  # never early
        assert clock.to_system(due) in planned, (due, planned)  # woken for this deadline, not by the next poll
    assert events[0].detail["due_at"] == row.due_at.isoformat()


def test_stopping_while_a_plan_is_about_to_add_its_wake_up_does_not_hang(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """APScheduler's ``shutdown(wait=True)`` holds its job-store lock while it waits for running jobs, and
    the plan adds a job, which needs that lock: a stop that came while a plan was reading the next deadline
    used to wait for ever (seen as a 300 s hang of the missed-timers test under load)."""
    reading = threading.Event()

    def slow_next_due(session: Any) -> datetime:
        reading.set()
        time.sleep(0.5)  # the stop comes now, before the plan adds its wake-up
        return clock.now() + timedelta(hours=1)

    monkeypatch.setattr(scheduler_module.timers, "next_due", slow_next_due)
    sweeper = Sweeper(app)
    sweeper.start()
    assert reading.wait(10)
    stopping = threading.Thread(target=sweeper.stop, daemon=True)
    stopping.start()
    stopping.join(timeout=30)
    assert not stopping.is_alive(), "the scheduler did not stop"

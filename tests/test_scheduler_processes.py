"""Two `kia scheduler` processes on one PostgreSQL database with over a thousand due timers: every
escalation (three levels each) is recorded exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from api.extensions import db
from engine.models import Application, Event, Outbox, TaskRow, Timer
from engine.workflow import instances
from engine.workflow.clock import clock

from .helpers import ROOT
from .scripted import deploy_fast

INSTANCES = 1000
LEVELS = 2  # the first level runs the diagram, the second is a repeat: both kinds of timer


def _start_instances(app: Flask, count: int) -> None:
    with app.app_context():
        for i in range(count):
            instance = instances.start(
                db.session,
                "kia_whatsapp",
                business_key=f"SCHED{i:06d}",
                kecamatan="14.71.08",
                data={"kia_kind": "under_5", "child_age": 3},  # the decision table's input
                actor="test",
            )
            db.session.add(  # the applicant to remind (by e-mail: no consent to WhatsApp notices)
                Application(
                    instance_id=instance.id,
                    code=f"SCHED{i:06d}",
                    pin_hash="-",
                    kia_kind="under_5",
                    applicant={"phone": "6281234567890", "email": "siti@example.com"},
                    child={"name": "Aisyah"},
                )
            )
            if i % 100 == 99:
                db.session.commit()
        db.session.commit()


def _scheduler(database_url: str, workdir: Path, name: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "KIA_INSTANCE_PATH": str(workdir),
        "KIA_WORKING_TIME": "off",
        "KIA_ESCALATION_CAP": str(LEVELS),
        "SECRET_KEY": "test",
    }
    log = (workdir / f"{name}.log").open("wb")
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "kia"), "scheduler"], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )


def _counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        escalated = db.session.scalar(select(func.count()).select_from(Event).where(Event.kind == "escalated"))
        waiting = db.session.scalar(
            select(func.count()).select_from(Timer).where(Timer.state.in_(("waiting", "recorded")))
        )  # recorded: the workflow has yet to catch up
        db.session.rollback()
        return escalated, waiting


def _wait_until_running(processes: list[subprocess.Popen], logs: list[Path], limit: float = 120) -> None:
    """Until every process says its scheduler runs (its planner then polls the timers every second)."""
    deadline = time.monotonic() + limit
    while not all("scheduler running" in log.read_text(errors="replace") for log in logs):
        assert all(p.poll() is None for p in processes), [log.read_text(errors="replace") for log in logs]
        assert time.monotonic() < deadline, [log.read_text(errors="replace") for log in logs]
        time.sleep(0.2)


def _set_deadlines(app: Flask, at: datetime) -> int:
    """Move every waiting timer (and its step's deadline) to ``at``; how many timers."""
    with app.app_context():
        moved = db.session.execute(update(Timer).where(Timer.state == "waiting").values(due_at=at)).rowcount
        db.session.execute(update(TaskRow).where(TaskRow.state == "open").values(due_at=at))
        db.session.commit()
        return moved


def test_two_scheduler_processes_fire_every_timer_exactly_once(app: Flask, database_url: str, tmp_path: Path) -> None:
    """Both processes are up and polling before the timers fall due (the deadlines are set only then),
    so both take part; each timer fires exactly once whichever takes it."""
    if not database_url.startswith("postgresql"):
        pytest.skip("several scheduler processes at once are a PostgreSQL deployment (SKIP LOCKED)")
    deploy_fast(app, {"submit_application": "PT1S"})
    clock.reset()
    _start_instances(app, INSTANCES)  # each waits on the applicant's step
    # nothing falls due while the processes start (a fast first one could otherwise take everything)
    assert _set_deadlines(app, clock.now() + timedelta(days=1)) == INSTANCES
    logs = [tmp_path / f"scheduler{n}.log" for n in (1, 2)]
    processes = [_scheduler(database_url, tmp_path, f"scheduler{n}") for n in (1, 2)]
    try:
        _wait_until_running(processes, logs)
        # due after each planner's next poll (every second): both wake for the same deadline
        assert _set_deadlines(app, clock.now() + timedelta(seconds=3)) == INSTANCES
        started = time.monotonic()
        expected = INSTANCES * LEVELS
        while time.monotonic() - started < 420:  # a loaded 2-core machine needs about two minutes
            escalated, waiting = _counts(app)
            if escalated >= expected and waiting == 0:
                break
            assert all(p.poll() is None for p in processes), "a scheduler process died"
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        time.sleep(1.5)  # anything fired twice would show up now
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
    output = [log.read_text(errors="replace") for log in logs]
    print(f"{INSTANCES * LEVELS} escalations by two scheduler processes in {elapsed:.1f} s")
    with app.app_context():
        levels = db.session.execute(select(Event.instance_id, Event.detail).where(Event.kind == "escalated")).all()
        per_instance: dict[int, list[int]] = {}
        for instance_id, detail in levels:
            per_instance.setdefault(instance_id, []).append(detail["level"])
        assert len(per_instance) == INSTANCES, output
        assert all(sorted(v) == list(range(1, LEVELS + 1)) for v in per_instance.values()), output
        reminders = db.session.scalar(select(func.count()).select_from(Outbox).where(Outbox.kind == "reminder"))
        assert reminders == INSTANCES * LEVELS
        states = dict(db.session.execute(select(Timer.state, func.count()).group_by(Timer.state)).all())
        assert states == {"fired": INSTANCES * LEVELS}, states
    assert all("fired" in log for log in output), output  # both processes took part
